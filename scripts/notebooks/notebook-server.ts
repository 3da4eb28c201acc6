/**
 * `npm run jupyter`: the classic Notebook on this machine only (127.0.0.1), opened on notebooks/, with
 * the project's kernel and figure extension registered (JUPYTER_CONFIG_DIR and JUPYTER_DATA_DIR are
 * .jupyter/, where `npm ci` installs them; rewritten first if missing or stale), `--allow-root` when run
 * as root (Jupyter refuses root without it), and the URL to open printed on its own line.
 *
 *   npm run jupyter                      # then open the printed URL
 *   npm run jupyter -- --port 8890       # anything after -- goes to jupyter-notebook
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { ensureKernelspec, KERNELS_DIR, ROOT } from './jupyter';

const APT = 'sudo apt-get install -y --no-install-recommends jupyter-notebook';

/** The URL with its token in a line of the server's log, or null. */
function serverUrl(line: string): string | null {
  return /(http:\/\/127\.0\.0\.1:\d+\/\S*)/.exec(line)?.[1] ?? null;
}

function main(): void {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(`usage: npm run jupyter [-- JUPYTER-NOTEBOOK-FLAGS...]
  Starts the classic Notebook on 127.0.0.1 in notebooks/ with the Sequentia kernel and figure extension
  (from .jupyter/), --allow-root when run as root, and prints the URL to open. Flags after -- go to
  jupyter-notebook (e.g. --port 8890, --no-browser). Ctrl-C stops it.`);
    return;
  }
  if (spawnSync('jupyter-notebook', ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.error(`jupyter-notebook is not installed: ${APT}`);
    process.exit(3);
  }
  ensureKernelspec();
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const argv = ['--ip=127.0.0.1', `--notebook-dir=${path.join(ROOT, 'notebooks')}`, ...(root ? ['--allow-root'] : []), ...args];
  console.log(`$ jupyter-notebook ${argv.join(' ')}   (JUPYTER_CONFIG_DIR=JUPYTER_DATA_DIR=.jupyter)`);
  const child = spawn('jupyter-notebook', argv, {
    env: { ...process.env, JUPYTER_CONFIG_DIR: KERNELS_DIR, JUPYTER_DATA_DIR: KERNELS_DIR },
    stdio: ['inherit', 'inherit', 'pipe'],
  });
  let shown = false;
  let pending = '';
  child.stderr.on('data', (d: Buffer) => {
    process.stderr.write(d);
    pending += d.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const url = serverUrl(line);
      if (url && !shown && url.includes('token=')) {
        shown = true;
        console.log(`\nSequentia notebooks: open ${url}\n`);
      }
    }
  });
  // Ctrl-C reaches the server too (same process group); Jupyter asks to confirm, then stops.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

if (require.main === module) main();
