/**
 * FlattenConsecutive: each `n` consecutive vectors concatenated. The fused half is free: the same memory
 * read as fewer, wider rows.
 */
import type { tf } from '../runtime/tf';
import { Module } from './module';
import type { Act, FusedLayer } from '../fused/frame';
import type { LayerSpec, SpecLayer } from './layer';

/**
 * [B, T, C] → [B, T/n, C·n], and [B, C·n] when T/n is 1 (the time axis squeezed away, as the lecture's
 * FlattenConsecutive does). FlattenConsecutive(T) is a plain flatten.
 */
export class FlattenConsecutive extends Module implements SpecLayer {
  readonly spec: LayerSpec & { kind: 'FlattenConsecutive' };
  constructor(readonly n: number) {
    super();
    if (!Number.isInteger(n) || n < 1) throw new Error(`FlattenConsecutive: n must be a positive integer, got ${n}`);
    this.spec = { kind: 'FlattenConsecutive', n };
  }
  forward(x: tf.Tensor): tf.Tensor {
    if (x.rank !== 3) throw new Error(`FlattenConsecutive(${this.n}) takes [B, T, C], got [${x.shape}]`);
    const [B, T, C] = x.shape as [number, number, number];
    if (T % this.n !== 0) throw new Error(`FlattenConsecutive(${this.n}): T = ${T} is not a multiple of ${this.n}`);
    const groups = T / this.n;
    return groups === 1 ? x.reshape([B, C * this.n]) : x.reshape([B, groups, C * this.n]);
  }
  fused(): FusedLayer {
    const n = this.n;
    return {
      forward(_f, x: Act): Act {
        if (x.rows % n !== 0) throw new Error(`fused FlattenConsecutive(${n}): ${x.rows} rows`);
        return { at: x.at, rows: x.rows / n, width: x.width * n };
      },
      backward(_f, dy: Act): Act {
        return { at: dy.at, rows: dy.rows * n, width: dy.width / n };
      },
    };
  }
  namedWeights(): Record<string, tf.Variable> {
    return {};
  }
}
