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
import { createModel, isModelType, zooModel, type ModelConfigs } from '../models/registry';
import type { ZooConfig } from '../models/zoo/config';

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** Bytes a manifest entry occupies in weights.bin. */
function specBytes(w: tf.io.WeightsManifestEntry): number {
  const per = DTYPE_BYTES[w.quantization?.dtype ?? w.dtype];
  if (per === undefined) throw new Error(`weight '${w.name}' has an unsupported dtype '${w.dtype}'`);
  return w.shape.reduce((a, b) => a * b, 1) * per;
}

interface ModelJson {
  modelTopology: object;
  format?: string;
  userDefinedMetadata?: { [key: string]: object };
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  /** Written since checksums were added: the weights' SHA-256 (hex), checked on load. */
  weightsSha256?: string;
}

/** Reads and checks model.json: valid JSON with a weight manifest whose entries have names and shapes. */
function readModelJson(jsonPath: string): ModelJson {
  let text: string;
  try {
    text = fs.readFileSync(jsonPath, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${jsonPath}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${jsonPath} is not valid JSON (${(e as Error).message}): the file is corrupt or truncated`);
  }
  const j = json as Partial<ModelJson> | null;
  if (!j || typeof j !== 'object' || !Array.isArray(j.weightsManifest))
    throw new Error(`${jsonPath} has no weightsManifest: not a saved model`);
  for (const g of j.weightsManifest) {
    if (!g || !Array.isArray(g.paths) || !Array.isArray(g.weights))
      throw new Error(`${jsonPath}: a weightsManifest group lacks paths or weights`);
    for (const w of g.weights) {
      if (
        !w ||
        typeof w.name !== 'string' ||
        !Array.isArray(w.shape) ||
        !w.shape.every((d) => Number.isInteger(d) && d >= 0)
      ) {
        throw new Error(`${jsonPath}: weight entry ${JSON.stringify(w).slice(0, 80)} lacks a name or a valid shape`);
      }
    }
  }
  return j as ModelJson;
}

export function fileHandler(dir: string): tf.io.IOHandler {
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
      const jsonPath = path.join(dir, 'model.json');
      if (!fs.existsSync(jsonPath)) throw new Error(`no saved model in ${dir} (model.json not found)`);
      const json = readModelJson(jsonPath);
      const specs = json.weightsManifest.flatMap((g) => g.weights);
      const files = json.weightsManifest.flatMap((g) => g.paths.map((p) => path.join(dir, p)));
      const buffers = files.map((f) => {
        if (!fs.existsSync(f)) throw new Error(`${f} is missing (listed in ${jsonPath})`);
        return fs.readFileSync(f);
      });
      const data = Buffer.concat(buffers);
      // Check sizes and checksum before decoding: a truncated or overwritten file must not load as garbage weights.
      const want = specs.reduce((n, w) => n + specBytes(w), 0);
      const shown = files.length === 1 ? files[0] : files.join(' + ');
      if (data.byteLength !== want) {
        throw new Error(
          `${shown} has ${data.byteLength} bytes, but ${jsonPath} lists ${specs.length} weights taking ${want} bytes: the file is truncated, corrupt or from another save`,
        );
      }
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

/** What a saved Sequentia model holds besides its weights. */
export interface SavedTopology<C> {
  sequentia: 1;
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
 */
export async function loadWeights<C>(
  dir: string,
  opts: { expect?: Record<string, { shape: readonly number[] }> } = {},
): Promise<{ topology: SavedTopology<C>; weights: Record<string, tf.Tensor> }> {
  const a = await (fileHandler(dir).load as NonNullable<tf.io.IOHandler['load']>)();
  const topology = a.modelTopology as unknown as SavedTopology<C>;
  const jsonPath = path.join(dir, 'model.json');
  if (!topology || topology.sequentia !== 1) throw new Error(`${jsonPath} is not a Sequentia model`);
  if (
    typeof topology.type !== 'string' ||
    !Array.isArray(topology.itos) ||
    typeof topology.config !== 'object' ||
    topology.config === null
  ) {
    throw new Error(`${jsonPath} lacks the model type, config or vocabulary`);
  }
  if (opts.expect) {
    const specs = Object.fromEntries((a.weightSpecs ?? []).map((w) => [w.name, w]));
    checkWeights(path.join(dir, 'weights.bin'), specs, opts.expect);
  }
  const weights = tf.io.decodeWeights(a.weightData as ArrayBuffer, a.weightSpecs ?? []);
  return { topology, weights };
}

/** Reads only the topology of a saved model (model.json), checked, without its weights. */
export function readSavedTopology<C>(dir: string): SavedTopology<C> {
  const jsonPath = path.join(dir, 'model.json');
  if (!fs.existsSync(jsonPath)) throw new Error(`no saved model in ${dir} (model.json not found)`);
  const t = readModelJson(jsonPath).modelTopology as unknown as SavedTopology<C> | null;
  if (!t || t.sequentia !== 1) throw new Error(`${jsonPath} is not a Sequentia model`);
  if (typeof t.type !== 'string' || !Array.isArray(t.itos) || typeof t.config !== 'object' || t.config === null)
    throw new Error(`${jsonPath} lacks the model type, config or vocabulary`);
  return t;
}

/** Saves `model` with its type, config and vocabulary, so `loadModel(dir)` can rebuild it anywhere. */
export async function saveModel(
  dir: string,
  model: LanguageModel,
  vocab: Vocab,
  extra?: Record<string, unknown>,
): Promise<void> {
  const topology: SavedTopology<object> = {
    sequentia: 1,
    type: model.type,
    config: model.config,
    itos: [...vocab.itos],
    boundary: vocab.boundary,
    ...(extra ? { extra } : {}),
  };
  await saveWeights(dir, topology, model.namedWeights());
}

/**
 * Any saved Sequentia model — a notebook's (saveModel), or a CLI checkpoint's `…/latest/model` or
 * `…/best/model` — rebuilt from its type and config, its weights loaded (names and shapes checked).
 */
export async function loadModel(
  dir: string,
): Promise<{ model: LanguageModel; vocab: Vocab; extra: Record<string, unknown> }> {
  const t = readSavedTopology<object>(dir);
  const where = path.join(dir, 'model.json');
  if (!isModelType(t.type)) throw new Error(`${where}: unknown model type '${t.type}'`);
  // makemore's checkpoints record the CLI's settings (n_embd2 …) rather than the model's own config
  const model =
    'nEmbd2' in t.config
      ? zooModel(t.type, t.config as ZooConfig, new TorchGenerator(0))
      : createModel(t.type, t.config as ModelConfigs[typeof t.type], new TorchGenerator(0));
  try {
    const { weights } = await loadWeights(dir, { expect: model.namedWeights() });
    model.loadWeights(weights);
    tf.dispose(Object.values(weights));
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, vocab: new Vocab(t.itos, t.boundary), extra: t.extra ?? {} };
}
