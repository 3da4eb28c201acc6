/**
 * Quick mode: CI executes every notebook cell with shrunken training work.
 * On when SEQUENTIA_QUICK is 1/true/yes; the default runs the real settings.
 */
export function isQuick(): boolean {
  const v = (process.env.SEQUENTIA_QUICK ?? '').toLowerCase();
  return v === '1' || v === 'true' || v === 'yes';
}

/** The real value, or the small one in quick mode: `steps = pick(200_000, 300)`. */
export function pick<T>(full: T, quick: T): T {
  return isQuick() ? quick : full;
}
