/**
 * Interrupts that keep what was done: ■ in Jupyter (Kernel → Interrupt), the headless runner's cell
 * timeout, or Ctrl-C in a CLI asks the running loop to stop, and the loop decides how:
 *
 * - `train()` stops after the current step and returns what it trained (`interrupted: true`), so the
 *   cell finishes and the model it built exists — what a learner pressing ■ wants;
 * - evaluation and sampling loops throw `Interrupted` (a partial mean or a half-drawn sample would
 *   mislead), which fails the cell the way Python's KeyboardInterrupt does.
 *
 * In a notebook the kernel launcher (scripts/notebooks/tslab-kernel.cjs) sets the request when SIGINT arrives
 * and falls back to tslab's own interrupt when no loop picks it up in time; it also marks a cell that
 * was interrupted that way as dead, so whatever that cell left running stops at its next check and
 * shows nothing under a later cell. Outside a kernel `requestInterrupt()` is the CLI's SIGINT handler.
 */
import type { AsyncLocalStorage } from 'node:async_hooks';

/** Thrown by a loop that stops because of an interrupt. */
export class Interrupted extends Error {
  constructor(what = 'interrupted') {
    super(what);
    this.name = 'Interrupted';
  }
}

/** What the kernel launcher shares with lib through globalThis (plain JS there, so typed here). */
interface KernelState {
  /** The cell (execution count) whose async work is running; set per cell by the launcher. */
  cells: AsyncLocalStorage<{ cell: number }>;
  /** Cells interrupted by tslab's fallback: their leftover work must stop and show nothing. */
  dead: Set<number>;
  /** Interrupt requested for this running cell (execution count), or 0. */
  requested: number;
  /** Loops running now that honour requests (the launcher waits for them instead of cutting off). */
  loops: number;
  /** Cells whose training was stopped by an interrupt: a later train() in the same cell does not start. */
  stopped?: Set<number>;
}

interface Shared {
  __sequentiaKernel?: KernelState;
  __sequentiaCliInterrupt?: boolean;
}
const shared = globalThis as unknown as Shared;

function kernel(): KernelState | undefined {
  return shared.__sequentiaKernel;
}

/** The execution count of the notebook cell whose code is running here, if any. */
function currentCell(): number | undefined {
  return kernel()?.cells.getStore()?.cell;
}

/** True when an interrupt is waiting for the code running here. */
export function interruptRequested(): boolean {
  const k = kernel();
  if (!k) return shared.__sequentiaCliInterrupt === true;
  const cell = currentCell();
  return cell !== undefined && (k.requested === cell || k.dead.has(cell));
}

/** True when this code belongs to a cell that was cut off: it must stop and display nothing. */
export function inDeadCell(): boolean {
  const k = kernel();
  const cell = currentCell();
  return k !== undefined && cell !== undefined && k.dead.has(cell);
}

/** Marks the request as handled (a loop stopped because of it); a later interrupt is a new request. */
export function acknowledgeInterrupt(): void {
  const k = kernel();
  if (!k) shared.__sequentiaCliInterrupt = false;
  else if (k.requested === currentCell()) k.requested = 0;
}

/**
 * Training stopped by an interrupt stays stopped for the rest of the cell: a cell that trains several
 * models in a loop (notebooks 07, 09) then finishes at once, each later model untrained, instead of
 * training the next one in full after the learner pressed ■.
 */
export function markTrainingStopped(): void {
  const cell = currentCell();
  const k = kernel();
  if (k && cell !== undefined) (k.stopped ??= new Set()).add(cell);
}

/** True when an interrupt already stopped training in the cell running here. */
export function trainingStopped(): boolean {
  const cell = currentCell();
  return cell !== undefined && (kernel()?.stopped?.has(cell) ?? false);
}

/** Throws `Interrupted` if an interrupt is waiting (consuming it): the check inside evaluation and sampling loops. */
export function throwIfInterrupted(what: string): void {
  if (!interruptRequested()) return;
  acknowledgeInterrupt();
  throw new Interrupted(`${what}: interrupted`);
}

/** Asks running loops to stop (a CLI's SIGINT handler). In a kernel the launcher does this itself. */
export function requestInterrupt(): void {
  const k = kernel();
  if (!k) shared.__sequentiaCliInterrupt = true;
  else {
    const cell = currentCell();
    if (cell !== undefined) k.requested = cell;
  }
}

/** Clears a pending CLI request (tests; a CLI that handled it). */
export function clearInterrupt(): void {
  shared.__sequentiaCliInterrupt = false;
}

/**
 * Registers a loop that checks for interrupts at least once per iteration; the kernel then waits for
 * it to stop instead of cutting the cell off. Returns the function that unregisters it.
 */
export function enterLoop(): () => void {
  const k = kernel();
  if (!k) return () => {};
  k.loops++;
  let left = false;
  return () => {
    if (!left) k.loops--;
    left = true;
  };
}

/** The signals that end a CLI run, each with the name it is reported by and the exit code it leaves (128 + its number). */
const ENDING_SIGNALS = [
  ['SIGINT', 'Ctrl-C', 130],
  ['SIGTERM', 'SIGTERM', 143],
  ['SIGHUP', 'SIGHUP (the terminal closed)', 129],
] as const;

/**
 * A CLI's Ctrl-C, SIGTERM and SIGHUP: before `startTraining()` there is nothing to save, so it quits;
 * after, the first signal asks the training loop to stop after the current step (pass `stopped` as
 * train()'s `shouldStop`) and prints `stopping(signal)`, and the CLI saves and exits with `exitCode()`
 * (130, 143 or 129, as a shell reports a process that signal ended); a second signal quits at once.
 * A closed terminal or pipe must not end the run before it saves, so write errors on stdout and stderr
 * are ignored from here on.
 */
export function stopOnSignals(stopping: (signal: string) => string): {
  startTraining(): void;
  stopped(): boolean;
  exitCode(): number;
} {
  let training = false;
  let code = 0;
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  const on = (name: string, exit: number) => {
    if (!training) {
      console.log(`\n${name}: quitting (no training had started: nothing to save)`);
      process.exit(exit);
    }
    if (code) {
      console.log(`\n${name} again: quitting now (latest/ keeps the last saved state)`);
      process.exit(exit);
    }
    code = exit;
    console.log(`\n${name}: ${stopping(name)}`);
  };
  for (const [signal, name, exit] of ENDING_SIGNALS) process.on(signal, () => on(name, exit));
  return { startTraining: () => void (training = true), stopped: () => code !== 0, exitCode: () => code };
}
