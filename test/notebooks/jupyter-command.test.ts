/**
 * `npm run jupyter` (scripts/notebooks/notebook-server.ts) as a learner starts it: the classic Notebook on
 * 127.0.0.1 in notebooks/, the Sequentia kernel and figure extension registered from .jupyter/, root
 * allowed, the URL printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/free-port';
import { TSX } from '../../scripts/node-tsx';

const ROOT = path.resolve(__dirname, '..', '..');
const haveNotebook = spawnSync('jupyter-notebook', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = !haveNotebook && !process.env.CI ? 'Debian jupyter-notebook is not installed' : false;

test('npm run jupyter: Notebook on 127.0.0.1 in notebooks/, kernel and extension registered, URL printed', { skip, timeout: 120_000 }, async () => {
  const port = await freePort();
  const runtime = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-jupyter-runtime-'));
  const child = spawn(
    process.execPath,
    [...TSX, path.join(ROOT, 'scripts', 'notebooks', 'notebook-server.ts'), `--port=${port}`, '--port-retries=0', '--no-browser'],
    { cwd: ROOT, env: { ...process.env, JUPYTER_RUNTIME_DIR: runtime, BROWSER: 'true' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  try {
    const t0 = Date.now();
    while (!/Sequentia notebooks: open /.test(out)) {
      if (Date.now() - t0 > 90_000 || child.exitCode !== null) assert.fail(`no URL printed:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const url = /Sequentia notebooks: open (\S+)/.exec(out)![1]!;
    assert.match(url, new RegExp(`^http://127\\.0\\.0\\.1:${port}/\\?token=[0-9a-f]{16,}$`));
    if (process.getuid?.() === 0) assert.match(out, /--allow-root/);
    const token = new URL(url).searchParams.get('token')!;
    const api = async (p: string) => (await fetch(`http://127.0.0.1:${port}${p}?token=${token}`)).json() as Promise<Record<string, unknown>>;
    const specs = (await api('/api/kernelspecs')) as { kernelspecs: Record<string, { spec: { display_name: string } }> };
    assert.equal(specs.kernelspecs['sequentia-ts']?.spec.display_name, 'TypeScript (Sequentia)');
    const config = (await api('/api/config/notebook')) as { load_extensions?: Record<string, boolean> };
    assert.equal(config.load_extensions?.['sequentia/main'], true);
    const ext = await fetch(`http://127.0.0.1:${port}/nbextensions/sequentia/main.js?token=${token}`);
    assert.equal(ext.status, 200);
    const listing = (await api('/api/contents')) as { content: { name: string }[] };
    assert.ok(listing.content.some((f) => f.name === '01-bigram-counts.ipynb'), 'the notebook folder is notebooks/');
  } finally {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    await new Promise((r) => setTimeout(r, 1000));
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    fs.rmSync(runtime, { recursive: true, force: true });
  }
});
