/**
 * `npm test`: the static checks, the unit tests and the quick notebook runs as concurrent jobs.
 *
 * Run one after another they left a core idle most of the time: the unit tests wait on kernels,
 * browsers and child processes, the notebook runs wait on Jupyter. Each job's output goes to
 * out/test/<job>.log and is printed when the job ends (whole if it failed), so the outputs never
 * interleave. A job whose prerequisite failed is skipped; the run exits 1 if any job failed or was
 * skipped, 130/143 on Ctrl-C/SIGTERM (every job's process group is killed).
 *
 *   npm test                        # every job
 *   npm test -- --only unit         # some jobs (repeatable; prerequisites are not added)
 *   SEQUENTIA_TEST_SLOTS=2 npm test # how much runs at once (default: cores + 1; a job takes 1 or 2 slots)
 *   SEQUENTIA_SMOKE_NODE=/path/to/node npm test   # and the smoke pass on that Node (scripts/test/smoke.sh)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { TSX } from '../node-tsx';

const ROOT = path.resolve(__dirname, '..', '..');
const LOGS = path.join(ROOT, 'out', 'test');
const NODE = [process.execPath, ...TSX] as const;

interface Job {
  name: string;
  command: [string, ...string[]];
  /** jobs that must pass first */
  after: string[];
  /** slots it occupies: the unit tests run two files at a time */
  slots: number;
}

// Every *.test.ts in test/ and two folders down (the fixtures hold none), sorted.
function testFiles(dir = 'test', depth = 0): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { withFileTypes: true })
    .flatMap((e) => {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) return depth < 2 && e.name !== 'fixtures' ? testFiles(p, depth + 1) : [];
      return e.name.endsWith('.test.ts') ? [p] : [];
    })
    .sort();
}

/**
 * The files that take longest (each 20 s to 2 min alone; together over half of the unit tests' time), in
 * that order. node --test starts files in the order given, two at a time: started last (runner.test.ts sorts
 * late), a long file ran alone at the end while the other core idled, 442 s where the files need about 350.
 */
const LONGEST_FIRST = [
  'test/notebooks/runner.test.ts',
  'test/cli/lifecycle.test.ts',
  'test/cli/flags-and-faults.test.ts',
  'test/notebooks/browser.test.ts',
  'test/notebooks/kernel.test.ts',
  'test/cli/writeup.test.ts',
  'test/notebooks/checks.test.ts',
  'test/viz/figures.test.ts',
  'test/cli/config.test.ts',
  'test/cli/gpt.test.ts',
  'test/notebooks/report.test.ts',
  'test/notebooks/figure-layout.test.ts',
];

/** The unit test files, the longest first, then the rest in name order. */
function unitFiles(): string[] {
  const all = testFiles();
  // a renamed or removed file would lose the place silently (test-runner.test.ts imports this list)
  const gone = LONGEST_FIRST.filter((f) => !all.includes(f));
  if (gone.length) throw new Error(`scripts/test/run.ts: LONGEST_FIRST names ${gone.join(', ')}: no such test file`);
  return [...LONGEST_FIRST, ...all.filter((f) => !LONGEST_FIRST.includes(f))];
}

/** In start order: the longest job first, so that it never waits for a slot. */
export const JOBS: Job[] = [
  { name: 'tools', command: [...NODE, 'scripts/notebooks/jupyter.ts', 'ensure-test-tools'], after: [], slots: 1 },
  {
    name: 'unit',
    command: [
      ...NODE,
      '--require',
      './test/helpers/console-to-stderr.cjs',
      '--test',
      '--test-concurrency=2',
      ...unitFiles(),
    ],
    after: ['tools'],
    slots: 2,
  },
  {
    name: 'notebooks',
    command: [...NODE, 'scripts/notebooks/run.ts', '--quick', '--check', '--out', 'out/ci-notebooks'],
    after: ['tools'],
    slots: 1,
  },
  {
    name: 'figures',
    command: [...NODE, 'scripts/notebooks/figure-check.ts', 'out/ci-notebooks'],
    after: ['notebooks'],
    slots: 1,
  },
  {
    name: 'solutions',
    command: [
      ...NODE,
      'scripts/notebooks/run.ts',
      '--quick',
      '--check',
      '--dir',
      'notebooks/solutions',
      '--out',
      'out/ci-solutions',
      '--no-figures',
    ],
    after: ['tools'],
    slots: 1,
  },
  { name: 'typecheck', command: ['npx', 'tsc', '--noEmit', '-p', '.'], after: ['tools'], slots: 1 },
  { name: 'eslint', command: ['npx', 'eslint', '.'], after: ['tools'], slots: 1 },
  { name: 'prettier', command: ['npx', 'prettier', '--check', '.'], after: ['tools'], slots: 1 },
  // Last: it starts when the static checks are done, in the stretch where only the unit tests still run
  // and leave a core mostly idle.
  ...(process.env.SEQUENTIA_SMOKE_NODE
    ? [{ name: 'smoke', command: ['bash', 'scripts/test/smoke.sh'], after: ['tools'], slots: 1 } as Job]
    : []),
];

type State = 'waiting' | 'running' | 'passed' | 'failed' | 'skipped';

function usage(code: number): never {
  (code === 0 ? console.log : console.error)(
    `usage: npm test -- [--only JOB]...\n  jobs: ${JOBS.map((j) => j.name).join(', ')}\n  SEQUENTIA_TEST_SLOTS=N: jobs' slots at once (default cores + 1)`,
  );
  process.exit(code);
}

function parse(argv: string[]): Set<string> {
  const only = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--help') usage(0);
    if (argv[i] !== '--only' || i + 1 >= argv.length) {
      console.error(`unknown argument '${argv[i]}'`);
      usage(2);
    }
    const name = argv[++i] ?? '';
    if (!JOBS.some((j) => j.name === name)) {
      console.error(`--only: no job '${name}'`);
      usage(2);
    }
    only.add(name);
  }
  return only;
}

function slotsFromEnv(): number {
  const raw = process.env.SEQUENTIA_TEST_SLOTS;
  if (raw === undefined || raw === '') return os.availableParallelism() + 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`SEQUENTIA_TEST_SLOTS must be a whole number ≥ 1, got '${raw}'`);
    process.exit(2);
  }
  return n;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`;

function main(): void {
  const only = parse(process.argv.slice(2));
  const capacity = slotsFromEnv();
  const jobs = only.size ? JOBS.filter((j) => only.has(j.name)) : JOBS;
  const state = new Map<string, State>(jobs.map((j) => [j.name, 'waiting']));
  const children = new Map<string, ChildProcess>();
  const started = new Map<string, number>();
  const t0 = Date.now();
  fs.mkdirSync(LOGS, { recursive: true });

  const used = () => jobs.filter((j) => state.get(j.name) === 'running').reduce((s, j) => s + j.slots, 0);
  const depState = (d: string) => state.get(d) ?? 'passed'; // a job left out by --only counts as done

  const finish = (job: Job, result: 'passed' | 'failed', log: string) => {
    if (state.get(job.name) !== 'running') return; // 'error' and 'exit' can both arrive
    state.set(job.name, result);
    children.delete(job.name);
    const took = seconds(Date.now() - (started.get(job.name) ?? t0));
    if (result === 'failed') {
      process.stdout.write(
        `\n✗ ${job.name} failed after ${took}: ${job.command.join(' ')}\n${fs.readFileSync(log, 'utf8')}\n`,
      );
    } else {
      process.stdout.write(`✓ ${job.name} (${took})\n`);
    }
    schedule();
  };

  const start = (job: Job) => {
    state.set(job.name, 'running');
    started.set(job.name, Date.now());
    const log = path.join(LOGS, `${job.name}.log`);
    const out = fs.openSync(log, 'w');
    // Its own process group, so that a signal to this runner reaches the job's whole tree.
    const child: ChildProcess = spawn(job.command[0], job.command.slice(1), {
      cwd: ROOT,
      stdio: ['ignore', out, out],
      detached: true,
    });
    fs.closeSync(out);
    children.set(job.name, child);
    child.on('error', (e) => {
      fs.appendFileSync(log, `\ncould not start: ${e.message}\n`);
      finish(job, 'failed', log);
    });
    child.on('exit', (code: number | null) => finish(job, code === 0 ? 'passed' : 'failed', log));
  };

  const schedule = () => {
    for (const job of jobs) {
      if (state.get(job.name) !== 'waiting') continue;
      const deps = job.after.map(depState);
      if (deps.some((s) => s === 'failed' || s === 'skipped')) {
        state.set(job.name, 'skipped');
        process.stdout.write(
          `- ${job.name} skipped: ${job.after.filter((d) => depState(d) !== 'passed').join(', ')} did not pass\n`,
        );
        continue;
      }
      if (deps.every((s) => s === 'passed') && (used() === 0 || used() + job.slots <= capacity)) start(job);
    }
    if ([...state.values()].every((s) => s !== 'waiting' && s !== 'running')) {
      clearInterval(heartbeat);
      const bad = jobs.filter((j) => state.get(j.name) !== 'passed').map((j) => j.name);
      process.stdout.write(
        `\n${bad.length ? `failed or skipped: ${bad.join(', ')}` : `all ${jobs.length} jobs passed`} in ${seconds(Date.now() - t0)} (logs in ${path.relative(ROOT, LOGS)}/)\n`,
      );
      process.exit(bad.length ? 1 : 0);
    }
  };

  // A line a minute, so that a long quiet stretch in CI still shows what is running.
  const heartbeat = setInterval(() => {
    const running = jobs
      .filter((j) => state.get(j.name) === 'running')
      .map((j) => `${j.name} ${seconds(Date.now() - (started.get(j.name) ?? t0))}`);
    process.stdout.write(`… ${seconds(Date.now() - t0)}: running ${running.join(', ') || 'nothing'}\n`);
  }, 60_000);

  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.on(sig, () => {
      for (const child of children.values()) {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGTERM');
        } catch {
          /* already gone */
        }
      }
      process.exit(code);
    });
  }

  process.stdout.write(`npm test: ${jobs.map((j) => j.name).join(', ')}; ${capacity} slots\n`);
  schedule();
}

if (require.main === module) main();
