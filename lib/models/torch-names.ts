/**
 * How a model's weights look in PyTorch: the `state_dict` names, shapes and layouts of the model's
 * PyTorch twin (makemore.py's for the zoo, the lecture's tensor names for the lecture models), so that a
 * saved model.safetensors loads with `model.load_state_dict(load_file(…))`, and back. Each model file
 * declares its own (`<model>StateDict(config)`), from its config alone — so a file's names and shapes
 * are checked against its config before any model is built; registry.ts's STATE_DICTS table lists them
 * all, typed over every model type (a new model must add its names).
 *
 * A layout is the list of PyTorch tensors (parameters and buffers) and the two conversions between
 * our namedWeights() and them. Most tensors are one of ours, maybe transposed (nn.Linear keeps its
 * weight as [out, in], we keep [in, out]); the recurrent cells cut and join ours (recurrent.ts).
 */
import type { HostTensor } from '../data/safetensors';

export type { HostTensor };

/** A tensor of the PyTorch state_dict. A buffer (a causal mask) is written for a strict load and ignored on reading. */
export interface TorchTensor {
  name: string;
  shape: number[];
  buffer?: boolean;
}

export interface StateDictLayout {
  /** Every tensor of the state_dict, in its order. */
  tensors: TorchTensor[];
  /** Our weights' names and shapes (namedWeights()), which the conversions take and give. */
  ours: { name: string; shape: number[] }[];
  /** Our weights (namedWeights() names) → the state_dict's tensors (buffers included). */
  toTorch(ours: Record<string, HostTensor>): Record<string, HostTensor>;
  /** The state_dict's parameters (names and shapes already checked against `tensors`) → our weights. */
  fromTorch(torch: Record<string, HostTensor>): Record<string, HostTensor>;
}

/** One PyTorch tensor that is one of ours (shape: ours), maybe transposed; or a buffer with fixed values. */
export type Row =
  | { torch: string; ours: string; shape: number[]; transpose?: boolean }
  | { torch: string; shape: number[]; buffer: () => Float32Array };

/** A 2-D [r, c] matrix transposed to [c, r]. */
function transpose2d(t: HostTensor): HostTensor {
  const [r, c] = t.shape as [number, number];
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j] as number;
  return { shape: [c, r], data: out };
}

function get(from: Record<string, HostTensor>, name: string): HostTensor {
  const t = from[name];
  if (!t) throw new Error(`no tensor '${name}'`);
  return t;
}

/** The layout of tensors that map one to one. */
export function oneToOne(rows: Row[]): StateDictLayout {
  const torchShape = (r: Row) => ('buffer' in r || !r.transpose ? r.shape : [...r.shape].reverse());
  return {
    tensors: rows.map((r) => ({ name: r.torch, shape: torchShape(r), ...('buffer' in r ? { buffer: true } : {}) })),
    ours: rows.flatMap((r) => ('buffer' in r ? [] : [{ name: r.ours, shape: r.shape }])),
    toTorch: (ours) =>
      Object.fromEntries(
        rows.map((r) => {
          if ('buffer' in r) return [r.torch, { shape: r.shape, data: r.buffer() }];
          const t = get(ours, r.ours);
          return [r.torch, r.transpose ? transpose2d(t) : t];
        }),
      ),
    fromTorch: (torch) =>
      Object.fromEntries(
        rows.flatMap((r) => {
          if ('buffer' in r) return [];
          const t = get(torch, r.torch);
          return [[r.ours, r.transpose ? transpose2d(t) : t]];
        }),
      ),
  };
}

/** A causal mask (1 on and below the diagonal) of T × T, as makemore registers it (`bias`). */
export function causalMask(T: number): () => Float32Array {
  return () => {
    const m = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) m[i * T + j] = 1;
    return m;
  };
}

/** nn.Linear's weight and bias (`prefix.weight` [out, in], `prefix.bias`) from our Linear `ours` (W [in, out], b). */
export function linearRows(torch: string, ours: string, fanIn: number, fanOut: number, bias = true): Row[] {
  return [
    { torch: `${torch}.weight`, ours: `${ours}.W`, shape: [fanIn, fanOut], transpose: true },
    ...(bias ? [{ torch: `${torch}.bias`, ours: `${ours}.b`, shape: [fanOut] }] : []),
  ];
}

/** nn.LayerNorm's weight and bias from our LayerNorm (g, b). */
export function layerNormRows(torch: string, ours: string, E: number): Row[] {
  return [
    { torch: `${torch}.weight`, ours: `${ours}.g`, shape: [E] },
    { torch: `${torch}.bias`, ours: `${ours}.b`, shape: [E] },
  ];
}

/**
 * makemore's ModelConfig (block_size, vocab_size, n_layer, n_embd, n_embd2, n_head) from ours: what
 * config.json holds beside model_type, so that `ModelConfig(**config)` takes it.
 */
export interface MakemoreConfig {
  block_size: number;
  vocab_size: number;
  n_layer: number;
  n_embd: number;
  n_embd2: number;
  n_head: number;
}
