/** The makemore and novel CLIs run as a user runs them: child processes, tiny models, a scratch folder. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { parseOptions, type Table } from '../../scripts/cli/run/options';
import type { Args } from '../../scripts/cli/run/lifecycle';
import { TSX } from '../../scripts/node-tsx';

export const ROOT = path.resolve(__dirname, '..', '..');
export const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-cli-'));
process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));
export const NAMES = path.join(TMP, 'names.txt');
fs.writeFileSync(
  NAMES,
  fs.readFileSync(path.join(ROOT, 'data/names.txt'), 'utf8').split('\n').slice(0, 300).join('\n') + '\n',
);
export const TINY = [
  '--input',
  NAMES,
  '--type',
  'mlp',
  '--n-embd',
  '8',
  '--n-embd2',
  '16',
  '--batch-size',
  '8',
  '--eval-every',
  '5',
  '--num-samples',
  '0',
];
export const NOVEL_TINY = ['--n-embd', '8', '--n-hidden', '16', '--batch-size', '4', '--eval-every', '5'];
let dirs = 0;
export const newDir = () => path.join(TMP, `run${++dirs}`);

export function run(script: 'makemore' | 'novel' | 'gpt', args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [...TSX, `scripts/cli/${script}.ts`, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
export const makemore = (args: string[]) => run('makemore', args);

/** Every file under dir with its bytes' hash: "nothing was touched" is this map unchanged. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}
/** Starts a CLI, waits for `ready` on stdout, waits `ms`, sends `signal`; resolves with its exit code and output. */
export async function interrupt(
  script: 'makemore' | 'novel' | 'gpt',
  args: string[],
  ready: string,
  ms: number,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; out: string }> {
  const p = spawn(process.execPath, [...TSX, `scripts/cli/${script}.ts`, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  p.stderr.resume();
  await new Promise<void>((resolve, reject) => {
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(ready)) resolve();
    });
    p.once('exit', () => reject(new Error(`${script} exited before '${ready}': ${out}`)));
  });
  await new Promise((r) => setTimeout(r, ms));
  p.kill(signal);
  const code = await new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
  return { code, out };
}

/** The text of a lock that a live run with this PID holds (its start time as /proc tells it). */
export function liveLock(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] as string;
  return `${pid}\n${os.hostname()}\n2026-01-01T00:00:00Z\nstart=${start}\ncommand=node scripts/cli/makemore.ts\n`;
}

/**
 * What a CLI's parser and its checks (`check`: validate, settingsProblem) say of `argv` before any work,
 * in-process: each refusal without starting a process (the CLI itself is spawned for a few). Null: accepted.
 */
export function refusal<T extends Table>(
  table: T,
  check: (a: Args<T>) => string | null,
  argv: string[],
): string | null {
  try {
    const p = parseOptions(table, argv, () => {});
    return check({ ...p.values, explicit: p.explicit, fromFile: p.fromFile } as Args<T>);
  } catch (e) {
    return (e as Error).message;
  }
}
