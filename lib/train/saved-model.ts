/**
 * Saving and loading models as files. tfjs-node's `file://` handler is not available without the
 * native backend, so this is a small tf.io.IOHandler of our own: `model.json` (topology — here our
 * model type, config and vocabulary — plus the weight manifest) and `weights.bin` (float32 values).
 * It works for tf.LayersModel.save/loadLayersModel too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { tf } from '../runtime/tf';
import { fsyncDir, writeFileDurable } from '../runtime/durable';
import { Vocab } from '../data/vocab';
import { TorchGenerator } from '../random/torch-generator';
import type { LanguageModel } from '../models/language-model';
import { createModel, isModelType, type ModelConfigs, type ModelType } from '../models/registry';
import { checkRecurrentConfig, checkZooConfig, recurrentParamCount, zooParamCount } from '../models/zoo/config';
import { checkGPTConfig, gptParamCount } from '../models/gpt-config';
import {
  DEFAULT_MAX_JSON_BYTES,
  formatBytes,
  MiB,
  readJsonFile,
  readRegularFile,
  resolveInside,
  statRegularFile,
} from '../data/read-checked';

/** Every weight file we write holds float32 values; anything else in a manifest is foreign or crafted. */
const BYTES_PER_VALUE = 4;
/** Bounds on a manifest, so that checking it is cheap whatever it claims. */
const MAX_WEIGHTS = 100_000;
const MAX_PATHS = 1_000;
const MAX_DIMS = 8;
/** A dimension or a weight's value count beyond this is an error (tfjs's typed arrays stop near 2^31). */
const MAX_VALUES = 2 ** 31 - 1;

/** weights.bin files larger than this (in total) are refused unless a caller raises the limit. */
const DEFAULT_MAX_WEIGHT_BYTES = 1024 * MiB;

/** Limits on what loading a saved model reads. */
export interface ReadLimits {
  /** The weight files' total size (default 1 GiB). */
  maxWeightBytes?: number;
  /** model.json's size (default 64 MiB). */
  maxJsonBytes?: number;
}

interface ModelJson {
  modelTopology: object;
  format?: string;
  userDefinedMetadata?: { [key: string]: object };
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  /** Written since checksums were added: the weights' SHA-256 (hex), checked on load. */
  weightsSha256?: string;
}

/** JSON type words for errors: "null", "an array", "a number" … */
function jsonKind(x: unknown): string {
  return x === null ? 'null' : Array.isArray(x) ? 'an array' : `a ${typeof x}`;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Checks one manifest entry (name, float32, shape of whole numbers) and returns its value count. */
function checkEntry(field: string, w: unknown, seen: Set<string>): number {
  if (!isObject(w)) throw new Error(`${field} is ${jsonKind(w)}, not a weight entry`);
  if (typeof w.name !== 'string' || w.name === '' || w.name.length > 1000)
    throw new Error(`${field}.name is ${JSON.stringify(w.name)?.slice(0, 80)}: a weight needs a name`);
  const named = `${field} ('${w.name}')`;
  if (seen.has(w.name)) throw new Error(`${named}: the weight name '${w.name}' appears twice in the manifest`);
  seen.add(w.name);
  if (w.dtype !== 'float32')
    throw new Error(`${named}.dtype is ${JSON.stringify(w.dtype)}: only float32 weights are read`);
  if (w.quantization !== undefined) throw new Error(`${named}.quantization: quantized weights are not read`);
  const shape = w.shape;
  if (!Array.isArray(shape) || shape.length > MAX_DIMS)
    throw new Error(`${named}.shape is ${JSON.stringify(shape)?.slice(0, 80)}: expected up to ${MAX_DIMS} dimensions`);
  let n = 1;
  for (const d of shape as unknown[]) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > MAX_VALUES)
      throw new Error(
        `${named}.shape [${shape.join(',')}]: ${JSON.stringify(d)} is not a whole number from 0 to ${MAX_VALUES}`,
      );
    n *= d;
  }
  if (n > MAX_VALUES) throw new Error(`${named}.shape [${shape.join(',')}] holds ${n} values, more than ${MAX_VALUES}`);
  return n;
}

/** model.json parsed and every field of its manifest checked; the weight files' paths resolved inside `dir`. */
function readModelJson(
  dir: string,
  jsonPath: string,
  limits: ReadLimits,
): { json: ModelJson; files: string[]; values: number } {
  const json = readJsonFile(jsonPath, {
    maxBytes: limits.maxJsonBytes ?? DEFAULT_MAX_JSON_BYTES,
    hint: ': the file is corrupt or truncated',
  });
  if (!isObject(json)) throw new Error(`${jsonPath} is ${jsonKind(json)}, not a JSON object: not a saved model`);
  if (!Array.isArray(json.weightsManifest)) throw new Error(`${jsonPath} has no weightsManifest: not a saved model`);
  if (!isObject(json.modelTopology))
    throw new Error(`${jsonPath}: modelTopology is ${jsonKind(json.modelTopology)}, not an object`);
  if (json.weightsSha256 !== undefined && !/^[0-9a-f]{64}$/.test(String(json.weightsSha256)))
    throw new Error(
      `${jsonPath}: weightsSha256 is ${JSON.stringify(json.weightsSha256)?.slice(0, 80)}, not a SHA-256 in hex`,
    );
  const files: string[] = [];
  const seen = new Set<string>();
  let values = 0;
  let entries = 0;
  json.weightsManifest.forEach((g: unknown, gi: number) => {
    const field = `${jsonPath}: weightsManifest[${gi}]`;
    if (!isObject(g) || !Array.isArray(g.paths) || !Array.isArray(g.weights))
      throw new Error(`${field} lacks paths or weights`);
    g.paths.forEach((p: unknown, pi: number) => {
      const f = resolveInside(dir, p, `${field}.paths[${pi}]`);
      if (files.includes(f)) throw new Error(`${field}.paths[${pi}] ${JSON.stringify(p)} is listed twice`);
      files.push(f);
    });
    entries += g.weights.length;
    if (files.length > MAX_PATHS || entries > MAX_WEIGHTS)
      throw new Error(`${jsonPath}: more than ${MAX_PATHS} files or ${MAX_WEIGHTS} weights in the manifest`);
    g.weights.forEach((w: unknown, wi: number) => {
      values += checkEntry(`${field}.weights[${wi}]`, w, seen);
    });
  });
  return { json: json as unknown as ModelJson, files, values };
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
 * Config against manifest, before any model is built from the config: the config's fields are bounded
 * and the values it implies must be the values the manifest lists (whose bytes weights.bin must hold).
 * So a model built from a checked config is never larger than its weight files. Other types (the
 * optimizer's state) are checked by their readers.
 */
function checkConfigAgainstManifest(jsonPath: string, t: Record<string, unknown>, values: number): void {
  const type = String(t.type);
  let implied: number | null = null;
  if (isRecurrent(type) && !isLegacyZooConfig(t)) {
    const c = checkRecurrentConfig(jsonPath, type, t.config);
    implied = recurrentParamCount(type, c.vocabSize, c.nEmbd, c.nHidden);
  } else if (ZOO_CONFIG_TYPES.has(type) || isRecurrent(type))
    implied = zooParamCount(type, checkZooConfig(jsonPath, type, t.config));
  else if (type === 'gpt') implied = gptParamCount(checkGPTConfig(jsonPath, t.config));
  else if (isModelType(type)) {
    if (!isObject(t.config)) throw new Error(`${jsonPath}: config is ${jsonKind(t.config)}, not an object`);
    implied = lectureParamCount(jsonPath, type, t.config);
  }
  if (implied !== null && implied !== values)
    throw new Error(
      `${jsonPath}: config ${JSON.stringify(t.config).slice(0, 200)} of a ${type} implies ${implied} weight values, but weightsManifest lists ${values}: the config or the manifest does not belong to this model`,
    );
}

/** The types built from a makemore ZooConfig (createModel's config for these is one). */
const ZOO_CONFIG_TYPES = new Set(['bigram', 'mlp', 'bow', 'transformer', 'wavenet']);

function isRecurrent(type: string): type is 'rnn' | 'gru' | 'lstm' {
  return type === 'rnn' || type === 'gru' || type === 'lstm';
}

/**
 * A model.json of the first form (sequentia: 1) whose recurrent model kept the makemore CLI's ZooConfig
 * (its hidden size as nEmbd2) instead of the config createModel takes. Loaded for one release.
 */
function isLegacyZooConfig(t: { sequentia?: unknown; type?: unknown; config?: unknown }): boolean {
  return t.sequentia === 1 && isRecurrent(String(t.type)) && isObject(t.config) && 'nEmbd2' in t.config;
}

/** Checks a Sequentia topology's fields (type, config, vocabulary). */
function checkTopology<C>(jsonPath: string, x: unknown): SavedTopology<C> {
  if (!isObject(x) || (x.sequentia !== 1 && x.sequentia !== SAVED_MODEL_VERSION))
    throw new Error(`${jsonPath} is not a Sequentia model`);
  // the first form's recurrent models may name their type only as the config's cell
  if (x.sequentia === 1 && x.type === undefined && isObject(x.config) && isRecurrent(String(x.config.cell)))
    x = { ...x, type: x.config.cell };
  if (!isObject(x) || typeof x.type !== 'string' || !Array.isArray(x.itos) || !isObject(x.config))
    throw new Error(`${jsonPath} lacks the model type, config or vocabulary`);
  const bad = x.itos.findIndex((ch: unknown) => typeof ch !== 'string' || [...ch].length !== 1);
  if (bad >= 0)
    throw new Error(
      `${jsonPath}: modelTopology.itos[${bad}] is ${JSON.stringify(x.itos[bad])?.slice(0, 40)}, not one character`,
    );
  if (new Set(x.itos).size !== x.itos.length)
    throw new Error(`${jsonPath}: modelTopology.itos lists a character twice`);
  if (x.boundary !== null && typeof x.boundary !== 'string')
    throw new Error(`${jsonPath}: modelTopology.boundary is ${jsonKind(x.boundary)}, expected a character or null`);
  if (x.extra !== undefined && !isObject(x.extra))
    throw new Error(`${jsonPath}: modelTopology.extra is ${jsonKind(x.extra)}, not an object`);
  return x as unknown as SavedTopology<C>;
}

/** A saved model whose JSON is checked and whose weight files are stat'd (kind, size), none of it read yet. */
interface Inspected {
  jsonPath: string;
  json: ModelJson;
  specs: tf.io.WeightsManifestEntry[];
  files: string[];
  sizes: number[];
  bytes: number;
}

/**
 * Everything about a saved model that can be checked without reading its weights: model.json (a
 * regular UTF-8 file, every manifest field), the config against the manifest, and the weight files'
 * kinds and sizes against the manifest. Cheap: run it before building anything.
 */
function inspect(dir: string, limits: ReadLimits): Inspected {
  const jsonPath = path.join(dir, 'model.json');
  if (!fs.existsSync(jsonPath)) throw new Error(`no saved model in ${dir} (model.json not found)`);
  const { json, files, values } = readModelJson(dir, jsonPath, limits);
  const topology = json.modelTopology as Record<string, unknown>;
  if (topology.sequentia === 1 || topology.sequentia === SAVED_MODEL_VERSION)
    checkConfigAgainstManifest(jsonPath, topology, values);
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const maxBytes = limits.maxWeightBytes ?? DEFAULT_MAX_WEIGHT_BYTES;
  const want = values * BYTES_PER_VALUE;
  if (want > maxBytes)
    throw new Error(
      `${jsonPath} lists ${specs.length} weights taking ${formatBytes(want)} (${want} bytes), more than the limit of ${formatBytes(maxBytes)}`,
    );
  const sizes = files.map((f) => statRegularFile(f, { maxBytes }));
  const bytes = sizes.reduce((a, b) => a + b, 0);
  if (bytes !== want) {
    const shown = files.length === 1 ? files[0] : files.join(' + ');
    throw new Error(
      `${shown} has ${bytes} bytes, but ${jsonPath} lists ${specs.length} weights taking ${want} bytes: the file is truncated, corrupt or from another save`,
    );
  }
  return { jsonPath, json, specs, files, sizes, bytes };
}

/** A tf.io.IOHandler for `dir` (see the module comment); loading checks everything before it reads weights. */
export function fileHandler(dir: string, limits: ReadLimits = {}): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      fs.mkdirSync(dir, { recursive: true });
      const weights = artifacts.weightData
        ? Buffer.from(tf.io.CompositeArrayBuffer.join(artifacts.weightData as ArrayBuffer | ArrayBuffer[]))
        : Buffer.alloc(0);
      const json: ModelJson & Record<string, unknown> = {
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        modelTopology: artifacts.modelTopology as object,
        userDefinedMetadata: artifacts.userDefinedMetadata,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
        weightsSha256: createHash('sha256').update(weights).digest('hex'),
      };
      // Write to temporary names (flushed), then rename: an interrupted save never leaves a half-written file.
      // model.json goes last, so it never describes weights that are not there yet.
      const tmpW = path.join(dir, `.weights.bin.${process.pid}`);
      const tmpJ = path.join(dir, `.model.json.${process.pid}`);
      writeFileDurable(tmpW, weights);
      writeFileDurable(tmpJ, JSON.stringify(json));
      fs.renameSync(tmpW, path.join(dir, 'weights.bin'));
      fs.renameSync(tmpJ, path.join(dir, 'model.json'));
      fsyncDir(dir);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const { jsonPath, json, specs, files, sizes } = inspect(dir, limits);
      // Sizes are known and checked; each file is read as exactly the size inspect() saw.
      const data = Buffer.concat(files.map((f, i) => readRegularFile(f, { maxBytes: sizes[i] as number })));
      const shown = files.length === 1 ? files[0] : files.join(' + ');
      if (
        typeof json.weightsSha256 === 'string' &&
        createHash('sha256').update(data).digest('hex') !== json.weightsSha256
      ) {
        throw new Error(`${shown} is corrupt: its SHA-256 does not match the one recorded in ${jsonPath}`);
      }
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        userDefinedMetadata: json.userDefinedMetadata,
        weightSpecs: specs,
        weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
      };
    },
  };
}

/**
 * The form model.json is written in: 2 records the model's type and the very config
 * `createModel(type, config, rng)` takes. 1 (older) may hold a makemore ZooConfig for rnn/gru/lstm.
 */
export const SAVED_MODEL_VERSION = 2;

/** What a saved Sequentia model holds besides its weights. */
export interface SavedTopology<C> {
  sequentia: 1 | 2;
  /** The registry's type (a model's); the optimizer's state in a checkpoint is 'adam-state'. */
  type: string;
  config: C;
  /** The vocabulary, index order (itos), and whether index 0 is a boundary token. */
  itos: string[];
  boundary: string | null;
  /** Anything else worth keeping (training step, best loss …). */
  extra?: Record<string, unknown>;
}

/** Saves named weights and a topology through `fileHandler(dir)`. */
export async function saveWeights<C>(
  dir: string,
  topology: SavedTopology<C>,
  weights: Record<string, tf.Tensor>,
): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(weights);
  await (fileHandler(dir).save as NonNullable<tf.io.IOHandler['save']>)({
    modelTopology: topology as unknown as object,
    format: 'sequentia',
    weightSpecs: specs,
    weightData: data,
  });
}

/**
 * Checks loaded weights against what a model expects (e.g. its namedWeights()): the same names and
 * shapes. `where` names the file in the error.
 */
function checkWeights(
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

/**
 * Loads what `saveWeights` wrote. The caller disposes the returned tensors. With `expect` (e.g. a
 * model's namedWeights()), names and shapes are checked first and a mismatch is an error naming the file.
 * Nothing is decoded before model.json, the config, the manifest and the files' sizes agree (inspect()).
 */
export async function loadWeights<C>(
  dir: string,
  opts: { expect?: Record<string, { shape: readonly number[] }> } & ReadLimits = {},
): Promise<{ topology: SavedTopology<C>; weights: Record<string, tf.Tensor> }> {
  const jsonPath = path.join(dir, 'model.json');
  const a = await (fileHandler(dir, opts).load as NonNullable<tf.io.IOHandler['load']>)();
  const topology = checkTopology<C>(jsonPath, a.modelTopology);
  if (opts.expect) {
    const specs = Object.fromEntries((a.weightSpecs ?? []).map((w) => [w.name, w]));
    checkWeights(path.join(dir, 'weights.bin'), specs, opts.expect);
  }
  const weights = tf.io.decodeWeights(a.weightData as ArrayBuffer, a.weightSpecs ?? []);
  return { topology, weights };
}

/**
 * Reads the topology of a saved model (model.json), checked with its manifest, its config against the
 * manifest, and the weight files' kinds and sizes, without reading the weights.
 */
export function readSavedTopology<C>(dir: string, limits: ReadLimits = {}): SavedTopology<C> {
  return readSavedModelInfo<C>(dir, limits).topology;
}

/**
 * readSavedTopology and the checked manifest (names, shapes), for checking another part of a checkpoint
 * against it (the optimizer's moments).
 */
export function readSavedModelInfo<C>(
  dir: string,
  limits: ReadLimits = {},
): { topology: SavedTopology<C>; specs: tf.io.WeightsManifestEntry[] } {
  const i = inspect(dir, limits);
  return { topology: checkTopology<C>(i.jsonPath, i.json.modelTopology), specs: i.specs };
}

/** A vocabulary a model is rebuilt with must have the config's size. */
export function checkVocabulary(jsonPath: string, t: SavedTopology<unknown>): void {
  const size = (t.config as { vocabSize?: unknown }).vocabSize;
  if (typeof size === 'number' && t.itos.length !== size)
    throw new Error(`${jsonPath}: modelTopology.itos has ${t.itos.length} characters, but config.vocabSize is ${size}`);
  if (t.boundary !== null && t.itos[0] !== t.boundary)
    throw new Error(`${jsonPath}: modelTopology.boundary ${JSON.stringify(t.boundary)} is not itos[0]`);
}

/** A model's topology as model.json records it: its type and createModel's config, and the vocabulary. */
export function modelTopology(
  model: LanguageModel,
  vocab: Vocab,
  extra?: Record<string, unknown>,
): SavedTopology<ModelConfigs[ModelType]> {
  return {
    sequentia: SAVED_MODEL_VERSION,
    type: model.type,
    config: model.config,
    itos: [...vocab.itos],
    boundary: vocab.boundary,
    ...(extra ? { extra } : {}),
  };
}

/** Saves `model` with its type, config and vocabulary, so `loadModel(dir)` can rebuild it anywhere. */
export async function saveModel(
  dir: string,
  model: LanguageModel,
  vocab: Vocab,
  extra?: Record<string, unknown>,
): Promise<void> {
  await saveWeights(dir, modelTopology(model, vocab, extra), model.namedWeights());
}

/**
 * createModel's config for a topology: the recorded one; for the first form's recurrent models that
 * kept a makemore ZooConfig, the same model's RecurrentConfig, with a note on re-saving.
 */
function configOf(where: string, type: ModelType, t: SavedTopology<object>): ModelConfigs[ModelType] {
  const c = t.config as Record<string, unknown>;
  if (!isLegacyZooConfig(t)) return t.config as ModelConfigs[ModelType];
  console.warn(
    `note: ${where} is an older saved model (its ${type} keeps the makemore CLI's settings); it loads until the next release. Re-save it: \`const m = await loadModel(dir); await saveModel(dir, m.model, m.vocab, m.extra)\`, or for a makemore checkpoint run --resume once (its next save writes the current form)`,
  );
  return {
    cell: type,
    vocabSize: c.vocabSize,
    blockSize: c.blockSize,
    nEmbd: c.nEmbd,
    nHidden: c.nEmbd2,
  } as ModelConfigs[ModelType];
}

/**
 * Any saved Sequentia model — a notebook's (saveModel), or a CLI checkpoint's `…/latest/model` or
 * `…/best/model` — rebuilt with createModel from its recorded type and config, its weights loaded
 * (names and shapes checked).
 */
export async function loadModel(
  dir: string,
  limits: ReadLimits = {},
): Promise<{ model: LanguageModel; vocab: Vocab; extra: Record<string, unknown> }> {
  // everything checked (config against manifest against file sizes) before the model is built
  const t = readSavedTopology<object>(dir, limits);
  const where = path.join(dir, 'model.json');
  if (!isModelType(t.type)) throw new Error(`${where}: unknown model type '${t.type}'`);
  checkVocabulary(where, t);
  const model = createModel(t.type, configOf(where, t.type, t), new TorchGenerator(0));
  try {
    const { weights } = await loadWeights(dir, { ...limits, expect: model.namedWeights() });
    model.loadWeights(weights);
    tf.dispose(Object.values(weights));
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, vocab: new Vocab(t.itos, t.boundary), extra: t.extra ?? {} };
}
