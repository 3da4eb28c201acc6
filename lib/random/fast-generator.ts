/**
 * FastGenerator: seedrandom's xor4096, for shuffles and minibatch indices where torch compatibility
 * does not matter; its state is plain JSON, saved with a checkpoint for exact resume.
 */
import seedrandom from 'seedrandom';
import { Rng, Shape, checkMultinomial, numel } from './rng';

/** A FastGenerator's complete state (xor4096's), plain JSON: saved with a checkpoint for exact resume. */
export interface FastGeneratorState {
  algorithm: 'xor4096';
  X: number[];
  i: number;
  w: number;
}

export class FastGenerator implements Rng {
  private readonly prng: seedrandom.StatefulPRNG<seedrandom.State.Xor4096>;

  /** Seeded, or continuing exactly from a `state()` (what follows is what would have followed). */
  constructor(seed: number | string | FastGeneratorState) {
    // state: true only makes the state readable; the numbers drawn are the same as without it
    this.prng =
      typeof seed === 'object'
        ? seedrandom.xor4096('', { state: FastGenerator.check(seed) })
        : seedrandom.xor4096(String(seed), { state: true });
  }

  /** A copy of the generator's state. */
  state(): FastGeneratorState {
    const s = this.prng.state();
    return { algorithm: 'xor4096', X: [...s.X], i: s.i, w: s.w };
  }

  /** A generator that continues from `state`. */
  static fromState(state: FastGeneratorState): FastGenerator {
    return new FastGenerator(state);
  }

  private static check(s: FastGeneratorState): seedrandom.State.Xor4096 {
    const ok =
      s !== null &&
      typeof s === 'object' &&
      s.algorithm === 'xor4096' &&
      Array.isArray(s.X) &&
      s.X.length === 128 &&
      s.X.every((x) => Number.isInteger(x)) &&
      Number.isInteger(s.i) &&
      Number.isInteger(s.w);
    if (!ok) throw new Error('not a FastGenerator state (expected xor4096: X of 128 integers, i, w)');
    return { X: [...s.X], i: s.i, w: s.w };
  }

  /** A float in [0, 1). */
  uniform(): number {
    return this.prng.double();
  }

  rand(shape: Shape): Float32Array {
    const out = new Float32Array(numel(shape));
    for (let i = 0; i < out.length; i++) out[i] = this.prng();
    return out;
  }

  randn(shape: Shape): Float32Array {
    const out = new Float32Array(numel(shape));
    for (let i = 0; i < out.length; i += 2) {
      const u1 = 1 - this.prng.double();
      const u2 = this.prng.double();
      const r = Math.sqrt(-2 * Math.log(u1));
      out[i] = r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
    }
    return out;
  }

  randint(low: number, high: number, shape: Shape): Int32Array {
    if (!(high > low)) throw new Error(`randint: high (${high}) must be greater than low (${low})`);
    const out = new Int32Array(numel(shape));
    const range = high - low;
    for (let i = 0; i < out.length; i++) out[i] = low + Math.floor(this.prng.double() * range);
    return out;
  }

  randperm(n: number): Int32Array {
    const r = new Int32Array(n);
    for (let i = 0; i < n; i++) r[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.prng.double() * (i + 1));
      const t = r[i] as number;
      r[i] = r[j] as number;
      r[j] = t;
    }
    return r;
  }

  multinomial(probs: ArrayLike<number>, numSamples: number, replacement = false, cols = probs.length): Int32Array {
    const { rows } = checkMultinomial(probs, numSamples, replacement, cols);
    const out = new Int32Array(rows * numSamples);
    for (let r = 0; r < rows; r++) {
      const w = Array.from({ length: cols }, (_, c) => probs[r * cols + c] as number);
      for (let k = 0; k < numSamples; k++) {
        let total = 0;
        for (const x of w) total += x;
        let u = this.prng.double() * total;
        let pick = cols - 1;
        for (let c = 0; c < cols; c++) {
          u -= w[c] as number;
          if (u < 0 && (w[c] as number) > 0) {
            pick = c;
            break;
          }
        }
        out[r * numSamples + k] = pick;
        if (!replacement) w[pick] = 0;
      }
    }
    return out;
  }
}
