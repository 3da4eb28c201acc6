/**
 * The demo page's script (bundled by scripts/cli/demo.ts into demo.js): the saved model in weights.js
 * (model.safetensors as base64, config.json, vocab.json) rebuilt with createModel, and sampled with the
 * makemore CLI's sampler and settings — the same words for the same seed and temperature.
 */
import { tf } from '../../../lib/runtime/tf';
import {
  createModel,
  configFromTorch,
  isModelType,
  stateDictLayout,
  type ModelType,
} from '../../../lib/models/registry';
import { decodeSafetensors } from '../../../lib/data/safetensors';
import { generateWordsStream } from '../../../lib/sample/generate';
import { TorchGenerator } from '../../../lib/random/torch-generator';
import { Vocab } from '../../../lib/data/vocab';
import type { LanguageModel } from '../../../lib/models/language-model';

interface DemoFiles {
  safetensors: string;
  config: Record<string, unknown>;
  vocab: { itos: string[]; boundary: string | null };
}

function loadFromFiles(f: DemoFiles): { model: LanguageModel; vocab: Vocab } {
  const bytes = Uint8Array.from(atob(f.safetensors), (c) => c.charCodeAt(0));
  const { metadata, tensors } = decodeSafetensors('model.safetensors', bytes);
  const { model_type: type, ...fields } = f.config;
  if (typeof type !== 'string' || !isModelType(type))
    throw new Error(`config.json: unknown model_type ${String(type)}`);
  const config = metadata.sequentia
    ? (JSON.parse(metadata.sequentia) as { config: unknown }).config
    : configFromTorch(type, fields);
  const layout = stateDictLayout(type as ModelType, config as never);
  const ours = layout.fromTorch(tensors);
  const model = createModel(type as ModelType, config as never, new TorchGenerator(0));
  const weights = Object.fromEntries(Object.entries(ours).map(([k, t]) => [k, tf.tensor(t.data, t.shape)]));
  model.loadWeights(weights);
  tf.dispose(Object.values(weights));
  return { model, vocab: new Vocab(f.vocab.itos, f.vocab.boundary) };
}

/** makemore --sample-only's words: TorchGenerator(seed + 1), rows together, block size − 1 tokens, cut at the boundary. */
function sample(
  m: { model: LanguageModel; vocab: Vocab },
  seed: number,
  temperature: number,
  count: number,
  prefix: string,
): string[] {
  const ids = [0, ...m.vocab.encode(prefix)];
  const words: string[] = [];
  const stream = generateWordsStream(m.model, m.vocab, new TorchGenerator(seed + 1), {
    temperature,
    count,
    maxLength: m.model.blockSize - ids.length,
    batch: Math.min(count, 1000),
    stopAtBoundary: false,
    prefix: ids,
  });
  for (const batch of stream) words.push(...batch.map((w) => prefix + w));
  return words;
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const m = loadFromFiles((globalThis as unknown as { DEMO_FILES: DemoFiles }).DEMO_FILES);
  const $ = (id: string) => document.getElementById(id) as HTMLInputElement;
  const run = () => {
    const out = $('out');
    try {
      const words = sample(
        m,
        Number($('seed').value),
        Number($('temperature').value),
        Number($('count').value),
        $('prefix').value,
      );
      out.textContent = words.join('\n');
    } catch (e) {
      out.textContent = `error: ${(e as Error).message}`;
    }
    document.body.dataset.sampled = String(Number(document.body.dataset.sampled ?? 0) + 1);
  };
  $('go').addEventListener('click', run);
  $('status').textContent =
    `${m.model.type}, ${m.model.numParams().toLocaleString('en-US')} parameters, vocabulary ${m.vocab.size}`;
  run();
}

void main();
