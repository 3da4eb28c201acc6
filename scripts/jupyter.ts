/**
 * Finding (and, where we can, installing) the Jupyter pieces the headless runner needs:
 * a Python with nbclient + nbformat, and Sequentia's kernelspec.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');
export const KERNEL_NAME = 'sequentia-ts';
export const KERNELS_DIR = path.join(ROOT, '.jupyter');

const CANDIDATES = ['/usr/bin/python3', 'python3', 'python'];

function hasNbclient(python: string): boolean {
  const r = spawnSync(python, ['-c', 'import nbclient, nbformat'], { stdio: 'ignore' });
  return r.status === 0;
}

export function findPython(): string | null {
  const forced = process.env.SEQUENTIA_PYTHON;
  if (forced) return hasNbclient(forced) ? forced : null;
  return CANDIDATES.find(hasNbclient) ?? null;
}

function run(cmd: string, args: string[]): boolean {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  return spawnSync(cmd, args, { stdio: 'inherit' }).status === 0;
}

const APT_CMD = 'apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends jupyter-nbconvert jupyter-client';

/**
 * Returns a Python that can execute notebooks. When none has nbclient: as root on Debian/Ubuntu,
 * installs Debian's jupyter-nbconvert and jupyter-client; else tries `pip install --user`;
 * otherwise exits with the exact command to run.
 */
export function ensureJupyter(): string {
  const found = findPython();
  if (found) return found;
  console.log('Jupyter (nbclient) is not installed: installing it now.');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (isRoot && hasApt) {
    run('apt-get', ['-o', 'DPkg::Lock::Timeout=900', 'update']);
    run('apt-get', ['-o', 'DPkg::Lock::Timeout=900', 'install', '-y', '--no-install-recommends', 'jupyter-nbconvert', 'jupyter-client']);
  } else {
    for (const py of ['python3', 'python']) {
      if (spawnSync(py, ['-m', 'pip', '--version'], { stdio: 'ignore' }).status === 0) {
        if (run(py, ['-m', 'pip', 'install', '--user', 'nbconvert', 'nbclient'])) break;
      }
    }
  }
  const after = findPython();
  if (after) return after;
  console.error([
    'Could not install Jupyter automatically. Install it, then run this command again:',
    hasApt ? `  sudo ${APT_CMD}` : '  python3 -m pip install --user nbconvert nbclient',
  ].join('\n'));
  process.exit(3);
}

/** Writes the project-local kernelspec when `npm ci` has not (e.g. scripts were skipped). */
export function ensureKernelspec(): void {
  const spec = path.join(KERNELS_DIR, 'kernels', KERNEL_NAME, 'kernel.json');
  let ok = false;
  if (fs.existsSync(spec)) {
    const argv = (JSON.parse(fs.readFileSync(spec, 'utf8')) as { argv: string[] }).argv;
    ok = argv.every((a, i) => i > 1 || fs.existsSync(a));
  }
  if (!ok) {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'kernel.mjs'), 'install-local'], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('could not write the kernelspec (node scripts/kernel.mjs install-local)');
  }
}
