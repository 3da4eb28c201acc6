/**
 * Imported just before @tensorflow/tfjs (lib/runtime/tfjs.ts): turns Node's source-map support off while
 * tfjs loads. tsx turns it on, and Node then reads and indexes each loaded file's map — 17 MB for
 * tfjs's bundles, about a quarter of a CPU-second in every process that loads tfjs (each CLI, test file
 * and worker). Stack frames inside tfjs then name its bundles' lines rather than its TypeScript sources;
 * ours keep their maps.
 */
const setEnabled = typeof process === 'undefined' ? undefined : process.setSourceMapsEnabled;
/** Whether support was on before (Node ≥ 20.7 says; otherwise assume it was, as under tsx). */
const wasOn = typeof process === 'undefined' ? false : (process.sourceMapsEnabled ?? true);

if (setEnabled) process.setSourceMapsEnabled(false);

/** Puts source-map support back as it was (lib/runtime/tfjs.ts calls it once tfjs is loaded). */
export function restoreSourceMaps(): void {
  if (setEnabled && wasOn) process.setSourceMapsEnabled(true);
}
