/**
 * What a layer's fused half works on: one training step's scratch memory in our wasm kernels' module
 * (lib/backend/native), activations as [rows, width] buffers in it, and the protocol every fused half
 * follows — forward, then backward (dy → dx, parameter gradients into the frame). Each layer in lib/nn
 * defines its fused half beside its tfjs forward; lib/fused/step.ts runs a model's layers this way.
 */
import { tf } from '../runtime/tf';
import { Frame } from '../backend/native/loader';

/** An activation in the frame: `rows` rows of `width` floats (int32 ids for the first layer) at byte offset `at`. */
export interface Act {
  at: number;
  rows: number;
  width: number;
}

/** One step's frame; every parameter's values and gradient are at `value` and `grad` (lib/fused/step.ts keeps them). */
export class StepFrame extends Frame {
  /** The step's scored rows (a window model's examples): set by the step before the layers run. */
  examples = 0;
  /** T: rows of one sequence for layers that work along time (1 for windows). */
  constructor(
    readonly value: Map<tf.Variable, number>,
    readonly grad: Map<tf.Variable, number>,
    readonly T: number,
  ) {
    super();
  }
  act(rows: number, width: number): Act {
    return { at: this.put(rows * width), rows, width };
  }
}

/** A layer's fused half: forward, and the backward (dy → dx, parameter gradients into the frame). */
export interface FusedLayer {
  forward(f: StepFrame, x: Act): Act;
  backward(f: StepFrame, dy: Act): Act;
  /** After the update: state the step changed besides the parameters (BatchNorm's running statistics), kept here. */
  commit?(f: StepFrame): void;
  /** That state written to the model's variables (after one step, or after several deferred ones). */
  writeBack?(f: Frame): void;
  /**
   * For a lookup table that is the whole model (the bigram models): the mean cross-entropy of the
   * looked-up rows as logits, with the table's gradient, without writing the logits out.
   */
  tableLoss?(f: StepFrame, ids: Act, targets: number): number | null;
}

/**
 * What a layer offers the fused step: its fused half, or null where only the tfjs ops compute it
 * (dropout while training, a size the kernels do not take). `following` is the layers after it: a
 * layer may take some of them into one fused half (`takes` of them), as the Embedding does with a
 * FlattenConsecutive and a Linear.
 */
export type Fusing = FusedLayer | { layer: FusedLayer; takes: number } | null;

/** Anything with a fused half (lib/nn's layers). */
export interface Fusable {
  fused(following: readonly Fusable[]): Fusing;
  /**
   * The methods whose computation the fused half reproduces (default: `forward`). A learner who
   * redefines one of them below the class that wrote `fused` has changed what the layer computes.
   */
  readonly mirrors?: readonly string[];
}

/** The object on `o`'s prototype chain (itself included) that defines `key`, or null. */
function definer(o: object, key: string): object | null {
  for (let p: object | null = o; p; p = Object.getPrototypeOf(p) as object | null) if (Object.hasOwn(p, key)) return p;
  return null;
}

/**
 * Whether one of `keys` (the forward) is defined below the class that defines `half` (the fused half or
 * the chain): a learner's subclass of a layer or model that changes its forward but inherits the fused
 * half, which would go on training the old computation. Such an object has no fused half.
 */
export function redefinedBelow(o: object, keys: readonly string[], half: string): boolean {
  const h = definer(o, half);
  if (!h) return false;
  return keys.some((k) => {
    const f = definer(o, k);
    return f !== null && f !== h && Object.prototype.isPrototypeOf.call(h, f);
  });
}

/** Whether `l`'s fused half still computes what it does: it has one, and nothing it mirrors was redefined. */
function halvesAgree(l: Fusable): boolean {
  return typeof l.fused === 'function' && !redefinedBelow(l, l.mirrors ?? ['forward'], 'fused');
}

/**
 * The fused halves of a chain of layers, in order; null when one of them has none, or when any layer —
 * one a fused half takes in with it too — was changed below the class that wrote its fused half.
 */
export function fuseChain(layers: readonly Fusable[]): FusedLayer[] | null {
  const out: FusedLayer[] = [];
  for (let i = 0; i < layers.length; i++) {
    if (!halvesAgree(layers[i]!)) return null;
    const r = layers[i]!.fused(layers.slice(i + 1));
    if (!r) return null;
    if ('takes' in r) {
      if (!layers.slice(i + 1, i + 1 + r.takes).every(halvesAgree)) return null;
      out.push(r.layer);
      i += r.takes;
    } else out.push(r);
  }
  return out;
}
