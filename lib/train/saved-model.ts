/**
 * Saving and loading models as files a PyTorch user can read too. A saved model is a folder:
 *
 *   model.safetensors  the weights under the PyTorch twin's state_dict names and layouts (makemore.py's
 *                      for the zoo, the lecture's tensor names; lib/models/torch-names.ts), so that
 *                      `model.load_state_dict(load_file('model.safetensors'))` works; its __metadata__:
 *                      format 'pt', model_type, and `sequentia` (createModel's config and extras, JSON)
 *   config.json        model_type and the PyTorch config: `ModelConfig(**fields)` for makemore's types
 *   vocab.json         the vocabulary: itos (index → character) and the boundary token at index 0
 *
 * A folder PyTorch wrote (any tensor order; F16/BF16 widened with a note) loads the same way; without
 * the `sequentia` metadata, createModel's config comes from config.json. Every name and shape is checked
 * against the config before any model is built, and no weight is read before the header, the config
 * and the vocabulary agree. Folders of the older form (model.json + weights.bin) still load, for one
 * release, with a note saying how to convert (legacy-model.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { createHash } from 'node:crypto';
import { tf } from '../runtime/tf';
import { fsyncDir, writeFileDurable } from '../runtime/durable';
import { Vocab } from '../data/vocab';
import { TorchGenerator } from '../random/torch-generator';
import type { LanguageModel } from '../models/language-model';
import {
  configFromTorch,
  createModel,
  isModelType,
  stateDictLayout,
  torchConfig,
  type ModelConfigs,
  type ModelType,
} from '../models/registry';
import type { HostTensor, StateDictLayout } from '../models/torch-names';
import {
  decodeTensor,
  encodeSafetensors,
  MAX_HEADER_BYTES,
  parseSafetensorsHeader,
  type SafetensorsHeader,
} from '../data/safetensors';
import { readJsonFile, readRegularFile, statRegularFile } from '../data/read-checked';
import {
  checkVocabulary,
  checkVocabularyFields,
  checkWeights,
  configValues,
  DEFAULT_MAX_WEIGHT_BYTES,
  isObject,
  jsonKind,
  type ReadLimits,
  type SavedTopology,
} from './saved-checks';
import { legacyConfig, loadLegacyWeights, readLegacyInfo } from './legacy-model';

export type { ReadLimits, SavedTopology };

/**
 * The form a model is saved in: 3 is model.safetensors + config.json + vocab.json; 2 and 1 (older,
 * loaded for one release) are model.json + weights.bin — 2 records createModel's config, 1 may hold a
 * makemore ZooConfig for rnn/gru/lstm.
 */
export const SAVED_MODEL_VERSION = 3;

/** The files of a saved model, by role. */
const SAVED_FILES = { weights: 'model.safetensors', config: 'config.json', vocab: 'vocab.json' } as const;
/** The older form's files (removed when a folder is saved in the current form). */
const LEGACY_FILES = ['model.json', 'weights.bin'];

/** A folder of the older form: model.json without model.safetensors. */
export function isLegacySave(dir: string): boolean {
  return !fs.existsSync(path.join(dir, SAVED_FILES.weights)) && fs.existsSync(path.join(dir, 'model.json'));
}

const noted = new Set<string>();
function legacyNote(dir: string): void {
  if (noted.has(dir)) return;
  noted.add(dir);
  console.warn(
    `note: ${dir} holds a model of the older form (model.json + weights.bin); it loads until the next release. Convert it to model.safetensors: \`npm run makemore -- convert --model ${dir}\` (or --work-dir for a makemore run's checkpoints)`,
  );
}

/** Our weights on the host. */
function hostWeights(weights: Record<string, tf.Tensor>): Record<string, HostTensor> {
  return Object.fromEntries(
    Object.entries(weights).map(([k, t]) => [k, { shape: [...t.shape], data: t.dataSync() as Float32Array }]),
  );
}

/** A model type's layout for a checked config; null for what is not a model (an optimizer state). */
function layoutOf(type: string, config: unknown): StateDictLayout | null {
  return isModelType(type) ? stateDictLayout(type, config as ModelConfigs[ModelType]) : null;
}

/**
 * A safetensors file whose metadata records its data's SHA-256 (`sequentia_sha256`), so that a file
 * damaged in its data (which the format cannot tell) is an error; PyTorch's files have none and are not checked.
 */
export function encodeChecked(tensors: Record<string, HostTensor>, metadata: Record<string, string>): Uint8Array {
  const plain = encodeSafetensors(tensors, { ...metadata, sequentia_sha256: '0'.repeat(64) });
  const dataStart = 8 + Number(new DataView(plain.buffer, plain.byteOffset).getBigUint64(0, true));
  const sha = createHash('sha256').update(plain.subarray(dataStart)).digest('hex');
  return encodeSafetensors(tensors, { ...metadata, sequentia_sha256: sha });
}

/** The data of a file read whole against its recorded SHA-256, if it has one. */
export function checkSha256(file: string, bytes: Uint8Array, h: SafetensorsHeader): void {
  const want = h.metadata.sequentia_sha256;
  if (want !== undefined && createHash('sha256').update(bytes.subarray(h.dataStart)).digest('hex') !== want)
    throw new Error(`${file} is corrupt: its SHA-256 does not match the one recorded in its metadata`);
}

/** Writes `data` to `dir/name` through a flushed temporary file and a rename. */
function writeAtomic(dir: string, name: string, data: string | Uint8Array): void {
  const tmp = path.join(dir, `.${name}.${process.pid}`);
  writeFileDurable(tmp, data);
  fs.renameSync(tmp, path.join(dir, name));
}

/** Saves named weights (namedWeights() names) and a topology as model.safetensors, config.json and vocab.json. */
export async function saveWeights<C>(
  dir: string,
  topology: SavedTopology<C>,
  weights: Record<string, tf.Tensor>,
): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const ours = hostWeights(weights);
  const layout = layoutOf(topology.type, topology.config);
  const torch = layout ? layout.toTorch(ours) : ours;
  const sequentia = {
    sequentia: SAVED_MODEL_VERSION,
    type: topology.type,
    config: topology.config,
    extra: topology.extra,
  };
  const bytes = encodeChecked(torch, {
    format: 'pt',
    model_type: topology.type,
    sequentia: JSON.stringify(sequentia),
  });
  const config = isModelType(topology.type)
    ? torchConfig(topology.type, topology.config as ModelConfigs[ModelType])
    : topology.config;
  // each file whole or not at all; config.json last, so it never describes weights that are not there yet
  writeAtomic(dir, SAVED_FILES.weights, bytes);
  writeAtomic(dir, SAVED_FILES.vocab, JSON.stringify({ itos: topology.itos, boundary: topology.boundary }) + '\n');
  writeAtomic(dir, SAVED_FILES.config, JSON.stringify({ model_type: topology.type, ...config }, null, 2) + '\n');
  for (const f of LEGACY_FILES) fs.rmSync(path.join(dir, f), { force: true });
  fsyncDir(dir);
}

/** The first 8 + N bytes of a safetensors file of `size` bytes (its header), read without the data. */
export function readHeaderBytes(file: string, size: number): Uint8Array {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const len = Buffer.alloc(8);
    const n = size < 8 ? 0 : fs.readSync(fd, len, 0, 8, 0);
    if (n < 8) return len.subarray(0, n);
    const want = len.readBigUInt64LE(0);
    if (want > BigInt(Math.min(MAX_HEADER_BYTES, size - 8))) return len; // parse names the problem
    const head = Buffer.alloc(8 + Number(want));
    len.copy(head);
    let off = 8;
    while (off < head.length) {
      const r = fs.readSync(fd, head, off, head.length - off, off);
      if (r === 0) break;
      off += r;
    }
    return head.subarray(0, off);
  } finally {
    fs.closeSync(fd);
  }
}

/** A saved folder checked without reading its weights: topology, header, and the header against the config. */
interface Inspected {
  topology: SavedTopology<unknown>;
  file: string;
  configPath: string;
  header: SafetensorsHeader;
  layout: StateDictLayout | null;
}

/** The `sequentia` metadata: our topology's config and extras, if the file has it (PyTorch's files do not). */
function sequentiaMetadata(file: string, h: SafetensorsHeader, type: string): Record<string, unknown> | null {
  const raw = h.metadata.sequentia;
  if (raw === undefined) return null;
  let m: unknown;
  try {
    m = JSON.parse(raw);
  } catch {
    throw new Error(`${file}: __metadata__.sequentia is not valid JSON`);
  }
  if (!isObject(m) || m.sequentia !== SAVED_MODEL_VERSION)
    throw new Error(`${file}: __metadata__.sequentia is not a Sequentia topology of form ${SAVED_MODEL_VERSION}`);
  if (m.type !== type)
    throw new Error(`${file}: __metadata__.sequentia is a ${JSON.stringify(m.type)}, but model_type is '${type}'`);
  if (m.extra !== undefined && !isObject(m.extra))
    throw new Error(`${file}: __metadata__.sequentia.extra is ${jsonKind(m.extra)}, not an object`);
  return m;
}

/** The header's tensors against the layout the config implies: every parameter, shapes exact, nothing else. */
function checkHeader(file: string, configPath: string, type: string, h: SafetensorsHeader, l: StateDictLayout): void {
  const got = new Map(h.entries.map((e) => [e.name, e]));
  const want = new Map(l.tensors.map((t) => [t.name, t]));
  const missing = l.tensors.filter((t) => !t.buffer && !got.has(t.name)).map((t) => `'${t.name}'`);
  const extra = h.entries.filter((e) => !want.has(e.name)).map((e) => `'${e.name.slice(0, 100)}'`);
  const shapes = h.entries
    .filter((e) => want.has(e.name) && e.shape.join() !== want.get(e.name)!.shape.join())
    .map((e) => `'${e.name}' has shape [${e.shape}], config.json implies [${want.get(e.name)!.shape}]`);
  const problems = [
    ...(missing.length ? [`missing ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ' …' : ''}`] : []),
    ...(extra.length ? [`unexpected ${extra.slice(0, 8).join(', ')}${extra.length > 8 ? ' …' : ''}`] : []),
    ...shapes.slice(0, 8),
  ];
  if (problems.length) throw new Error(`${file} does not hold the ${type} of ${configPath}: ${problems.join('; ')}`);
}

/**
 * Everything about a saved folder that can be checked without reading its weights: config.json,
 * vocab.json, the safetensors header (bounded, tiling its data), the metadata against config.json, the
 * config's bounds, and the header's names and shapes against the config. Cheap: run it before building.
 */
function inspect(dir: string, limits: ReadLimits): Inspected {
  const file = path.join(dir, SAVED_FILES.weights);
  const configPath = path.join(dir, SAVED_FILES.config);
  const vocabPath = path.join(dir, SAVED_FILES.vocab);
  for (const f of [file, configPath, vocabPath])
    if (!fs.existsSync(f)) throw new Error(`no saved model in ${dir} (${path.basename(f)} not found)`);
  const cfg = readJsonFile(configPath, { maxBytes: limits.maxJsonBytes, hint: ': the file is corrupt or truncated' });
  if (!isObject(cfg)) throw new Error(`${configPath} is ${jsonKind(cfg)}, not a JSON object`);
  const { model_type: type, ...fields } = cfg;
  if (typeof type !== 'string' || type === '')
    throw new Error(`${configPath}: model_type is ${JSON.stringify(type)?.slice(0, 80)}, expected a model type`);
  const voc = readJsonFile(vocabPath, { maxBytes: limits.maxJsonBytes, hint: ': the file is corrupt or truncated' });
  if (!isObject(voc)) throw new Error(`${vocabPath} is ${jsonKind(voc)}, not a JSON object`);
  checkVocabularyFields(vocabPath, '', voc.itos, voc.boundary);
  const size = statRegularFile(file, { maxBytes: limits.maxWeightBytes ?? DEFAULT_MAX_WEIGHT_BYTES });
  const header = parseSafetensorsHeader(file, readHeaderBytes(file, size), size);
  const meta = sequentiaMetadata(file, header, type);
  const config = meta ? meta.config : isModelType(type) ? configFromTorch(type, fields) : fields;
  configValues(configPath, type, config); // bounds every size the layout will use
  if (meta && isModelType(type)) {
    const implied = torchConfig(type, config as ModelConfigs[ModelType]);
    if (!isDeepStrictEqual({ ...implied }, fields))
      throw new Error(
        `${configPath} ${JSON.stringify(fields).slice(0, 200)} disagrees with the config in ${file}'s metadata, which implies ${JSON.stringify(implied).slice(0, 200)}`,
      );
  }
  const topology: SavedTopology<unknown> = {
    sequentia: SAVED_MODEL_VERSION,
    type,
    config,
    itos: voc.itos as string[],
    boundary: voc.boundary as string | null,
    ...(meta?.extra ? { extra: meta.extra as Record<string, unknown> } : {}),
  };
  const layout = layoutOf(type, config);
  if (layout) checkHeader(file, configPath, type, header, layout);
  return { topology, file, configPath, header, layout };
}

/**
 * Loads what `saveWeights` (or PyTorch) wrote, as our weights (namedWeights() names); the caller disposes
 * them. With `expect` (a model's namedWeights()) names and shapes are checked first. Nothing is decoded
 * before inspect()'s checks pass.
 */
export async function loadWeights<C>(
  dir: string,
  opts: { expect?: Record<string, { shape: readonly number[] }> } & ReadLimits = {},
): Promise<{ topology: SavedTopology<C>; weights: Record<string, tf.Tensor> }> {
  if (isLegacySave(dir)) {
    legacyNote(dir);
    const { topology, specs } = readLegacyInfo<C>(dir, opts);
    if (opts.expect)
      checkWeights(path.join(dir, 'weights.bin'), Object.fromEntries(specs.map((w) => [w.name, w])), opts.expect);
    const { data } = loadLegacyWeights(dir, opts);
    return { topology, weights: tf.io.decodeWeights(data, specs) };
  }
  const i = inspect(dir, opts);
  const bytes = readRegularFile(i.file, { maxBytes: i.header.size });
  const header = parseSafetensorsHeader(i.file, bytes, bytes.length); // the file as read, not as inspected
  checkSha256(i.file, bytes, header);
  const wanted = i.layout ? new Set(i.layout.tensors.filter((t) => !t.buffer).map((t) => t.name)) : null;
  const torch: Record<string, HostTensor> = {};
  for (const e of header.entries)
    if (!wanted || wanted.has(e.name)) torch[e.name] = decodeTensor(i.file, bytes, e, (n) => console.warn(n));
  if (i.layout) checkHeader(i.file, i.configPath, i.topology.type, header, i.layout);
  const ours = i.layout ? i.layout.fromTorch(torch) : torch;
  if (opts.expect) checkWeights(i.file, ours, opts.expect);
  const weights = Object.fromEntries(Object.entries(ours).map(([k, t]) => [k, tf.tensor(t.data, t.shape)]));
  return { topology: i.topology as SavedTopology<C>, weights };
}

/**
 * The topology of a saved model (checked with its header, or older manifest, and files, no weight read)
 * and our weights' names and shapes (namedWeights()), for checking another part of a checkpoint against
 * them (the optimizer's moments).
 */
export function readSavedModelInfo<C>(
  dir: string,
  limits: ReadLimits = {},
): { topology: SavedTopology<C>; specs: { name: string; shape: number[] }[] } {
  if (isLegacySave(dir)) {
    legacyNote(dir);
    return readLegacyInfo<C>(dir, limits);
  }
  const i = inspect(dir, limits);
  const specs = i.layout ? i.layout.ours : i.header.entries.map((e) => ({ name: e.name, shape: e.shape }));
  return { topology: i.topology as SavedTopology<C>, specs };
}

/** The file whose contents a topology was read from (config.json, or the older model.json), for errors. */
export function topologyFile(dir: string): string {
  return path.join(dir, isLegacySave(dir) ? 'model.json' : SAVED_FILES.config);
}

/** The vocabulary against the config (vocab.json's, or the older model.json's). */
export function checkSavedVocabulary(dir: string, t: SavedTopology<unknown>): void {
  if (t.sequentia === SAVED_MODEL_VERSION) checkVocabulary(path.join(dir, SAVED_FILES.vocab), t, '');
  else checkVocabulary(path.join(dir, 'model.json'), t);
}

/** A model's topology as a save records it: its type and createModel's config, and the vocabulary. */
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

/** Saves `model` with its type, config and vocabulary, so `loadModel(dir)` (or PyTorch) can rebuild it. */
export async function saveModel(
  dir: string,
  model: LanguageModel,
  vocab: Vocab,
  extra?: Record<string, unknown>,
): Promise<void> {
  await saveWeights(dir, modelTopology(model, vocab, extra), model.namedWeights());
}

/** createModel's config for a topology (an older save's recurrent models may keep a makemore ZooConfig). */
export function modelConfig(dir: string, t: SavedTopology<object>): ModelConfigs[ModelType] {
  const where = topologyFile(dir);
  if (!isModelType(t.type)) throw new Error(`${where}: unknown model type '${t.type}'`);
  return t.sequentia === SAVED_MODEL_VERSION ? (t.config as ModelConfigs[ModelType]) : legacyConfig(where, t.type, t);
}

/**
 * Any saved Sequentia model — a notebook's (saveModel), a CLI checkpoint's `…/latest/model` or
 * `…/best/model`, or a folder a PyTorch user wrote — rebuilt with createModel from its type and config,
 * its weights loaded (names and shapes checked).
 */
export async function loadModel(
  dir: string,
  limits: ReadLimits = {},
): Promise<{ model: LanguageModel; vocab: Vocab; extra: Record<string, unknown> }> {
  // everything checked (config against header against file sizes) before the model is built
  const t = readSavedModelInfo<object>(dir, limits).topology;
  checkSavedVocabulary(dir, t);
  const model = createModel(t.type as ModelType, modelConfig(dir, t), new TorchGenerator(0));
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
