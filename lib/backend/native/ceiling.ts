/**
 * The ceiling of 128-bit WebAssembly SIMD on one thread of this machine: a loop of independent
 * multiply-adds on registers, no memory — what no matrix product in wasm can beat. The benchmark
 * (scripts/cli/bench-products.ts) reports each product's share of it.
 */
import { kernelModule } from './loader';

const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const f32 = (x: number) => [...new Uint8Array(new Float32Array([x]).buffer)];

/** Independent accumulators: enough to cover the multiply-add's latency on every x64 core. */
const ACC = 12;

/**
 * A WebAssembly module exporting `peak(n)`: n rounds of ACC independent f32x4 multiply-adds on
 * registers (relaxed SIMD's fused madd, or a mul and an add), written out as bytes: no compiler needed.
 */
function peakModule(fused: boolean): Uint8Array {
  const simd = (op: number) => [0xfd, ...leb(op)];
  const [a, b] = [ACC + 1, ACC + 2];
  const body = [0x43, ...f32(0.999), ...simd(0x13), 0x21, a, 0x43, ...f32(0.001), ...simd(0x13), 0x21, b];
  body.push(0x03, 0x40); // loop
  for (let i = 1; i <= ACC; i++) {
    body.push(0x20, i, 0x20, a);
    body.push(...(fused ? [0x20, b, ...simd(0x105)] : [...simd(0xe6), 0x20, b, ...simd(0xe4)]));
    body.push(0x21, i);
  }
  body.push(0x20, 0, 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b); // n -= 1; loop while n != 0
  body.push(0x20, 1, ...simd(0x1f), 0); // the result reads every accumulator (none is dead code)
  for (let i = 2; i <= ACC; i++) body.push(0x20, i, ...simd(0x1f), 0, 0x92);
  body.push(0x0b);
  const fn = [1, ...leb(ACC + 2), 0x7b, ...body]; // one run of ACC + 2 v128 locals
  const section = (id: number, c: number[]) => [id, ...leb(c.length), ...c];
  const name = [...Buffer.from('peak')];
  return new Uint8Array([
    ...[0, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7d]), // (i32) -> f32
    ...section(3, [1, 0]),
    ...section(7, [1, name.length, ...name, 0, 0]),
    ...section(10, [1, ...leb(fn.length), ...fn]),
  ]);
}

/**
 * Best of a few rounds, GFLOP/s of one thread; null where this engine lacks relaxed SIMD (`fused`). The
 * loop's result is checked first: 3 rounds of v = 0.999 v + 0.001 in each accumulator, summed.
 */
export function simdCeiling(fused: boolean): number | null {
  kernelModule(); // turns relaxed SIMD on where this Node has it behind a flag, as for the kernels
  const bytes = peakModule(fused);
  if (!WebAssembly.validate(bytes)) return null;
  const peak = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.peak as (n: number) => number;
  let v = 0;
  for (let i = 0; i < 3; i++) v = Math.fround(Math.fround(0.999 * v) + 0.001);
  if (!(Math.abs(peak(3) - ACC * v) < 1e-6)) throw new Error(`the ceiling loop computes ${peak(3)}, not ${ACC * v}`);
  // V8 first runs a module's functions from its baseline compiler and swaps in optimised code a little
  // later: a third of a second of calls first, then the rounds
  for (const t0 = performance.now(); performance.now() - t0 < 300;) peak(1e6);
  let best = 0;
  for (let r = 0; r < 5; r++) {
    const n = 3e7;
    const t0 = performance.now();
    peak(n);
    best = Math.max(best, (n * ACC * 8) / ((performance.now() - t0) * 1e6));
  }
  return best;
}
