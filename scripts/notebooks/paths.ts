/**
 * The runner's files and folders, checked before any kernel starts: path flags that say nothing, an
 * --out that cannot hold the executed notebooks, notebook text with a byte-order mark. And the exit
 * code for a run whose notebooks passed but whose outputs could not all be written.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Every notebook passed, but a file the run writes at the end (figures, plotly.min.js, a report) failed. */
export const EXIT_OUTPUT_UNWRITTEN = 4;

/** The runner's flags that name a file or folder. */
/** The text without a leading UTF-8 byte-order mark (editors on Windows write one; JSON.parse refuses it). */
export const stripBom = (text: string): string => (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);

/** Real path of p, or of its longest existing ancestor plus the rest (--out may not exist yet). */
export function realPath(p: string): string {
  const rest: string[] = [];
  let cur = path.resolve(p);
  while (!fs.existsSync(cur) && path.dirname(cur) !== cur) {
    rest.unshift(path.basename(cur));
    cur = path.dirname(cur);
  }
  return path.join(fs.realpathSync(cur), ...rest);
}

/** The same file (also through a symlink or a hard link)? */
export function sameFile(a: string, b: string): boolean {
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

const reason = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException;
  const why: Record<string, string> = {
    ENOTDIR: 'a part of the path is a file, not a folder',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on device',
    ENOENT: 'a folder on the way cannot be created',
    EEXIST: 'a file of that name is in the way',
  };
  return err.code && why[err.code] ? `${why[err.code]} (${err.code})` : err.message;
};

/**
 * mkdir -p, one level at a time: Node 20's recursive mkdirSync never returns for a path under /proc.
 */
function makeFolders(dir: string): void {
  const missing: string[] = [];
  let cur = path.resolve(dir);
  while (!fs.existsSync(cur) && path.dirname(cur) !== cur) {
    missing.unshift(cur);
    cur = path.dirname(cur);
  }
  for (const d of missing) fs.mkdirSync(d);
}

/**
 * Why `dir` (given as `--flag shown`) cannot receive the run's files, or null when it can: it is a file,
 * or creating it or a file in it fails. Leaves the folder created (the run needs it) and nothing in it.
 */
export function unwritableFolder(flag: string, shown: string, dir: string): string | null {
  try {
    if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory())
      return `--${flag} ${shown} is a file, not a folder: give a folder for the ${flag === 'out' ? 'executed notebooks and reports' : 'files'} (it is created if missing)`;
  } catch {
    /* unreadable: the probe below says why */
  }
  const probe = path.join(dir, `.sequentia-write-probe-${process.pid}`);
  try {
    makeFolders(dir);
    fs.writeFileSync(probe, '');
    fs.rmSync(probe, { force: true });
    return null;
  } catch (e) {
    return `--${flag} ${shown} cannot be written: ${reason(e)}; choose a folder you can write to`;
  }
}

/** One line for a file the run could not write: which file and why. */
export const unwrittenMessage = (what: string, file: string, e: unknown): string =>
  `${what}: could not write ${file}: ${reason(e)}`;

/** The file an fs error names (copyFile names source and destination: the destination). */
export function fileOfError(e: unknown, fallback: string): string {
  const err = e as NodeJS.ErrnoException & { dest?: string };
  return err.dest ?? err.path ?? fallback;
}
