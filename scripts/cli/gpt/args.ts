/** `npm run gpt`'s options, one table (nanoGPT's train.py settings under its names): defaults, --help, config keys, saved settings. */
import type { GPTConfig } from '../../../lib/models/configs';
import { warmupCosine } from '../../../lib/train/schedules';
import { choice, int, num, text, toggle, type ResumeMode } from '../run/options';
import { setting, type Args as RunArgs } from '../run/lifecycle';

/** Sizes beyond these would only exhaust memory (the CPU recipe: block 64, batch 12, n_embd 128). */
const MAX = { batch: 65_536, block: 65_536, layer: 256, head: 1024, embd: 65_536 } as const;

const below1 = (v: number) => (v < 1 ? null : 'in [0, 1)');

export const TABLE = {
  input: text(
    'input',
    'data/tinyshakespeare.txt',
    "any UTF-8 text file: its characters are the vocabulary;\nthe first 90 % trains, the last 10 % is the validation set (nanoGPT's split)",
    {
      path: true,
      meta: 'FILE',
    },
  ),
  workDir: text('work-dir', 'out/gpt', 'checkpoints and logs', { path: true, meta: 'DIR' }),
  config: text(
    'config',
    undefined,
    'settings from a JSON file: {"flag-name": value, …} (e.g. configs/shakespeare-char-cpu.json);\nflags given as well win',
    { path: true, meta: 'FILE', inFile: false },
  ),
  resume: toggle(
    'resume',
    "continue the run in --work-dir from its latest state, bit for bit; flags not\ngiven are the checkpoint's, model flags that contradict it are an error",
  ),
  overwrite: toggle('overwrite', 'start a new run in a --work-dir that holds one (replaces its checkpoints and logs)'),
  sampleOnly: toggle('sample-only', 'only sample from the best checkpoint (the same as the command `sample`)'),
  seed: int(
    'seed',
    1337,
    { min: 0 },
    'seeds the initialisation, the batches and the evaluation batches;\nwith sample: the samples',
  ),
  maxIters: int(
    'max-iters',
    5000,
    { min: 1 },
    'train until iteration N, counted from the start of the run\n(with --resume: the iteration to continue to)',
    {
      section: "training (nanoGPT's train.py):",
    },
  ),
  batchSize: int('batch-size', 64, { min: 1, max: MAX.batch }, 'sequences per iteration'),
  learningRate: num('learning-rate', 1e-3, { min: 0 }, "AdamW's peak learning rate"),
  minLr: num('min-lr', 1e-4, { min: 0 }, 'the learning rate at the end of the cosine decay'),
  warmupIters: int('warmup-iters', 100, { min: 0 }, 'linear warm-up: lr·(it + 1)/(warmup + 1) for it < warmup'),
  lrDecayIters: int('lr-decay-iters', 5000, { min: 1 }, 'cosine decay from the warm-up to this iteration, then min-lr'),
  weightDecay: num('weight-decay', 0.1, { min: 0 }, "AdamW's decoupled weight decay, on ≥ 2-D weights only"),
  beta1: num('beta1', 0.9, { min: 0 }, "AdamW's β1", { check: below1 }),
  beta2: num('beta2', 0.99, { min: 0 }, "AdamW's β2", { check: below1 }),
  gradClip: num('grad-clip', 1, { min: 0 }, "clip the gradients' global norm to X (0: never)"),
  evalInterval: int('eval-interval', 250, { min: 1 }, 'iterations between evaluations (train and val loss, saves)'),
  evalIters: int('eval-iters', 200, { min: 1 }, 'batches per split in an evaluation'),
  blockSize: int(
    'block-size',
    256,
    { min: 1, max: MAX.block },
    'context length (the fused step takes ≤ 64; longer trains\nthrough the tfjs ops)',
    {
      section: "the model (nanoGPT's GPTConfig):",
    },
  ),
  nLayer: int('n-layer', 6, { min: 1, max: MAX.layer }, 'transformer blocks'),
  nHead: int('n-head', 6, { min: 1, max: MAX.head }, 'attention heads (must divide n-embd)'),
  nEmbd: int('n-embd', 384, { min: 1, max: MAX.embd }, 'embedding size'),
  dropout: num('dropout', 0.2, { min: 0 }, 'while training (> 0 trains through the tfjs ops)', {
    meta: 'P',
    check: below1,
  }),
  bias: choice('bias', ['false', 'true'] as const, 'false', 'biases in the Linear layers and LayerNorms'),
  activation: choice(
    'activation',
    ['gelu', 'gelu-tanh', 'relu'] as const,
    'gelu',
    "the MLP's nonlinearity: nanoGPT's exact GELU, GPT-2's tanh form, or the lecture's ReLU",
  ),
  tieWeights: choice(
    'tie-weights',
    ['true', 'false'] as const,
    'true',
    'the head reads the token embedding table (nanoGPT)',
  ),
  init: choice(
    'init',
    ['nanogpt', 'torch'] as const,
    'nanogpt',
    "nanoGPT's N(0, 0.02) initialisation or PyTorch's defaults",
  ),
  start: text('start', undefined, 'the text samples continue (every character must be in the vocabulary)', {
    section: "sampling (nanoGPT's sample.py):",
    shown: '"\\n"',
    check: (v) => (v.length > 0 ? null : 'at least one character'),
  }),
  numSamples: int('num-samples', 3, { min: 0 }, 'samples to draw'),
  maxNewTokens: int('max-new-tokens', 500, { min: 0 }, 'characters per sample'),
  temperature: num('temperature', 0.8, { min: 0 }, '< 1 sharper, > 1 flatter; 0: greedy', {
    expect: '≥ 0 (0: greedy)',
  }),
  topK: int('top-k', 200, { min: 1 }, 'sample from the K most likely characters only', { meta: 'K' }),
  help: toggle('help', 'this text'),
};

/**
 * What checkpoint.json keeps, and how --resume treats each: the model's shape is the checkpoint's (a
 * flag that differs is an error); training settings are taken unless given (a change is noted).
 */
export const SAVED = {
  input: 'taken',
  seed: 'taken',
  blockSize: 'fixed',
  nLayer: 'fixed',
  nHead: 'fixed',
  nEmbd: 'fixed',
  bias: 'fixed',
  activation: 'fixed',
  tieWeights: 'fixed',
  init: 'fixed',
  dropout: 'taken',
  batchSize: 'taken',
  learningRate: 'taken',
  minLr: 'taken',
  warmupIters: 'taken',
  lrDecayIters: 'taken',
  weightDecay: 'taken',
  beta1: 'taken',
  beta2: 'taken',
  gradClip: 'taken',
  evalIters: 'taken',
  maxIters: 'quiet',
  evalInterval: 'quiet',
} as const satisfies Partial<Record<keyof typeof TABLE, ResumeMode>>;

export type Args = RunArgs<typeof TABLE>;

/** Flags that go together badly whatever the checkpoint says (a usage error), or null. */
export function validate(a: Args): string | null {
  if (a.sampleOnly && (a.resume || a.overwrite))
    return 'sample only reads the checkpoint: it does not go with --resume or --overwrite';
  return null;
}

/** Settings that contradict each other once a checkpoint's are taken (a usage error), or null. */
export function settingsProblem(a: Args): string | null {
  const s = (key: keyof typeof TABLE & string) => setting(TABLE, a, key);
  if (a.nEmbd % a.nHead !== 0) return `${s('nEmbd')} must be divisible by ${s('nHead')}`;
  if (a.minLr > a.learningRate)
    return `${s('minLr')} is above ${s('learningRate')}: the cosine decays from the second to the first`;
  // nanoGPT's get_lr divides by their difference
  if (a.warmupIters >= a.lrDecayIters)
    return `${s('warmupIters')} is not before ${s('lrDecayIters')}: the warm-up comes before the decay`;
  return null;
}

/** The model the options describe, for a text of `vocabSize` characters. */
export function gptConfig(a: Args, vocabSize: number): GPTConfig {
  return {
    vocabSize,
    blockSize: a.blockSize,
    nLayer: a.nLayer,
    nHead: a.nHead,
    nEmbd: a.nEmbd,
    dropout: a.dropout,
    bias: a.bias === 'true',
    activation: a.activation,
    tieWeights: a.tieWeights === 'true',
    init: a.init,
  };
}

/** nanoGPT's get_lr for these settings: lib's warm-up + cosine, the one the notebooks use. */
export function learningRateSchedule(a: Args): (it: number) => number {
  return warmupCosine({ peak: a.learningRate, min: a.minLr, warmup: a.warmupIters, decaySteps: a.lrDecayIters });
}

export const EPILOGUE = `commands: npm run gpt -- [options]            train (or --resume) on --input
          npm run gpt -- sample [options]     stream samples from the best checkpoint in --work-dir

config files: JSON objects whose keys are the flags' names without "--" ("n-embd", "max-iters");
  precedence: the defaults above < the config file < flags given. configs/ holds shakespeare-char-cpu.json
  (nanoGPT's README command for a CPU: over its 20 evaluation batches the val loss is
  ±0.014; --eval-iters 200 gives ±0.004) and shakespeare-char-3min.json (half the width, 32 blocks a
  step, lr 1e-2: val about 1.71 after 102 s of training on a quiet machine; docs/cli.md).

work dir:  latest/   the state after the last evaluation or stop: model/ (loadModel('…/latest/model') in a notebook),
                     optimizer/ (AdamW moments), checkpoint.json (iteration, best val loss, batch generator
                     state, settings) — what --resume continues from
           best/     the same for the lowest val loss (without optimizer/) — what sample uses
           log.jsonl, log.csv   one row per evaluation;  .lock   the run in progress (PID, start)
           .sequentia-run.json   the marker: the entries a gpt run wrote here
  Evaluations (train and val loss over --eval-iters batches each, then the saves) happen at iteration 0, every
  --eval-interval iterations and at --max-iters. Checkpoints are written to a temporary directory and renamed
  into place: a killed run keeps the last complete one. Ctrl-C, SIGTERM and SIGHUP stop after the current
  iteration, save latest/ and exit 130, 143 and 129; a second signal quits at once.

exit codes: 0 done · 1 missing, unreadable or unusable files (input, checkpoint), or a save that failed ·
  2 bad or contradicting flags or config file, text the checkpoint's vocabulary lacks, a work dir that is a
  file, not writable, holds a run (without --resume/--overwrite) or someone else's files, or is locked ·
  129 / 130 / 143 stopped by SIGHUP / Ctrl-C / SIGTERM (latest/ saved)`;
