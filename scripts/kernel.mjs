#!/usr/bin/env node
// Writes the Jupyter kernelspec for Sequentia's TypeScript kernel (tslab) with absolute paths.
//   node scripts/kernel.mjs install-local  → .jupyter/kernels/sequentia-ts (used by the headless runner; run by `npm ci`)
//   node scripts/kernel.mjs install-user   → ~/.local/share/jupyter/kernels/sequentia-ts (VS Code, Jupyter Notebook)
// No Python is needed: a kernelspec is a folder with a kernel.json.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const KERNEL_NAME = 'sequentia-ts';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function spec() {
  return {
    argv: [process.execPath, path.join(root, 'scripts', 'tslab-kernel.cjs'), 'kernel', '--config-path', '{connection_file}'],
    display_name: 'TypeScript (Sequentia)',
    language: 'typescript',
    metadata: { sequentia_root: root },
  };
}

function userKernelsDir() {
  const dataHome = process.env.JUPYTER_DATA_DIR
    ?? (process.platform === 'darwin'
      ? path.join(os.homedir(), 'Library', 'Jupyter')
      : path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), 'jupyter'));
  return path.join(dataHome, 'kernels');
}

function write(kernelsDir) {
  const dir = path.join(kernelsDir, KERNEL_NAME);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'kernel.json'), JSON.stringify(spec(), null, 2) + '\n');
  return dir;
}

const cmd = process.argv[2];
if (cmd === 'install-local') {
  const dir = write(path.join(root, '.jupyter', 'kernels'));
  console.log(`sequentia: kernelspec '${KERNEL_NAME}' written to ${path.relative(root, dir)} (node ${process.version})`);
  // tfjs-node is optional: its installer downloads libtensorflow, which fails where that host is unreachable.
  const native = fs.existsSync(path.join(root, 'node_modules', '@tensorflow', 'tfjs-node', 'lib'));
  console.log(native
    ? 'sequentia: @tensorflow/tfjs-node is installed: the native TensorFlow backend will be used.'
    : 'sequentia: optional @tensorflow/tfjs-node is not installed (its download failed or was skipped; any error above from it is harmless): using the wasm backend.');
} else if (cmd === 'install-user') {
  const dir = write(userKernelsDir());
  console.log(`sequentia: kernelspec '${KERNEL_NAME}' installed for this user at ${dir}`);
  console.log('Jupyter Notebook and VS Code now list "TypeScript (Sequentia)".');
} else {
  console.error('usage: node scripts/kernel.mjs install-local | install-user');
  process.exit(2);
}
