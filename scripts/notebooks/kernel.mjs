#!/usr/bin/env node
// Writes the Jupyter kernelspec for Sequentia's TypeScript kernel (tslab) with absolute paths, and the
// classic Notebook extension that draws Plotly figures (scripts/notebooks/nbextension/main.js + plotly.min.js).
//   node scripts/notebooks/kernel.mjs install-local [DIR] → DIR (default .jupyter/): kernels/sequentia-ts,
//        nbextensions/sequentia/{main.js,plotly.min.js}, nbconfig/notebook.json (run by `npm ci`). A Notebook
//        server uses them with JUPYTER_DATA_DIR=DIR JUPYTER_CONFIG_DIR=DIR (see README, Figures).
//   node scripts/notebooks/kernel.mjs install-user         → the user's Jupyter data dir (kernelspec, nbextension:
//        ~/.local/share/jupyter, or $JUPYTER_DATA_DIR) and config dir (nbconfig: ~/.jupyter, or $JUPYTER_CONFIG_DIR)
// No Python is needed: a kernelspec and an nbextension are files, enabling one is a JSON key.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const KERNEL_NAME = 'sequentia-ts';
export const NBEXTENSION = 'sequentia';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);

function spec() {
  return {
    argv: [
      process.execPath,
      path.join(root, 'scripts', 'notebooks', 'tslab-kernel.cjs'),
      'kernel',
      '--config-path',
      '{connection_file}',
    ],
    display_name: 'TypeScript (Sequentia)',
    language: 'typescript',
    metadata: { sequentia_root: root },
  };
}

function userDataDir() {
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Jupyter');
  if (process.platform === 'win32' && process.env.APPDATA) return path.join(process.env.APPDATA, 'jupyter');
  return path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), 'jupyter');
}

function userConfigDir() {
  return process.env.JUPYTER_CONFIG_DIR ?? path.join(os.homedir(), '.jupyter');
}

/**
 * The classic Notebook extension: `<dataDir>/nbextensions/sequentia/{main.js, plotly.min.js}` (served at
 * `<base_url>nbextensions/sequentia/…`) and `"sequentia/main": true` under load_extensions in
 * `<configDir>/nbconfig/notebook.json` (other keys of that file are kept).
 */
function installNbextension(dataDir, configDir) {
  const dir = path.join(dataDir, 'nbextensions', NBEXTENSION);
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(root, 'scripts', 'notebooks', 'nbextension', 'main.js'), path.join(dir, 'main.js'));
  let plotly = null;
  try {
    plotly = require.resolve('plotly.js-dist-min/plotly.min.js');
  } catch {
    /* not installed yet */
  }
  if (plotly) fs.copyFileSync(plotly, path.join(dir, 'plotly.min.js'));
  else console.warn('sequentia: plotly.js-dist-min is not installed: run npm ci, then this command again');
  const cfgFile = path.join(configDir, 'nbconfig', 'notebook.json');
  let cfg = {};
  try {
    cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
  } catch {
    /* absent or unreadable: start afresh */
  }
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) cfg = {};
  cfg.load_extensions = { ...(cfg.load_extensions ?? {}), [`${NBEXTENSION}/main`]: true };
  fs.mkdirSync(path.dirname(cfgFile), { recursive: true });
  fs.writeFileSync(cfgFile, JSON.stringify(cfg, null, 2) + '\n');
  return { dir, cfgFile };
}

function write(kernelsDir) {
  const dir = path.join(kernelsDir, KERNEL_NAME);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'kernel.json'), JSON.stringify(spec(), null, 2) + '\n');
  return dir;
}

const cmd = process.argv[2];
if (cmd === 'install-local') {
  const base = path.resolve(process.argv[3] ?? path.join(root, '.jupyter'));
  const dir = write(path.join(base, 'kernels'));
  console.log(
    `sequentia: kernelspec '${KERNEL_NAME}' written to ${path.relative(root, dir)} (node ${process.version})`,
  );
  const ext = installNbextension(base, base);
  console.log(
    `sequentia: notebook extension written to ${path.relative(root, ext.dir)} and enabled in ${path.relative(root, ext.cfgFile)}`,
  );
  // tfjs-node is optional: its installer downloads libtensorflow, which fails where that host is unreachable.
  const native = fs.existsSync(path.join(root, 'node_modules', '@tensorflow', 'tfjs-node', 'lib'));
  console.log(
    native
      ? 'sequentia: @tensorflow/tfjs-node is installed; the wasm backend stays the default (SEQUENTIA_BACKEND=node opts into native TensorFlow).'
      : 'sequentia: optional @tensorflow/tfjs-node is not installed (its download failed or was skipped; any error above from it is harmless): using the wasm backend.',
  );
} else if (cmd === 'install-user') {
  const dir = write(path.join(userDataDir(), 'kernels'));
  console.log(`sequentia: kernelspec '${KERNEL_NAME}' installed for this user at ${dir}`);
  const ext = installNbextension(userDataDir(), userConfigDir());
  console.log(`sequentia: classic Notebook extension installed at ${ext.dir}, enabled in ${ext.cfgFile}`);
  console.log(
    'Jupyter Notebook and VS Code now list "TypeScript (Sequentia)"; classic Notebook draws its figures offline.',
  );
} else {
  console.error('usage: node scripts/notebooks/kernel.mjs install-local [DIR] | install-user');
  process.exit(2);
}
