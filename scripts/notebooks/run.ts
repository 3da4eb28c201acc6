/**
 * The main job: executes every notebook in notebooks/ in order through Jupyter, writes the executed
 * copies (with outputs) to an output folder, and prints progress and a summary.
 *
 *   npm run notebooks                       # real settings, outputs in out/notebooks
 *   npm run notebooks -- --quick            # shrunken training work (CI)
 *   npm run notebooks -- --only 02 --only 03 --out /tmp/nb --in-place --timeout 600
 *   npm run notebooks -- --only 05 -p steps=50000 -p lr=0.05   # parameters, papermill's way
 *   npm run notebooks -- --quick --check    # compare printed numbers with notebooks/references/*.quick.json
 *
 * A failing cell makes the run exit 1 naming the notebook, the cell, its source and the real error.
 * Faults are reported the same way and never leave a process behind: the executor and the kernel each
 * run in their own process group; a dead executor, a dead kernel, an asynchronous error, a timeout or a
 * signal to this runner all end with both groups gone and a non-zero exit (codes in USAGE).
 *
 * This file is flags → plan → run; plan.ts checks the notebooks before any kernel starts, executor.ts
 * runs one notebook, run-report.ts keeps the reports and prints the end of the run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseFlags } from '../cli/flags';
import { ensureJupyter, ensureKernelspec, KERNEL_NAME, KERNELS_DIR, ROOT } from './jupyter';
import { browserSavedBytes, exportFigures, SIZE_LIMITS } from './figure-export';
import { findChromium, CHROMIUM_HINT } from '../../lib/viz/export';
import { stripRun, type NotebookJson } from './parameters';
import { cellName } from './failures';
import * as paths from './paths';
import { realPath, sameFile } from './paths';
import { formatSeconds, launch, stopRunning, type Launch, type Result, type Running } from './executor';
import { checkOutputs, loadNotebooks, referencePath, writeInputs, type Notebook } from './plan';
import { RunLog } from './run-report';

const USAGE = `usage: npm run notebooks -- [--quick] [-p NAME=VALUE]... [--check | --update-references] [--out DIR]
                             [--only TEXT]... [--in-place] [--timeout SECONDS] [--bail]
  --quick        the notebooks' quick parameter set (metadata.sequentia.parameter_sets.quick): shrunken
                 training work so every cell runs fast; also sets SEQUENTIA_QUICK=1 for the kernel
  -p NAME=VALUE  set a parameter of the notebook's parameters cell (the code cell tagged 'parameters'),
                 repeatable, over --quick's set: a cell tagged 'injected-parameters' declaring it again
                 goes right after that cell (papermill's way), and the executed copy records every
                 parameter in metadata.sequentia.parameters. VALUE is read as JSON when it parses
                 (50000, 0.05, true, "text"), else as text; it must have the default's type.
                 Also --parameter NAME=VALUE.
  --check        compare the numbers every code cell prints with <dir>/references/<notebook>.<set>.json
                 (set: quick with --quick, else full); a difference fails the notebook naming the cell,
                 the number's position, expected and got; also fails a notebook over 1 MB as executed or
                 500 kB as the browser would save it (README, Sizes). Not with -p.
  --update-references
                 write those reference files from this run (review the diff like code). Not with
                 --check or -p.
  --references DIR  where reference files are (default <dir>/references)
  --out DIR      where executed notebooks go (default out/notebooks)
  --only TEXT    run only notebooks whose file name contains TEXT (repeatable)
  --in-place     also copy each notebook that passed back into the notebook folder (--out itself
                 must not be the notebook folder)
  --timeout S    per-cell time limit in seconds (default 3600); on expiry the kernel is interrupted
                 and the cell fails (timeout)
  --bail         stop at the first failing notebook
  --dir DIR      folder of notebooks to run (default notebooks)
  --no-figures   skip the figure export (by default every figure is exported to <out>/figures
                 and a static PNG is embedded in each executed notebook; needs Chromium)
  --figures DIR  where exported figures go (default <out>/figures)

reports (in --out, rewritten after every notebook, on a signal and at the end):
  report.xml     JUnit XML: one testcase per notebook in testsuite "notebooks"
  report.json    settings, and per notebook and per code cell: status and seconds

exit codes:
  0    every notebook ran
  1    a notebook failed (a cell's error, an asynchronous error, a timeout, a dead kernel or executor, --check)
  2    usage or bad input (unknown flag, an empty path, malformed notebook, --out that is the notebook
       folder, a file, or not writable (checked before any kernel starts), unknown
       parameter, a value of the wrong type, -p for a notebook without a parameters cell, a
       parameters cell that is not \`const name = literal;\` lines, a missing reference file)
  3    Jupyter is missing and could not be installed
  4    every notebook passed, but a file written at the end (figures, plotly.min.js, report.xml or
       report.json) could not be written, e.g. the disk is full; the message names it; the executed
       notebooks are kept
  129, 130, 143  stopped by SIGHUP, SIGINT (Ctrl-C) or SIGTERM; the executor and kernel are killed`;

/** `-p X` and `-pX` are --parameter X (parseFlags knows long flags only). */
function expandShortFlags(argv: readonly string[]): string[] {
  return argv.flatMap((a) => (a === '-p' ? ['--parameter'] : a.startsWith('-p') && a.length > 2 && !a.startsWith('--') ? [`--parameter=${a.slice(2)}`] : [a]));
}

function parse() {
  try {
    const { values: v } = parseFlags(
      expandShortFlags(process.argv.slice(2)),
      ['out', 'only', 'timeout', 'dir', 'figures', 'parameter', 'references'],
      ['quick', 'in-place', 'bail', 'no-figures', 'help', 'check', 'update-references'],
      ['only', 'parameter'],
      ['out', 'dir', 'figures', 'references'],
    );
    return {
      quick: v.quick === true,
      parameters: (v.parameter as string[] | undefined) ?? [],
      check: v.check === true,
      'update-references': v['update-references'] === true,
      references: v.references as string | undefined,
      out: (v.out as string | undefined) ?? path.join('out', 'notebooks'),
      only: v.only as string[] | undefined,
      'in-place': v['in-place'] === true,
      timeout: (v.timeout as string | undefined) ?? '3600',
      bail: v.bail === true,
      dir: (v.dir as string | undefined) ?? 'notebooks',
      'no-figures': v['no-figures'] === true,
      figures: v.figures as string | undefined,
      help: v.help === true,
    };
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

type Args = ReturnType<typeof parse>;

/** What a signal, an early exit and the end of the run must reach: the run's own state, passed along. */
interface RunState {
  /** the executor now running: what a signal must stop and what a crash report must name */
  running: Running | null;
  /** the next notebook's executor, started ahead and waiting for its turn: a signal or an early exit stops it too */
  standby: Launch | null;
  /** a signal is being handled (a second Ctrl-C changes nothing) */
  stopping: boolean;
  /** the run's report, once --out is known to be writable */
  log: RunLog | null;
}

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/** Ctrl-C, kill or a closed terminal: stop the executor and the kernel now, not at the cell timeout. */
function onSignal(state: RunState, sig: NodeJS.Signals): void {
  if (state.stopping) return; // a second Ctrl-C: already on it, and done within 1.5 s
  state.stopping = true;
  const code = SIGNAL_EXIT[sig] ?? 1;
  state.standby?.cancel();
  state.standby = null;
  const r = state.running;
  state.log?.interrupted(sig, r);
  if (!r) process.exit(code);
  process.stderr.write(
    `\nrunner: ${sig} while running ${r.nbPath}${r.cell ? ` ${cellName(r.cell.index, r.cell.code_index)}` : ''}: stopping the executor and the kernel\n`,
  );
  void stopRunning(r).then(() => process.exit(code));
}

/** What the flags select, checked: exits 2 on anything wrong, before any kernel starts. */
interface RunPlan {
  notebooks: Notebook[];
  timeout: number;
  outDir: string;
  refDir: string;
}

function planRun(args: Args): RunPlan {
  if (args.check && args['update-references']) {
    console.error(`--check and --update-references do not go together: check against the references, or write them\n${USAGE}`);
    process.exit(2);
  }
  if ((args.check || args['update-references']) && args.parameters.length > 0) {
    console.error(
      `--${args.check ? 'check' : 'update-references'} with -p: references belong to a named parameter set (full, or --quick), not to ad-hoc values`,
    );
    process.exit(2);
  }
  const timeout = Number(args.timeout);
  if (!Number.isInteger(timeout) || timeout <= 0) {
    console.error(`--timeout must be a positive whole number of seconds, got '${args.timeout}'\n${USAGE}`);
    process.exit(2);
  }

  const nbDir = path.resolve(ROOT, args.dir);
  if (!fs.existsSync(nbDir)) {
    console.error(`notebook folder not found: ${args.dir}`);
    process.exit(2);
  }
  let names = fs
    .readdirSync(nbDir)
    .filter((f) => f.endsWith('.ipynb'))
    .sort();
  const only = args.only;
  if (only?.length) names = names.filter((f) => only.some((o) => f.includes(o)));
  if (names.length === 0) {
    console.error(`no notebooks match ${JSON.stringify(args.only ?? [])} in ${args.dir}`);
    process.exit(2);
  }

  // The executed copies must never land on the sources, however --out is spelled.
  const outDir = path.resolve(ROOT, args.out);
  if (
    realPath(outDir) === fs.realpathSync(nbDir) ||
    names.some((n) => sameFile(path.join(outDir, n), path.join(nbDir, n)))
  ) {
    console.error(
      `--out ${args.out} is the notebook folder ${path.relative(ROOT, nbDir) || '.'}: the executed copies would overwrite the source notebooks.\n` +
        `Choose another --out (default out/notebooks); to store outputs in the sources on purpose, add --in-place, which copies each notebook that passed back into ${path.relative(ROOT, nbDir) || '.'}.`,
    );
    process.exit(2);
  }
  const refDir = path.resolve(ROOT, args.references ?? path.join(args.dir, 'references'));
  const notebooks = loadNotebooks(nbDir, names, {
    set: args.quick ? 'quick' : 'full',
    assignments: args.parameters,
    references: args.check || args['update-references'] ? refDir : null,
    check: args.check,
  });
  // after the notebooks and parameters are checked (a bad one leaves nothing behind), before any kernel
  const figuresDir = args.figures !== undefined && !args['no-figures'] ? path.resolve(ROOT, args.figures) : null;
  const folders: [string, string, string][] = [['out', args.out, outDir]];
  if (figuresDir && args.figures !== undefined) folders.push(['figures', args.figures, figuresDir]);
  for (const [flag, shown, dir] of folders) {
    const problem = paths.unwritableFolder(flag, shown, dir);
    if (problem) {
      console.error(problem);
      process.exit(2);
    }
  }
  return { notebooks, timeout, outDir, refDir };
}

/**
 * Runs the notebooks one at a time, the next one's executor booting while the current one runs;
 * checks or writes references, copies passing notebooks back with --in-place, stops at --bail.
 */
async function runNotebooks(
  state: RunState,
  log: RunLog,
  args: Args,
  plan: RunPlan,
  python: string,
  env: NodeJS.ProcessEnv,
): Promise<{ results: Result[]; checkMs: number }> {
  const { notebooks, outDir, refDir, timeout } = plan;
  const results: Result[] = [];
  let checkMs = 0;
  const launchAt = (i: number): Launch | null => {
    const nb = notebooks[i];
    if (!nb) return null;
    const name = path.basename(nb.path);
    const env1 = { ...env, SEQUENTIA_NOTEBOOK: name.replace(/\.ipynb$/, '') };
    return launch(python, nb, path.join(outDir, name), env1, timeout, (r) => {
      state.running = r;
    });
  };
  process.on('exit', () => state.standby?.cancel());
  state.standby = launchAt(0);
  for (const [i, nb] of notebooks.entries()) {
    const name = path.basename(nb.path);
    console.log(`[${i + 1}/${notebooks.length}] ${name}  (elapsed ${formatSeconds(log.elapsed())})`);
    const startedAt = Date.now();
    const outPath = path.join(outDir, name);
    const current = state.standby!;
    // The next notebook's kernel boots while this one runs (one core is mostly idle meanwhile).
    state.standby = launchAt(i + 1);
    const r = await current.go();
    if (!r.ok && r.seconds === 0) r.seconds = Math.round(Date.now() - startedAt) / 1000;
    if (r.ok && (args.check || args['update-references'])) {
      const t0 = performance.now();
      const c = checkOutputs(nb, outPath, refDir, args.check ? 'check' : 'update');
      checkMs += performance.now() - t0;
      if (c && 'written' in c) console.log(`      references: ${c.written}`);
      else if (c) Object.assign(r, { ok: false, failure: c.text, failureReport: c.report });
      else
        console.log(
          `      check: every printed number matches ${path.relative(ROOT, referencePath(refDir, nb.path, nb.plan.set))}`,
        );
    }
    log.notebookDone(i, r);
    if (r.badInput) {
      log.report.status = 'failed';
      log.skipAfter(i, `not run: ${name} is not a valid notebook`);
      log.report.figures = { status: 'skipped', reason: 'bad input' };
      log.save();
      console.error(r.failure);
      process.exit(2);
    }
    results.push(r);
    log.save();
    console.log(`      ${r.ok ? 'ok' : 'FAILED'}: ${r.cells} code cells in ${formatSeconds(r.seconds)}`);
    if (r.ok && args['in-place'])
      fs.writeFileSync(
        nb.path,
        JSON.stringify(stripRun(JSON.parse(fs.readFileSync(outPath, 'utf8')) as NotebookJson), null, 1) + '\n',
      );
    if (!r.ok && args.bail) {
      state.standby?.cancel();
      state.standby = null;
      log.skipAfter(i, `not run: --bail stopped the run after ${name} failed`);
      break;
    }
  }
  return { results, checkMs };
}

/**
 * Exports the figures of the notebooks that passed and embeds a static PNG in each; a file that could
 * not be written is recorded in the log (exit 4 at the end), any other failure is a failed result.
 */
async function exportRunFigures(log: RunLog, args: Args, outDir: string, results: Result[]): Promise<void> {
  const ok = results.filter((r) => r.ok).map((r) => path.join(outDir, r.name));
  const figDir = path.resolve(ROOT, args.figures ?? path.join(outDir, 'figures'));
  if (!findChromium()) {
    console.log(`figures: not exported, and executed notebooks carry no static PNG. ${CHROMIUM_HINT}`);
    log.report.figures = { status: 'skipped', reason: 'Chromium not found' };
  } else if (ok.length === 0) {
    log.report.figures = { status: 'skipped', reason: 'no notebook passed' };
  } else {
    try {
      const rep = await exportFigures(ok, figDir, { embed: true, log: (s) => console.log(`      ${s}`) });
      log.report.figures = { status: 'exported', count: rep.figures.length, dir: path.relative(ROOT, figDir) };
      const per = rep.figures.map((f) => f.ms).sort((a, b) => a - b);
      console.log(
        `figures: ${rep.figures.length} exported to ${path.relative(ROOT, figDir)}/index.html (browser start ${rep.browserStartMs.toFixed(0)} ms, median ${(per[Math.floor(per.length / 2)] ?? 0).toFixed(0)} ms per figure); PNGs embedded in the executed notebooks`,
      );
    } catch (e) {
      // A file that could not be written (disk full, permissions) is not a notebook that failed.
      const err = e as NodeJS.ErrnoException;
      const io = Boolean(err.syscall && err.code);
      const text = io
        ? paths.unwrittenMessage('figures', paths.fileOfError(e, figDir), e)
        : `figure export failed: ${err.message}`;
      if (io) console.error(text);
      if (io) log.unwritten.set('figures', text);
      else results.push({ name: 'figure export', cells: 0, ok: false, seconds: 0, failure: text, cellReports: [] });
      log.report.figures = { status: 'failed', reason: text };
    }
  }
}

/**
 * --check also holds every executed notebook that passed to the README's size limits: as written (with
 * the export's PNGs) and as the browser would save it after Run All. Over a limit is a failed result.
 */
function checkSizes(outDir: string, results: Result[]): void {
  const kb = (n: number) => `${(n / 1000).toFixed(0)} kB`;
  for (const r of results.filter((x) => x.ok && x.name.endsWith('.ipynb'))) {
    const text = fs.readFileSync(path.join(outDir, r.name), 'utf8');
    const executed = Buffer.byteLength(text);
    const saved = browserSavedBytes(text);
    console.log(`size: ${r.name} ${kb(executed)} executed, ${kb(saved)} as saved from the browser`);
    const over = [
      executed > SIZE_LIMITS.executed ? `${kb(executed)} executed (limit ${kb(SIZE_LIMITS.executed)})` : '',
      saved > SIZE_LIMITS.browserSaved ? `${kb(saved)} as saved from the browser (limit ${kb(SIZE_LIMITS.browserSaved)})` : '',
    ].filter(Boolean);
    if (over.length)
      results.push({ name: `${r.name} size`, cells: 0, ok: false, seconds: 0, failure: `${r.name}: too big: ${over.join('; ')}`, cellReports: [] });
  }
}

async function main(state: RunState): Promise<void> {
  const args = parse();
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const plan = planRun(args);
  const inputDir = writeInputs(plan.notebooks);
  process.on('exit', () => fs.rmSync(inputDir, { recursive: true, force: true }));

  const python = ensureJupyter();
  ensureKernelspec();
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, (s) => onSignal(state, s));

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_PATH: [KERNELS_DIR, process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter),
    SEQUENTIA_QUICK: args.quick ? '1' : (process.env.SEQUENTIA_QUICK ?? ''),
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
  };
  console.log(
    `Executing ${plan.notebooks.length} notebook(s) with kernel '${KERNEL_NAME}' (${args.quick ? 'quick mode' : 'full settings'}) → ${path.relative(ROOT, plan.outDir) || '.'}`,
  );
  const log = new RunLog(
    plan.outDir,
    {
      quick: args.quick,
      timeout: plan.timeout,
      only: args.only ?? [],
      dir: args.dir,
      out: args.out,
      bail: args.bail,
      inPlace: args['in-place'],
      figures: !args['no-figures'],
      parameters: args.parameters,
      check: args.check,
      updateReferences: args['update-references'],
    },
    plan.notebooks,
    env,
  );
  state.log = log;
  log.save();
  const { results, checkMs } = await runNotebooks(state, log, args, plan, python, env);
  if (!args['no-figures']) await exportRunFigures(log, args, plan.outDir, results);
  if (args.check) checkSizes(plan.outDir, results);
  const checking = args.check || args['update-references'];
  const code = log.finish(results, checking ? { mode: args.check ? 'check' : 'update', ms: checkMs } : null);
  if (code !== 0) process.exit(code);
}

/** The entry: the run's state lives here, reached by main, the signal handler and the crash handler. */
function start(): void {
  const state: RunState = { running: null, standby: null, stopping: false, log: null };
  main(state).catch((e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    if (state.log && state.log.report.status === 'running') {
      state.log.report.status = 'failed';
      state.log.save();
    }
    process.exit(1);
  });
}

start();
