/**
 * The benchmark's case `gpt-shakespeare-cpu` (scripts/cli/benchmark.ts): one training iteration of
 * nanoGPT's CPU recipe for tiny Shakespeare (configs/shakespeare-char-cpu.json) as `npm run gpt` runs it
 * — a batch of 12 windows of 64, the GPT's forward and backward, gradients clipped to 1, AdamW — through
 * the tfjs ops and fused. scripts/torch/bench.py's case of the same name is PyTorch's.
 */
import path from 'node:path';
import { tf } from '../../lib/runtime/tf';
import { loadCorpus } from '../../lib/data/corpus';
import { batchTensors, type Batch } from '../../lib/data/batches';
import { GPT } from '../../lib/models/gpt';
import { FusedStep } from '../../lib/fused/step';
import { createOptimizer, type Adam } from '../../lib/train/optimizers';
import { TorchGenerator } from '../../lib/random/torch-generator';
import type { GPTConfig } from '../../lib/models/configs';
import { NANOGPT_CPU } from '../../lib/models/gpt-config';

const [B, T] = [12, NANOGPT_CPU.blockSize];

function setup(root: string) {
  const c = loadCorpus(path.join(root, 'data', 'tinyshakespeare.txt'));
  const train = c.encoded.subarray(0, Math.floor(c.encoded.length * 0.9));
  // the GELU of configs/shakespeare-char-cpu.json (nanoGPT's exact nn.GELU())
  const config: GPTConfig = { ...NANOGPT_CPU, vocabSize: c.vocab.size, activation: 'gelu' };
  const model = new GPT(config, new TorchGenerator(1337));
  const opt = createOptimizer('adamw', 1e-3, { beta2: 0.99, weightDecay: 0.1, noDecay: model.noDecay() }) as Adam;
  const g = new TorchGenerator(1);
  const batch = (): Batch => {
    const ix = g.randint(0, train.length - T, B);
    const X = new Int32Array(B * T);
    const Y = new Int32Array(B * T);
    ix.forEach((i, r) => {
      X.set(train.subarray(i, i + T), r * T);
      Y.set(train.subarray(i + 1, i + 1 + T), r * T);
    });
    return { X, Y, rows: B };
  };
  return { model, opt, batch };
}

/** The case as benchmark.ts lists it: `make` through the tfjs ops (clip included), `fused` as npm run gpt trains. */
export function gptShakespeareCase(root: string) {
  return {
    name: 'gpt-shakespeare-cpu',
    what: "nanoGPT's CPU recipe for tiny Shakespeare (4 layers, 4 heads, n_embd 128, block 64, batch 12, bias False, tied head, exact GELU), AdamW, clip 1",
    warmup: 10,
    steps: 100,
    make: () => {
      const { model, opt, batch } = setup(root);
      return {
        step: () => {
          tf.tidy(() => {
            const { X, Y } = batchTensors(batch(), 'sequence');
            const { value, grads } = tf.variableGrads(() => model.loss(X, Y, { training: true }), model.params());
            const list = Object.values(grads);
            const norm = tf.sqrt(tf.addN(list.map((x) => tf.sum(tf.square(x)))));
            const coef = tf.minimum(tf.div(1, tf.add(norm, 1e-6)), 1);
            opt.applyGradients(Object.fromEntries(Object.entries(grads).map(([k, x]) => [k, tf.mul(x, coef)])));
            value.dataSync();
          });
        },
        dispose: () => {
          opt.dispose();
          model.dispose();
        },
      };
    },
    fused: () => {
      const { model, opt, batch } = setup(root);
      const fused = FusedStep.for(model);
      if (!fused) throw new Error('the GPT of the CPU recipe has no fused step');
      return {
        step: () => void fused.step(batch(), opt, opt.learningRate, { defer: true, clip: 1 }),
        dispose: () => {
          fused.release();
          opt.dispose();
          model.dispose();
        },
      };
    },
  };
}
