/**
 * Why a kernel died, in the words a notebook user needs. V8 answers a full heap with SIGABRT (the
 * executor can only say "killed by SIGABRT"), after printing its reason on the kernel's stderr, which
 * the runner collects with the executor's.
 */
import { spawnSync } from 'node:child_process';

const OUT_OF_MEMORY = /JavaScript heap out of memory|Reached heap limit|Ineffective mark-compacts near heap limit/;

/** The --max-old-space-size (MB) in NODE_OPTIONS, or null. */
function maxOldSpaceOf(nodeOptions: string | undefined): number | null {
  const m = /--max[-_]old[-_]space[-_]size(?:=|\s+)(\d+)/.exec(nodeOptions ?? '');
  return m ? Number(m[1]) : null;
}

/** The kernel's heap limit in MB and where it comes from. */
function heapLimit(env: NodeJS.ProcessEnv): { mb: number; from: string } {
  const given = maxOldSpaceOf(env.NODE_OPTIONS);
  if (given !== null) return { mb: given, from: `--max-old-space-size=${given} in NODE_OPTIONS` };
  // The kernel is this Node (the kernelspec names process.execPath) with this environment.
  const r = spawnSync(process.execPath, ['-p', "require('v8').getHeapStatistics().heap_size_limit"], {
    env,
    encoding: 'utf8',
    timeout: 10_000,
  });
  const bytes = Number(r.stdout?.trim());
  const mb = Number.isFinite(bytes) && bytes > 0 ? Math.round(bytes / 2 ** 20) : 0;
  return { mb, from: "Node's default for this machine" };
}

/**
 * The executor's "dead kernel" error, explained when the kernel's stderr shows V8 ran out of heap;
 * otherwise `error` unchanged.
 */
export function explainDeadKernel(error: string, kernelStderr: string, env: NodeJS.ProcessEnv): string {
  if (!OUT_OF_MEMORY.test(kernelStderr)) return error;
  const { mb, from } = heapLimit(env);
  const limit = mb > 0 ? `its heap limit of ${mb} MB (${from})` : `its heap limit (${from})`;
  const raise = mb > 0 ? String(Math.max(mb * 2, 1024)) : '8192';
  return (
    `kernel out of memory: V8 reached ${limit} and aborted the kernel.\n` +
    `Raise the limit, e.g. NODE_OPTIONS=--max-old-space-size=${raise} npm run notebooks -- …, or make the ` +
    `cell keep less (smaller batches; dispose tensors it no longer needs, tf.tidy).\n` +
    `(executor: ${error.split('\n')[0]})` +
    (error.includes('\n') ? `\n${error.slice(error.indexOf('\n') + 1)}` : '')
  );
}
