/**
 * Causal multi-head self-attention on qkv [B, T, 3E] (queries, keys, values side by side, as makemore's
 * c_attn makes them) → the heads' outputs side by side [B, T, E]. Its tfjs forward is one op with its
 * own gradient (ops/attention.ts), or with dropout on the attention weights the op-by-op form; its fused
 * half runs the same kernels (kernels.c's attn_forward keeps the probabilities for attn_backward).
 */
import type { tf } from '../runtime/tf';
import { Module } from './module';
import { attentionReference, causalSelfAttention, MAX_T } from '../ops/attention';
import { dropout } from './dropout';
import type { Act, FusedLayer, StepFrame } from '../fused/frame';
import type { Rng } from '../random/rng';
import { attention } from '../backend/native/threads';

export class CausalSelfAttention extends Module {
  constructor(
    readonly nHead: number,
    /** The longest sequence it will see: the fused kernels take T ≤ 64. */
    readonly blockSize: number,
    /** Dropout on the attention weights while training. */
    readonly p = 0,
  ) {
    super();
  }
  forward(qkv: tf.Tensor, training = false, rng?: Rng): tf.Tensor {
    const x = qkv as tf.Tensor3D;
    if (!training || this.p === 0) return causalSelfAttention(x, this.nHead);
    if (!rng) throw new Error(`attention dropout ${this.p}: training needs an rng for the masks`);
    return attentionReference(x, this.nHead, (att) => dropout(att, this.p, rng));
  }
  fused(): FusedLayer | null {
    return this.p > 0 || this.blockSize > MAX_T ? null : new FusedAttention(this.nHead);
  }
  namedWeights(): Record<string, tf.Variable> {
    return {};
  }
}

/** Over sequences of f.T rows: qkv [B·T, 3E] (head h at columns h·hs of each third) → y [B·T, E]. */
class FusedAttention implements FusedLayer {
  private saved: { qkv: Act; probs: number } | null = null;
  constructor(private readonly nHead: number) {}
  forward(f: StepFrame, qkv: Act): Act {
    const T = f.T;
    const B = qkv.rows / T;
    const E = qkv.width / 3;
    const hs = E / this.nHead;
    const probs = f.put(B * this.nHead * T * T);
    const y = f.act(qkv.rows, E);
    attention('forward', [qkv.at, probs, y.at], B, T, this.nHead, hs, 1 / Math.sqrt(hs));
    this.saved = { qkv, probs };
    return y;
  }
  backward(f: StepFrame, dy: Act): Act {
    const { qkv, probs } = this.saved!;
    const T = f.T;
    const B = qkv.rows / T;
    const hs = dy.width / this.nHead;
    const dqkv = f.act(qkv.rows, qkv.width);
    attention('backward', [qkv.at, probs, dy.at, dqkv.at], B, T, this.nHead, hs, 1 / Math.sqrt(hs));
    return dqkv;
  }
}
