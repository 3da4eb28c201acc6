/**
 * What both forms of a saved model share (safetensors now, model.json + weights.bin before): the
 * topology's type, the read limits, and the checks a config, a vocabulary and a set of weights pass
 * before any model is built from them.
 */
import { MiB } from '../data/read-checked';
import { checkRecurrentConfig, checkZooConfig, recurrentParamCount, zooParamCount } from '../models/zoo/config';
import { checkGPTConfig, gptParamCount } from '../models/gpt-config';
import { isModelType } from '../models/registry';

/** Weight files larger than this (in total) are refused unless a caller raises the limit. */
export const DEFAULT_MAX_WEIGHT_BYTES = 1024 * MiB;

/** Limits on what loading a saved model reads. */
export interface ReadLimits {
  /** The weight files' total size (default 1 GiB). */
  maxWeightBytes?: number;
  /** JSON files' size (default 64 MiB). */
  maxJsonBytes?: number;
}

/** What a saved Sequentia model holds besides its weights. */
export interface SavedTopology<C> {
  sequentia: 1 | 2 | 3;
  /** The registry's type (a model's); the optimizer's state in a checkpoint is 'adam-state'. */
  type: string;
  config: C;
  /** The vocabulary, index order (itos), and whether index 0 is a boundary token. */
  itos: string[];
  boundary: string | null;
  /** Anything else worth keeping (training step, best loss …). */
  extra?: Record<string, unknown>;
}

/** JSON type words for errors: "null", "an array", "a number" … */
export function jsonKind(x: unknown): string {
  return x === null ? 'null' : Array.isArray(x) ? 'an array' : `a ${typeof x}`;
}

export function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function isRecurrent(type: string): type is 'rnn' | 'gru' | 'lstm' {
  return type === 'rnn' || type === 'gru' || type === 'lstm';
}

/** The types built from a makemore ZooConfig (createModel's config for these is one). */
const ZOO_CONFIG_TYPES = new Set(['bigram', 'mlp', 'bow', 'transformer', 'wavenet']);

/** A vocabulary's fields: `field` is their object's name in errors (`modelTopology.`, or '' for vocab.json's own). */
export function checkVocabularyFields(where: string, field: string, itos: unknown, boundary: unknown): void {
  if (!Array.isArray(itos)) throw new Error(`${where}: ${field}itos is ${jsonKind(itos)}, not a list of characters`);
  const bad = itos.findIndex((ch: unknown) => typeof ch !== 'string' || [...ch].length !== 1);
  if (bad >= 0)
    throw new Error(`${where}: ${field}itos[${bad}] is ${JSON.stringify(itos[bad])?.slice(0, 40)}, not one character`);
  if (new Set(itos).size !== itos.length) throw new Error(`${where}: ${field}itos lists a character twice`);
  if (boundary !== null && typeof boundary !== 'string')
    throw new Error(`${where}: ${field}boundary is ${jsonKind(boundary)}, expected a character or null`);
}

/** A vocabulary a model is rebuilt with must have the config's size, and a boundary token at index 0. */
export function checkVocabulary(where: string, t: SavedTopology<unknown>, field = 'modelTopology.'): void {
  const size = (t.config as { vocabSize?: unknown }).vocabSize;
  if (typeof size === 'number' && t.itos.length !== size)
    throw new Error(`${where}: ${field}itos has ${t.itos.length} characters, but config.vocabSize is ${size}`);
  if (t.boundary !== null && t.itos[0] !== t.boundary)
    throw new Error(`${where}: ${field}boundary ${JSON.stringify(t.boundary)} is not itos[0]`);
}

/** A size read from a config: a whole number from `min` to 65,536 (far above anything trained here). */
function dim(where: string, field: string, v: unknown, min = 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 65_536)
    throw new Error(`${where}: ${field} is ${JSON.stringify(v)}, expected a whole number from ${min} to 65536`);
  return v;
}

/** The lecture models' values (their namedWeights()), from their configs, checked field by field. */
function lectureParamCount(where: string, type: string, c: Record<string, unknown>): number | null {
  const V = dim(where, 'config.vocabSize', c.vocabSize);
  const T = dim(where, 'config.blockSize', c.blockSize);
  if (type === 'bigram-net') return V * V;
  if (type === 'lecture-mlp') {
    const E = dim(where, 'config.nEmbd', c.nEmbd);
    const H = dim(where, 'config.nHidden', c.nHidden);
    return V * E + (T * E * H + H) + (H * V + V);
  }
  if (type !== 'sequential') return null;
  if (!Array.isArray(c.layers) || c.layers.length > 1000)
    throw new Error(`${where}: config.layers is not a list of at most 1000 layers`);
  let n = c.nEmbd === undefined ? 0 : V * dim(where, 'config.nEmbd', c.nEmbd);
  c.layers.forEach((l: unknown, i: number) => {
    const f = `config.layers[${i}]`;
    const x = (isObject(l) ? l : {}) as Record<string, unknown>;
    if (x.kind === 'Linear')
      n +=
        dim(where, `${f}.fanIn`, x.fanIn) * dim(where, `${f}.fanOut`, x.fanOut) + (x.bias ? (x.fanOut as number) : 0);
    else if (x.kind === 'BatchNorm1d')
      n += 4 * dim(where, `${f}.dim`, x.dim); // γ, β, running mean and variance
    else if (x.kind === 'Embedding')
      n += dim(where, `${f}.numEmbeddings`, x.numEmbeddings) * dim(where, `${f}.dim`, x.dim);
    else if (x.kind === 'FlattenConsecutive') dim(where, `${f}.n`, x.n);
    else if (x.kind !== 'Tanh') throw new Error(`${where}: ${f}.kind is ${JSON.stringify(x.kind)}, not a known layer`);
  });
  return n;
}

/**
 * A model type's config from a file, checked field by field (bounded sizes); returns the number of
 * values its weights hold, or null for a type that is not a model's (an optimizer state).
 */
export function configValues(where: string, type: string, config: unknown): number | null {
  if (isRecurrent(type)) {
    const c = checkRecurrentConfig(where, type, config);
    return recurrentParamCount(type, c.vocabSize, c.nEmbd, c.nHidden);
  }
  if (ZOO_CONFIG_TYPES.has(type)) return zooParamCount(type, checkZooConfig(where, type, config));
  if (type === 'gpt') return gptParamCount(checkGPTConfig(where, config));
  if (!isModelType(type)) return null;
  if (!isObject(config)) throw new Error(`${where}: config is ${jsonKind(config)}, not an object`);
  return lectureParamCount(where, type, config);
}

/**
 * Checks loaded weights against what a model expects (e.g. its namedWeights()): the same names and
 * shapes. `where` names the file in the error.
 */
export function checkWeights(
  where: string,
  got: Record<string, { shape: readonly number[] }>,
  want: Record<string, { shape: readonly number[] }>,
): void {
  const missing = Object.keys(want).filter((k) => !(k in got));
  const extra = Object.keys(got).filter((k) => !(k in want));
  const bad = Object.keys(want).filter(
    (k) =>
      k in got &&
      (got[k] as { shape: readonly number[] }).shape.join() !== (want[k] as { shape: readonly number[] }).shape.join(),
  );
  const problems = [
    ...(missing.length ? [`missing ${missing.map((k) => `'${k}'`).join(', ')}`] : []),
    ...(extra.length ? [`unexpected ${extra.map((k) => `'${k}'`).join(', ')}`] : []),
    ...bad.map(
      (k) =>
        `'${k}' has shape [${(got[k] as { shape: readonly number[] }).shape}], the model expects [${(want[k] as { shape: readonly number[] }).shape}]`,
    ),
  ];
  if (problems.length) throw new Error(`${where} does not match the model: ${problems.join('; ')}`);
}
