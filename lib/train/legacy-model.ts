/**
 * Saved models of the older form, read for one release: `model.json` (topology — model type, config and
 * vocabulary — plus a tfjs weight manifest) and `weights.bin` (float32 values, our own weight names).
 * Every field is checked before anything is built (docs/faults.md); saved-model.ts says how to convert.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { tf } from '../runtime/tf';
import type { ModelConfigs, ModelType } from '../models/registry';
import { checkZooConfig, zooParamCount } from '../models/zoo/config';
import {
  DEFAULT_MAX_JSON_BYTES,
  formatBytes,
  readJsonFile,
  readRegularFile,
  resolveInside,
  statRegularFile,
} from '../data/read-checked';
import {
  checkVocabularyFields,
  configValues,
  DEFAULT_MAX_WEIGHT_BYTES,
  isObject,
  isRecurrent,
  jsonKind,
  type ReadLimits,
  type SavedTopology,
} from './saved-checks';

/** Every weight file we write holds float32 values; anything else in a manifest is foreign or crafted. */
const BYTES_PER_VALUE = 4;
/** Bounds on a manifest, so that checking it is cheap whatever it claims. */
const MAX_WEIGHTS = 100_000;
const MAX_PATHS = 1_000;
const MAX_DIMS = 8;
/** A dimension or a weight's value count beyond this is an error (tfjs's typed arrays stop near 2^31). */
const MAX_VALUES = 2 ** 31 - 1;

interface ModelJson {
  modelTopology: object;
  format?: string;
  userDefinedMetadata?: { [key: string]: object };
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  /** Written since checksums were added: the weights' SHA-256 (hex), checked on load. */
  weightsSha256?: string;
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

/**
 * Config against manifest, before any model is built from the config: the config's fields are bounded
 * and the values it implies must be the values the manifest lists (whose bytes weights.bin must hold).
 * So a model built from a checked config is never larger than its weight files. Other types (the
 * optimizer's state) are checked by their readers.
 */
function checkConfigAgainstManifest(jsonPath: string, t: Record<string, unknown>, values: number): void {
  const type = String(t.type);
  const implied = isLegacyZooConfig(t)
    ? zooParamCount(type, checkZooConfig(jsonPath, type, t.config))
    : configValues(jsonPath, type, t.config);
  if (implied !== null && implied !== values)
    throw new Error(
      `${jsonPath}: config ${JSON.stringify(t.config).slice(0, 200)} of a ${type} implies ${implied} weight values, but weightsManifest lists ${values}: the config or the manifest does not belong to this model`,
    );
}

/**
 * A model.json of the first form (sequentia: 1) whose recurrent model kept the makemore CLI's ZooConfig
 * (its hidden size as nEmbd2) instead of the config createModel takes. Loaded for one release.
 */
function isLegacyZooConfig(t: { sequentia?: unknown; type?: unknown; config?: unknown }): boolean {
  return t.sequentia === 1 && isRecurrent(String(t.type)) && isObject(t.config) && 'nEmbd2' in t.config;
}

/** Checks a Sequentia topology's fields (type, config, vocabulary). */
function checkLegacyTopology<C>(jsonPath: string, x: unknown): SavedTopology<C> {
  if (!isObject(x) || (x.sequentia !== 1 && x.sequentia !== 2)) throw new Error(`${jsonPath} is not a Sequentia model`);
  // the first form's recurrent models may name their type only as the config's cell
  if (x.sequentia === 1 && x.type === undefined && isObject(x.config) && isRecurrent(String(x.config.cell)))
    x = { ...x, type: x.config.cell };
  if (!isObject(x) || typeof x.type !== 'string' || !Array.isArray(x.itos) || !isObject(x.config))
    throw new Error(`${jsonPath} lacks the model type, config or vocabulary`);
  checkVocabularyFields(jsonPath, 'modelTopology.', x.itos, x.boundary);
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
  if (topology.sequentia === 1 || topology.sequentia === 2) checkConfigAgainstManifest(jsonPath, topology, values);
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

/**
 * The weights of a saved model of the older form: every check of inspect() first, then each file read as
 * exactly the size inspect() saw, its SHA-256 compared with the recorded one.
 */
export function loadLegacyWeights(
  dir: string,
  limits: ReadLimits = {},
): { topology: Record<string, unknown>; specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer } {
  const { jsonPath, json, specs, files, sizes } = inspect(dir, limits);
  const data = Buffer.concat(files.map((f, i) => readRegularFile(f, { maxBytes: sizes[i] as number })));
  const shown = files.length === 1 ? files[0] : files.join(' + ');
  if (typeof json.weightsSha256 === 'string' && createHash('sha256').update(data).digest('hex') !== json.weightsSha256)
    throw new Error(`${shown} is corrupt: its SHA-256 does not match the one recorded in ${jsonPath}`);
  return {
    topology: json.modelTopology as Record<string, unknown>,
    specs,
    data: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
  };
}

/**
 * createModel's config for a topology: the recorded one; for the first form's recurrent models that
 * kept a makemore ZooConfig, the same model's RecurrentConfig, with a note on re-saving.
 */
export function legacyConfig(where: string, type: ModelType, t: SavedTopology<object>): ModelConfigs[ModelType] {
  const c = t.config as Record<string, unknown>;
  if (!isLegacyZooConfig(t)) return t.config as ModelConfigs[ModelType];
  console.warn(
    `note: ${where} is an older saved model (its ${type} keeps the makemore CLI's settings); it loads until the next release. Convert it: \`npm run makemore -- convert --model ${path.dirname(where)}\``,
  );
  return {
    cell: type,
    vocabSize: c.vocabSize,
    blockSize: c.blockSize,
    nEmbd: c.nEmbd,
    nHidden: c.nEmbd2,
  } as ModelConfigs[ModelType];
}

/** readLegacyInfo: the checked topology and manifest (names, shapes), no weight read. */
export function readLegacyInfo<C>(
  dir: string,
  limits: ReadLimits = {},
): { topology: SavedTopology<C>; specs: tf.io.WeightsManifestEntry[] } {
  const i = inspect(dir, limits);
  return { topology: checkLegacyTopology<C>(i.jsonPath, i.json.modelTopology), specs: i.specs };
}
