/**
 * mt19937, as seeded by at::mt19937 (32-bit state, seed taken modulo 2^32) and by CPython's random.seed.
 */

const MT_N = 624;
const MT_M = 397;

export class MT19937 {
  private readonly state = new Uint32Array(MT_N);
  private index = MT_N;

  constructor(seed: number) {
    const s = this.state;
    s[0] = seed >>> 0;
    for (let j = 1; j < MT_N; j++) {
      const prev = s[j - 1] as number;
      s[j] = (Math.imul(1812433253, (prev ^ (prev >>> 30)) >>> 0) + j) >>> 0;
    }
  }

  /** init_by_array (CPython's random.seed for an int: its 32-bit words, least significant first). */
  static fromArray(key: readonly number[]): MT19937 {
    const mt = new MT19937(19650218);
    const s = mt.state;
    let i = 1;
    let j = 0;
    const len = Math.max(1, key.length);
    for (let k = Math.max(MT_N, len); k > 0; k--) {
      const prev = s[i - 1] as number;
      s[i] = ((((s[i] as number) ^ Math.imul((prev ^ (prev >>> 30)) >>> 0, 1664525)) >>> 0) + (key[j] ?? 0) + j) >>> 0;
      i++;
      j++;
      if (i >= MT_N) {
        s[0] = s[MT_N - 1] as number;
        i = 1;
      }
      if (j >= len) j = 0;
    }
    for (let k = MT_N - 1; k > 0; k--) {
      const prev = s[i - 1] as number;
      s[i] = ((((s[i] as number) ^ Math.imul((prev ^ (prev >>> 30)) >>> 0, 1566083941)) >>> 0) - i) >>> 0;
      i++;
      if (i >= MT_N) {
        s[0] = s[MT_N - 1] as number;
        i = 1;
      }
    }
    s[0] = 0x80000000;
    return mt;
  }

  private twist(): void {
    const s = this.state;
    for (let i = 0; i < MT_N; i++) {
      const y = (((s[i] as number) & 0x80000000) | ((s[(i + 1) % MT_N] as number) & 0x7fffffff)) >>> 0;
      let v = (s[(i + MT_M) % MT_N] as number) ^ (y >>> 1);
      if (y & 1) v ^= 0x9908b0df;
      s[i] = v >>> 0;
    }
    this.index = 0;
  }

  next(): number {
    if (this.index >= MT_N) this.twist();
    let y = this.state[this.index++] as number;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}
