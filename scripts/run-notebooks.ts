/**
 * The main job: executes every notebook in notebooks/ in order through Jupyter, writes the executed
 * copies (with outputs) to an output folder, and prints progress and a summary.
 *
 *   npm run notebooks                       # real settings, outputs in out/notebooks
 *   npm run notebooks -- --quick            # shrunken training work (CI)
 *   npm run notebooks -- --only 02 --only 03 --out /tmp/nb --in-place --timeout 600
 *
 * A failing cell makes the run exit 1 naming the notebook, the cell, its source and the real error.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { ensureJupyter, ensureKernelspec, KERNEL_NAME, KERNELS_DIR, ROOT } from './jupyter';
import { exportFigures } from './figures';
import { findChromium, CHROMIUM_HINT } from '../lib/export';

const USAGE = `usage: npm run notebooks -- [--quick] [--out DIR] [--only TEXT]... [--in-place] [--timeout SECONDS] [--bail]
  --quick        shrink training work so every cell runs fast (sets SEQUENTIA_QUICK=1)
  --out DIR      where executed notebooks go (default out/notebooks)
  --only TEXT    run only notebooks whose file name contains TEXT (repeatable)
  --in-place     also write the outputs back into notebooks/
  --timeout S    per-cell time limit in seconds (default 3600)
  --bail         stop at the first failing notebook
  --dir DIR      folder of notebooks to run (default notebooks)
  --no-figures   skip the figure export (by default every figure is exported to <out>/../figures
                 and a static PNG is embedded in each executed notebook; needs Chromium)
  --figures DIR  where exported figures go (default: a 'figures' folder beside --out)`;

interface CellEvent { event: 'cell'; index: number; code_index: number; n: number; ok: boolean; seconds: number }
interface DoneEvent { event: 'done'; ok: boolean; seconds: number; failed: null | { index: number; code_index: number; kind: string; error: string; source: string } }
type Event = CellEvent | DoneEvent | { event: 'kernel'; seconds: number };

interface Result { name: string; cells: number; ok: boolean; seconds: number; failure?: string }

function parse() {
  try {
    return parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        out: { type: 'string', default: path.join('out', 'notebooks') },
        only: { type: 'string', multiple: true },
        'in-place': { type: 'boolean', default: false },
        timeout: { type: 'string', default: '3600' },
        bail: { type: 'boolean', default: false },
        dir: { type: 'string', default: 'notebooks' },
        'no-figures': { type: 'boolean', default: false },
        figures: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      allowPositionals: false,
    }).values;
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

function fmt(s: number): string {
  return s >= 60 ? `${Math.floor(s / 60)}m${(s % 60).toFixed(0).padStart(2, '0')}s` : `${s.toFixed(1)}s`;
}

function describeFailure(nbPath: string, f: NonNullable<DoneEvent['failed']>): string {
  const head = f.source.split('\n').slice(0, 6).map((l) => `    | ${l}`).join('\n');
  const err = f.error.split('\n').map((l) => `    ${l}`).join('\n');
  return `${nbPath}: cell ${f.index + 1} (code cell ${f.code_index + 1}) failed (${f.kind})\n  source:\n${head}\n  error:\n${err}`;
}

async function executeOne(python: string, nbPath: string, outPath: string, env: NodeJS.ProcessEnv, timeout: number): Promise<Result> {
  const name = path.basename(nbPath);
  const child = spawn(python, [path.join(ROOT, 'scripts', 'execute_notebook.py'), nbPath, outPath, '--kernel', KERNEL_NAME, '--cwd', ROOT, '--timeout', String(timeout)], {
    env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  let done: DoneEvent | null = null;
  let cells = 0;
  for await (const line of readline.createInterface({ input: child.stdout })) {
    let ev: Event;
    try { ev = JSON.parse(line) as Event; } catch { continue; }
    if (ev.event === 'cell') {
      cells = ev.n;
      if (ev.seconds >= 5 || !ev.ok) console.log(`      cell ${ev.code_index + 1}/${ev.n} ${ev.ok ? 'ok' : 'FAILED'} in ${fmt(ev.seconds)}`);
    } else if (ev.event === 'done') {
      done = ev;
    }
  }
  const code: number = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  if (!done) {
    return { name, cells, ok: false, seconds: 0, failure: `${nbPath}: the executor stopped before finishing (exit ${code})\n${stderr.trim()}` };
  }
  if (done.failed) return { name, cells, ok: false, seconds: done.seconds, failure: describeFailure(path.relative(ROOT, nbPath), done.failed) };
  return { name, cells, ok: true, seconds: done.seconds };
}

async function main(): Promise<void> {
  const args = parse();
  if (args.help) { console.log(USAGE); return; }
  const timeout = Number(args.timeout);
  if (!Number.isInteger(timeout) || timeout <= 0) { console.error(`--timeout must be a positive whole number of seconds, got '${args.timeout}'\n${USAGE}`); process.exit(2); }

  const nbDir = path.resolve(ROOT, args.dir!);
  if (!fs.existsSync(nbDir)) { console.error(`notebook folder not found: ${args.dir}`); process.exit(2); }
  let notebooks = fs.readdirSync(nbDir).filter((f) => f.endsWith('.ipynb')).sort();
  if (args.only?.length) notebooks = notebooks.filter((f) => args.only!.some((o) => f.includes(o)));
  if (notebooks.length === 0) { console.error(`no notebooks match ${JSON.stringify(args.only ?? [])} in ${args.dir}`); process.exit(2); }

  const python = ensureJupyter();
  ensureKernelspec();
  const outDir = path.resolve(ROOT, args.out!);
  fs.mkdirSync(outDir, { recursive: true });

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_PATH: [KERNELS_DIR, process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter),
    SEQUENTIA_QUICK: args.quick ? '1' : (process.env.SEQUENTIA_QUICK ?? ''),
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
  };
  console.log(`Executing ${notebooks.length} notebook(s) with kernel '${KERNEL_NAME}' (${args.quick ? 'quick mode' : 'full settings'}) → ${path.relative(ROOT, outDir) || '.'}`);
  const started = Date.now();
  const results: Result[] = [];
  for (const [i, name] of notebooks.entries()) {
    console.log(`[${i + 1}/${notebooks.length}] ${name}  (elapsed ${fmt((Date.now() - started) / 1000)})`);
    const outPath = path.join(outDir, name);
    const r = await executeOne(python, path.join(nbDir, name), outPath, { ...env, SEQUENTIA_NOTEBOOK: name.replace(/\.ipynb$/, '') }, timeout);
    results.push(r);
    console.log(`      ${r.ok ? 'ok' : 'FAILED'}: ${r.cells} code cells in ${fmt(r.seconds)}`);
    if (r.ok && args['in-place']) fs.copyFileSync(outPath, path.join(nbDir, name));
    if (!r.ok && args.bail) break;
  }

  if (!args['no-figures']) {
    const ok = results.filter((r) => r.ok).map((r) => path.join(outDir, r.name));
    const figDir = path.resolve(ROOT, args.figures ?? path.join(path.dirname(outDir), 'figures'));
    if (!findChromium()) {
      console.log(`figures: not exported, and executed notebooks carry no static PNG. ${CHROMIUM_HINT}`);
    } else if (ok.length > 0) {
      try {
        const rep = await exportFigures(ok, figDir, { embed: true, log: (s) => console.log(`      ${s}`) });
        const per = rep.figures.map((f) => f.ms).sort((a, b) => a - b);
        console.log(`figures: ${rep.figures.length} exported to ${path.relative(ROOT, figDir)}/index.html (browser start ${rep.browserStartMs.toFixed(0)} ms, median ${(per[Math.floor(per.length / 2)] ?? 0).toFixed(0)} ms per figure); PNGs embedded in the executed notebooks`);
      } catch (e) {
        results.push({ name: 'figure export', cells: 0, ok: false, seconds: 0, failure: `figure export failed: ${(e as Error).message}` });
      }
    }
  }

  const w = Math.max(8, ...results.map((r) => r.name.length));
  console.log(`\n${'notebook'.padEnd(w)}  cells  status  time`);
  for (const r of results) console.log(`${r.name.padEnd(w)}  ${String(r.cells).padStart(5)}  ${(r.ok ? 'ok' : 'FAILED').padEnd(6)}  ${fmt(r.seconds)}`);
  const failed = results.filter((r) => !r.ok);
  console.log(`total ${fmt((Date.now() - started) / 1000)}`);
  for (const r of failed) console.error(`\n${r.failure}\n`);
  console.log(`notebooks: ${results.length - failed.length} passed, ${failed.length} failed`);
  if (failed.length > 0) process.exit(1);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  process.exit(1);
});
