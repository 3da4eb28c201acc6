/**
 * A trained model in a web page: a static folder — index.html, the weights (model.safetensors, and
 * weights.js holding them for file://), config.json, vocab.json and demo.js (tfjs on its cpu backend and
 * the makemore CLI's sampler, bundled with esbuild; no server code) — where a reader types a prefix, picks
 * a temperature and a seed and sees new words. The same seed and temperature give `--sample-only`'s words.
 *
 *   npm run demo -- --work-dir out/names [--out out/names/demo]    (best/model, else latest/model)
 *   npm run demo -- --model DIR --out DIR2
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { readSavedModelInfo } from '../../lib/train/saved-model';
import { resolveCheckpoint } from '../../lib/train/checkpoint';

const USAGE = 'usage: npm run demo -- (--work-dir DIR | --model DIR) [--out DIR]';
const FILES = ['model.safetensors', 'config.json', 'vocab.json'];
const NODE_MODULES = ['node:module', 'node:v8', 'node:os', 'node:path', 'node:worker_threads', 'node:fs'];

const HTML = `<!doctype html>
<html lang="en">
<meta charset="utf-8" />
<title>Sequentia: sample a trained model</title>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; max-width: 40em; margin: 2em auto; }
  label { margin-right: 1em; }
  input { width: 6em; }
  pre { background: #f4f4f4; padding: 1em; min-height: 10em; }
</style>
<h1>Sample the trained model</h1>
<p id="status">loading…</p>
<p>
  <label>prefix <input id="prefix" value="" /></label>
  <label>temperature <input id="temperature" type="number" value="1" step="0.1" min="0.1" /></label>
  <label>seed <input id="seed" type="number" value="3407" /></label>
  <label>words <input id="count" type="number" value="10" min="1" max="200" /></label>
  <button id="go">sample</button>
</p>
<pre id="out"></pre>
<script src="weights.js"></script>
<script src="demo.js"></script>
</html>
`;

/** The saved model a work dir's demo shows: best/model, else latest/model. */
function modelOf(workDir: string): string {
  for (const slot of ['best', 'latest']) {
    const from = resolveCheckpoint(path.join(workDir, slot));
    if (from) return path.join(from, 'model');
  }
  throw new Error(`no checkpoint in ${workDir} (best/ or latest/): train first`);
}

function main(argv: string[]): number {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) flags.set(argv[i] ?? '', argv[i + 1] ?? '');
  const bad = [...flags].find(([k, v]) => !['--work-dir', '--model', '--out'].includes(k) || v === '');
  if (bad || flags.has('--work-dir') === flags.has('--model')) {
    console.error(USAGE);
    return 2;
  }
  const workDir = flags.get('--work-dir');
  const model = workDir ? modelOf(workDir) : (flags.get('--model') as string);
  readSavedModelInfo(model); // every check of a saved model, before anything is written
  const out = flags.get('--out') ?? path.join(workDir ?? model, 'demo');
  fs.mkdirSync(out, { recursive: true });
  for (const f of FILES) fs.copyFileSync(path.join(model, f), path.join(out, f));
  const json = (f: string) => JSON.parse(fs.readFileSync(path.join(model, f), 'utf8')) as unknown;
  const files = {
    safetensors: fs.readFileSync(path.join(model, 'model.safetensors')).toString('base64'),
    config: json('config.json'),
    vocab: json('vocab.json'),
  };
  fs.writeFileSync(path.join(out, 'weights.js'), `window.DEMO_FILES = ${JSON.stringify(files)};\n`);
  const stubs = path.join(__dirname, 'demo', 'node-stubs.js');
  buildSync({
    entryPoints: [path.join(__dirname, 'demo', 'page.ts')],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    minify: true,
    outfile: path.join(out, 'demo.js'),
    alias: Object.fromEntries(NODE_MODULES.map((m) => [m, stubs])),
    define: { __filename: '"demo.js"', __dirname: '"."', 'process.env': '{}' },
    // our wasm kernels arrive base64 in the bundle: node's Buffer.from(…, 'base64') is all lib/ uses of Buffer here
    banner: { js: 'var Buffer = { from: (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0)) };' },
    logLevel: 'error',
  });
  fs.writeFileSync(path.join(out, 'index.html'), HTML);
  console.log(`${out}/index.html: the model of ${model} (open it in a browser; no server needed)`);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  console.error(`demo: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}
