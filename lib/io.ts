/**
 * Saving and loading models as files. tfjs-node's `file://` handler is not available without the
 * native backend, so this is a small tf.io.IOHandler of our own: `model.json` (topology — here our
 * model type, config and vocabulary — plus the weight manifest) and `weights.bin` (float32 values).
 * It works for tf.LayersModel.save/loadLayersModel too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { tf } from './tf';

export function fileHandler(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      fs.mkdirSync(dir, { recursive: true });
      const weights = artifacts.weightData
        ? Buffer.from(tf.io.CompositeArrayBuffer.join(artifacts.weightData as ArrayBuffer | ArrayBuffer[]))
        : Buffer.alloc(0);
      const json = {
        format: artifacts.format, generatedBy: artifacts.generatedBy, convertedBy: artifacts.convertedBy,
        modelTopology: artifacts.modelTopology, userDefinedMetadata: artifacts.userDefinedMetadata,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      // Write to temporary names, then rename: an interrupted save never leaves a half-written model.
      const tmpW = path.join(dir, `.weights.bin.${process.pid}`);
      const tmpJ = path.join(dir, `.model.json.${process.pid}`);
      fs.writeFileSync(tmpW, weights);
      fs.writeFileSync(tmpJ, JSON.stringify(json));
      fs.renameSync(tmpW, path.join(dir, 'weights.bin'));
      fs.renameSync(tmpJ, path.join(dir, 'model.json'));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const jsonPath = path.join(dir, 'model.json');
      if (!fs.existsSync(jsonPath)) throw new Error(`no saved model in ${dir} (model.json not found)`);
      const json = JSON.parse(fs.readFileSync(jsonPath, 'utf8')) as { modelTopology: object; format?: string; userDefinedMetadata?: { [key: string]: {} }; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
      const specs = json.weightsManifest.flatMap((g) => g.weights);
      const buffers = json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p))));
      const data = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology, format: json.format, userDefinedMetadata: json.userDefinedMetadata,
        weightSpecs: specs, weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
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
export async function saveWeights<C>(dir: string, topology: SavedTopology<C>, weights: Record<string, tf.Tensor>): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(weights);
  await (fileHandler(dir).save as NonNullable<tf.io.IOHandler['save']>)({ modelTopology: topology as unknown as object, format: 'sequentia', weightSpecs: specs, weightData: data });
}

/** Loads what `saveWeights` wrote. The caller disposes the returned tensors. */
export async function loadWeights<C>(dir: string): Promise<{ topology: SavedTopology<C>; weights: Record<string, tf.Tensor> }> {
  const a = await (fileHandler(dir).load as NonNullable<tf.io.IOHandler['load']>)();
  const topology = a.modelTopology as unknown as SavedTopology<C>;
  if (!topology || topology.sequentia !== 1) throw new Error(`${dir}/model.json is not a Sequentia model`);
  const weights = tf.io.decodeWeights(a.weightData as ArrayBuffer, a.weightSpecs ?? []);
  return { topology, weights };
}
