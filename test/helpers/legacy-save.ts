/**
 * Writes a saved model (or a checkpoint's optimizer state) in the older form — model.json (topology and a
 * tfjs weight manifest, weightsSha256) and weights.bin — exactly as Sequentia wrote it before
 * model.safetensors, so the tests of the one-release legacy reader (lib/train/legacy-model.ts) have files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { tf } from '../../lib/runtime/tf';

export async function saveLegacy(
  dir: string,
  topology: object,
  weights: Record<string, tf.Tensor | Float32Array>,
): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const tensors = Object.fromEntries(
    Object.entries(weights).map(([k, w]) => [k, w instanceof Float32Array ? tf.tensor1d(w) : w]),
  );
  const { data, specs } = await tf.io.encodeWeights(tensors);
  for (const [k, w] of Object.entries(weights)) if (w instanceof Float32Array) tensors[k]!.dispose();
  const bytes = Buffer.from(data as ArrayBuffer);
  fs.writeFileSync(path.join(dir, 'weights.bin'), bytes);
  const json = {
    format: 'sequentia',
    modelTopology: topology,
    weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
    weightsSha256: createHash('sha256').update(bytes).digest('hex'),
  };
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
}

/** A checkpoint slot of the older form: checkpoint.json, model/ and optimizer/ (Adam's m and v by weight name). */
export async function saveLegacyCheckpoint(
  slot: string,
  c: {
    topology: object;
    weights: Record<string, tf.Tensor>;
    optimizer: { step: number; m: Record<string, Float32Array>; v: Record<string, Float32Array> } | null;
    info: object;
  },
): Promise<void> {
  await saveLegacy(path.join(slot, 'model'), c.topology, c.weights);
  if (c.optimizer) {
    const moments: Record<string, Float32Array> = {};
    for (const [k, a] of Object.entries(c.optimizer.m)) moments[`m:${k}`] = a;
    for (const [k, a] of Object.entries(c.optimizer.v)) moments[`v:${k}`] = a;
    const t = { sequentia: 1, type: 'adam-state', config: { step: c.optimizer.step }, itos: [], boundary: null };
    await saveLegacy(path.join(slot, 'optimizer'), t, moments);
  }
  const info = { sequentiaCheckpoint: 1, ...c.info, savedAt: new Date(0).toISOString() };
  fs.writeFileSync(path.join(slot, 'checkpoint.json'), JSON.stringify(info) + '\n');
}
