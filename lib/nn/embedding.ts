/**
 * A table of vectors looked up by token id, its tfjs forward and its fused half: a gather, whose
 * backward sums dy into the table by id; or, followed by FlattenConsecutive(n) and a Linear, the three
 * as one product per window position (FusedContextLinear below). And the same table read backwards as
 * the output layer (TiedHead: logits = x tableᵀ, GPT-2's and nanoGPT's weight tying).
 */
import { tf } from '../runtime/tf';
import { randnVariable } from './init';
import { Module } from './module';
import { FlattenConsecutive } from './flatten';
import { Linear } from './linear';
import { sgemm, sgemmNt, sgemmTn } from '../backend/native/threads';
import type { Act, FusedLayer, Fusing, StepFrame } from '../fused/frame';
import type { LayerSpec, SpecLayer } from './layer';
import type { Rng } from '../random/rng';

/** Token ids [..., n] → vectors [..., n, dim]: rows of `weight` [numEmbeddings, dim] (weight ~ randn). */
export class Embedding extends Module implements SpecLayer {
  readonly spec: LayerSpec & { kind: 'Embedding' };
  readonly weight: tf.Variable;
  readonly numEmbeddings: number;
  readonly dim: number;
  /**
   * Whether the fused step may run this table, a FlattenConsecutive and a Linear after it as one
   * product per position: the same function with its sums in another order, so other float rounding.
   * On for Embedding layers (the WaveNet, makemore's MLP); off for a lecture model's own table C
   * (notebooks 05–06), whose references were recorded with the plain order.
   */
  readonly reorderProducts: boolean;
  constructor(rng: Rng, numEmbeddings: number, dim: number);
  constructor(table: tf.Variable, opts: { reorderProducts: boolean });
  constructor(a: Rng | tf.Variable, b: number | { reorderProducts: boolean }, dim?: number) {
    super();
    if (a instanceof tf.Variable) {
      this.weight = a;
      [this.numEmbeddings, this.dim] = a.shape as [number, number];
      this.reorderProducts = (b as { reorderProducts: boolean }).reorderProducts;
    } else {
      [this.numEmbeddings, this.dim] = [b as number, dim as number];
      this.weight = randnVariable(a, [this.numEmbeddings, this.dim], 1, 'emb');
      this.reorderProducts = true;
    }
    this.spec = { kind: 'Embedding', numEmbeddings: this.numEmbeddings, dim: this.dim };
  }
  forward(idx: tf.Tensor): tf.Tensor {
    return tf.gather(this.weight, idx);
  }
  fused(following: readonly unknown[]): Fusing {
    const [flatten, linear] = following;
    if (this.reorderProducts && flatten instanceof FlattenConsecutive && linear instanceof Linear)
      return { layer: new FusedContextLinear(this.weight, linear.W, linear.b, flatten.n), takes: 2 };
    // a TiedHead later in the chain writes its share of the table's gradient first (its backward runs
    // before this one): then the lookup's share is added to it
    const tied = following.some((l) => l instanceof TiedHead && l.table === this.weight);
    return new FusedGather(this.weight, tied);
  }
  namedWeights(): Record<string, tf.Variable> {
    return { weight: this.weight };
  }
}

/** n ids (an Act of width 1, int32) → [n, D] rows of the table; the table's gradient sums dy by id. */
class FusedGather implements FusedLayer {
  private ids = { at: 0, n: 0 };
  constructor(
    private readonly table: tf.Variable,
    private readonly accumulate = false,
  ) {}
  forward(f: StepFrame, x: Act): Act {
    const D = this.table.shape[1] as number;
    const y = f.act(x.rows, D);
    f.k.gather_rows(f.value.get(this.table)!, x.at, y.at, x.rows, D);
    this.ids = { at: x.at, n: x.rows };
    return y;
  }
  backward(f: StepFrame, dy: Act): Act {
    const [V, D] = this.table.shape as [number, number];
    const grad = f.grad.get(this.table)!;
    if (!this.accumulate) f.k.segment_sum(dy.at, this.ids.at, grad, this.ids.n, D, V);
    else {
      const mine = f.put(V * D);
      f.k.segment_sum(dy.at, this.ids.at, mine, this.ids.n, D, V);
      f.k.axpby(grad, mine, grad, V * D, 1, 1);
    }
    return { at: 0, rows: this.ids.n, width: 0 };
  }
  /** The bigram models: the logits are the table's rows, read in place (the kernel takes rows of ≤ 64). */
  tableLoss(f: StepFrame, ids: Act, targets: number): number | null {
    const [V, D] = this.table.shape as [number, number];
    if (D > 64) return null;
    return f.k.table_cross_entropy(f.value.get(this.table)!, ids.at, targets, f.grad.get(this.table)!, ids.rows, D, V);
  }
}

/**
 * A lookup of `bs` ids per row, concatenated, then a Linear: the same function as FusedGather →
 * FlattenConsecutive(bs) → Linear, with the products reordered. Each window position k multiplies the
 * table once, P[k] = table · W[kE .. (k+1)E) ([V, H]), and a row sums bs rows of P; the backward sums dy
 * by (position, id) into G[k] ([V, H]), then dW[k] = tableᵀ G[k] and dtable = Σ_k G[k] W[k]ᵀ. With 28
 * table rows and 8,192 ids a batch, about a sixteenth of the work.
 */
class FusedContextLinear implements FusedLayer {
  private saved = { ids: 0, rows: 0, n: 0 };
  constructor(
    private readonly table: tf.Variable,
    private readonly W: tf.Variable,
    private readonly b: tf.Variable | null,
    private readonly bs: number,
  ) {}
  private dims() {
    const [V, E] = this.table.shape as [number, number];
    return { V, E, H: this.W.shape[1] as number, bs: this.bs };
  }
  forward(f: StepFrame, x: Act): Act {
    const { V, E, H, bs } = this.dims();
    const P = f.put(bs * V * H);
    const [table, W] = [f.value.get(this.table)!, f.value.get(this.W)!];
    for (let k = 0; k < bs; k++) f.k.sgemm(table, W + k * E * H * 4, P + k * V * H * 4, 0, V, H, E, 0);
    const y = f.act(x.rows / bs, H);
    f.k.context_sum(P, x.at, this.b ? f.value.get(this.b)! : 0, y.at, y.rows, bs, V, H);
    this.saved = { ids: x.at, rows: y.rows, n: x.rows };
    return y;
  }
  backward(f: StepFrame, dy: Act): Act {
    const { V, E, H, bs } = this.dims();
    const G = f.put(bs * V * H);
    f.k.context_scatter(dy.at, this.saved.ids, G, this.saved.rows, bs, V, H);
    if (this.b) f.k.colsum(dy.at, f.grad.get(this.b)!, dy.rows, H);
    const [table, W, dW, dtable] = [
      f.value.get(this.table)!,
      f.value.get(this.W)!,
      f.grad.get(this.W)!,
      f.grad.get(this.table)!,
    ];
    for (let k = 0; k < bs; k++) {
      const Gk = G + k * V * H * 4;
      f.k.sgemm_tn(table, Gk, dW + k * E * H * 4, E, H, V, 0, E);
      f.k.sgemm_nt(Gk, W + k * E * H * 4, dtable, V, E, H, k > 0 ? 1 : 0, H, E);
    }
    return { at: 0, rows: this.saved.n, width: 0 };
  }
}

/**
 * The output layer that shares an Embedding's table [V, E]: x [..., E] → logits x tableᵀ [..., V], no
 * bias. The table's gradient is the sum of both uses: this layer's dyᵀ x plus the lookup's (FusedGather
 * adds its share when it sees this layer after it).
 */
export class TiedHead extends Module {
  constructor(readonly table: tf.Variable) {
    super();
  }
  forward(x: tf.Tensor): tf.Tensor {
    const [V, E] = this.table.shape as [number, number];
    const rows = x.reshape([-1, E]) as tf.Tensor2D;
    return tf.matMul(rows, this.table as tf.Tensor2D, false, true).reshape([...x.shape.slice(0, -1), V]);
  }
  fused(): FusedLayer {
    const table = this.table;
    const [V, E] = table.shape as [number, number];
    let saved: Act | null = null;
    return {
      forward(f: StepFrame, x: Act): Act {
        const y = f.act(x.rows, V);
        sgemmNt(x.at, f.value.get(table)!, y.at, x.rows, V, E, 0);
        saved = x;
        return y;
      },
      backward(f: StepFrame, dy: Act): Act {
        const x = saved!;
        sgemmTn(dy.at, x.at, f.grad.get(table)!, V, E, x.rows, 1); // dtable += dyᵀ x
        const dx = f.act(x.rows, E);
        sgemm(dy.at, f.value.get(table)!, dx.at, 0, x.rows, E, V, 0); // dx = dy table
        return dx;
      },
    };
  }
  /** None of its own: the table is the Embedding's. */
  namedWeights(): Record<string, tf.Variable> {
    return {};
  }
}
