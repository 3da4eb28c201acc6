/**
 * `npm run makemore -- convert --model DIR` or `-- convert --work-dir DIR`: rewrites a saved model, or a
 * makemore run's checkpoints (latest/, best/), of the older form (model.json + weights.bin) as
 * model.safetensors + config.json + vocab.json. The checkpoints are rewritten atomically (saveCheckpoint);
 * a folder already in the current form is left as it is.
 */
import path from 'node:path';
import { tf, initTf } from '../../../lib/runtime/tf';
import { isLegacySave, loadModel, modelConfig, saveModel } from '../../../lib/train/saved-model';
import { loadCheckpoint, resolveCheckpoint, saveCheckpoint } from '../../../lib/train/checkpoint';

const USAGE = 'usage: npm run makemore -- convert --model DIR | --work-dir DIR';

async function convertModel(dir: string): Promise<void> {
  if (!isLegacySave(dir)) return console.log(`${dir}: already model.safetensors, nothing to convert`);
  const { model, vocab, extra } = await loadModel(dir);
  await saveModel(dir, model, vocab, Object.keys(extra).length ? extra : undefined);
  model.dispose();
  console.log(`${dir}: written as model.safetensors, config.json and vocab.json`);
}

async function convertRun(workDir: string): Promise<void> {
  for (const name of ['latest', 'best']) {
    const slot = path.join(workDir, name);
    const from = resolveCheckpoint(slot);
    if (!from) continue;
    if (!isLegacySave(path.join(from, 'model'))) {
      console.log(`${slot}: already model.safetensors, nothing to convert`);
      continue;
    }
    const c = await loadCheckpoint<object>(from);
    const config = modelConfig(path.join(from, 'model'), c.topology);
    await saveCheckpoint(slot, { ...c, topology: { ...c.topology, sequentia: 3, config } });
    tf.dispose(Object.values(c.weights));
    console.log(
      `${slot}: written as model/model.safetensors (+ config.json, vocab.json), optimizer/optimizer.safetensors`,
    );
  }
}

/** Runs `convert` with the arguments after it; returns the exit code. */
export async function convert(argv: string[]): Promise<number> {
  const [flag, dir, ...rest] = argv;
  if ((flag !== '--model' && flag !== '--work-dir') || !dir || rest.length) {
    console.error(USAGE);
    return 2;
  }
  await initTf();
  await (flag === '--model' ? convertModel(dir) : convertRun(dir));
  return 0;
}
