/** makemore's options, one table: defaults, --help, config-file keys and the settings a checkpoint keeps. */
import { DEFAULT_MAX_WORD_LENGTH } from '../../../lib/data/files';
import { MAKEMORE_BATCH_SIZE, MAKEMORE_TRAINING } from '../../../lib/models/presets';
import { ZOO_TYPES } from '../../../lib/models/registry';
import { DEFAULT_CONFIG, defaultConfig, ZOO_LIMITS } from '../../../lib/models/zoo/config';
import type { SettingsSpec } from '../../../lib/train/checkpoint';
import { choice, int, num, settingsSpec, text, toggle, type ResumeMode } from '../run/options';
import type { Args as RunArgs } from '../run/lifecycle';

/** Batches beyond this would only exhaust memory: makemore trains with 32. */
const MAX_BATCH = 65_536;
const WAVENET = defaultConfig('wavenet');
const sizes = (k: keyof typeof DEFAULT_CONFIG) => `${DEFAULT_CONFIG[k]}; wavenet ${WAVENET[k]}`;

export const TABLE = {
  input: text(
    'input',
    'data/names.txt',
    'one word per line (at least 10 words: 10 % are the test set;\na regular UTF-8 file of at most 256 MiB)',
    { path: true, meta: 'FILE', synonyms: ['input-file'] },
  ),
  maxWordLength: int(
    'max-word-length',
    DEFAULT_MAX_WORD_LENGTH,
    { min: 1 },
    'a longer word is an error naming its line: the longest word sets\nthe block size, so one stray line would make every step slow',
  ),
  workDir: text('work-dir', 'out/makemore', 'checkpoints, logs and the loss chart', { path: true, meta: 'DIR' }),
  config: text(
    'config',
    undefined,
    'settings from a JSON file: {"flag-name": value, …} (e.g. configs/makemore-june-2022.json);\nflags given as well win',
    { path: true, meta: 'FILE', inFile: false },
  ),
  june2022: toggle(
    'june-2022',
    "makemore's first version's settings, for which its README quotes test loss ~1.92:\nshorthand for --config configs/makemore-june-2022.json (dropout 0.1, weight decay 0.1 on\nLinear weights, gradients clipped to 1, minGPT's init, seed 1337)",
    { shorthand: 'configs/makemore-june-2022.json' },
  ),
  type: choice('type', ZOO_TYPES, 'transformer', `the model: ${ZOO_TYPES.join(', ')}`, { meta: 'T' }),
  maxSteps: int(
    'max-steps',
    2000,
    { min: 1, allowNegOne: true },
    'train until step N, counted from the start of the run (-1 = until\ninterrupted). With --resume: the step to continue to.',
  ),
  resume: toggle(
    'resume',
    "continue the run in --work-dir from its latest state, bit for bit; flags not\ngiven are the checkpoint's, flags that contradict it (--type, --n-*, --seed,\n--init-seed, another vocabulary in --input) are an error",
  ),
  overwrite: toggle('overwrite', 'start a new run in a --work-dir that holds one (replaces its checkpoints and logs)'),
  sampleOnly: toggle('sample-only', 'only print samples from the best checkpoint'),
  seed: int('seed', 3407, { min: 0 }, 'seeds the split, the initialisation and the batches'),
  initSeed: int(
    'init-seed',
    undefined,
    { min: 0 },
    'reseeds the initialisation and the batches only (same test set, another run)',
    { shown: '--seed' },
  ),
  batchSize: int('batch-size', MAKEMORE_BATCH_SIZE, { min: 1, max: MAX_BATCH }, 'sequences per step'),
  learningRate: num('learning-rate', MAKEMORE_TRAINING.learningRate, { min: 0 }, "AdamW's learning rate"),
  weightDecay: num('weight-decay', MAKEMORE_TRAINING.weightDecay, { min: 0 }, "AdamW's decoupled weight decay"),
  beta1: num('beta1', MAKEMORE_TRAINING.beta1, { min: 0 }, "AdamW's β1", {
    check: (v) => (v < 1 ? null : 'in [0, 1)'),
  }),
  beta2: num('beta2', MAKEMORE_TRAINING.beta2, { min: 0 }, "AdamW's β2 (makemore's; torch's default is 0.999)", {
    check: (v) => (v < 1 ? null : 'in [0, 1)'),
  }),
  evalEvery: int('eval-every', 500, { min: 1 }, 'steps between evaluations (train and test loss, samples, saves)'),
  nLayer: int(
    'n-layer',
    undefined,
    { min: 1, max: ZOO_LIMITS.nLayer },
    'layers (wavenet: levels fusing pairs, 3 = context 8)',
    {
      shown: sizes('nLayer'),
    },
  ),
  nHead: int('n-head', undefined, { min: 1, max: ZOO_LIMITS.nHead }, 'attention heads (the transformer)', {
    shown: sizes('nHead'),
  }),
  nEmbd: int('n-embd', undefined, { min: 1, max: ZOO_LIMITS.nEmbd }, 'embedding size', { shown: sizes('nEmbd') }),
  nEmbd2: int(
    'n-embd2',
    undefined,
    { min: 1, max: ZOO_LIMITS.nEmbd2 },
    'hidden size (mlp, bow, the recurrent cells, wavenet)',
    {
      shown: sizes('nEmbd2'),
    },
  ),
  gradClip: num('grad-clip', 0, { min: 0 }, "clip the gradients' global norm to X before each update (0: never)"),
  lrDrop: int('lr-drop', undefined, { min: 1 }, 'from step STEP on, the learning rate is a tenth (a step decay)', {
    shown: 'never',
    meta: 'STEP',
  }),
  dropout: num('dropout', 0, { min: 0 }, 'on the embeddings, attention weights and residual branches', {
    meta: 'P',
    check: (v) => (v < 1 ? null : 'in [0, 1)'),
    section: 'the transformer only:',
  }),
  init: choice('init', ['torch', 'gpt'] as const, 'torch', "PyTorch's default initialisation, or minGPT's N(0, 0.02)"),
  decay: choice(
    'decay',
    ['all', 'linear'] as const,
    'all',
    'weight decay on every parameter, or on Linear weights only (minGPT)',
  ),
  numSamples: int('num-samples', 10, { min: 0 }, 'samples printed (any number, drawn 1,000 at a time)', {
    section: 'sampling and speed:',
  }),
  topK: int('top-k', undefined, { min: 1 }, 'sample from the K most likely characters only', {
    shown: 'all',
    meta: 'K',
  }),
  temperature: num('temperature', 1, { min: 0 }, '0: greedy, the most likely character every time', {
    expect: '≥ 0 (0: greedy)',
  }),
  workers: int(
    'workers',
    1,
    { min: 1, max: 2 },
    '1: the fused step (lib/fused; with dropout the tfjs ops), its larger\nmatrix products on two threads (SEQUENTIA_THREADS=1: one). 2: the batch split over two\nthreads, each half fused (with dropout the tfjs ops) on one core (needs --batch-size ≥ 2);\nabout as fast (docs/benchmark.md). Results differ in float rounding only.',
    { expect: '1 or 2', meta: '1|2' },
  ),
  help: toggle('help', 'this text'),
};

/**
 * What checkpoint.json keeps of the options, and how --resume treats each: the model's type, sizes
 * and seeds are the checkpoint's (a flag that differs is an error); training settings are taken
 * unless given (a change is noted); the step to stop at and the evaluation interval silently.
 */
export const SAVED = {
  input: 'taken',
  type: 'fixed',
  seed: 'fixed',
  initSeed: 'fixed',
  nLayer: 'fixed',
  nHead: 'fixed',
  nEmbd: 'fixed',
  nEmbd2: 'fixed',
  dropout: 'fixed',
  init: 'fixed',
  batchSize: 'taken',
  learningRate: 'taken',
  weightDecay: 'taken',
  beta1: 'taken',
  beta2: 'taken',
  workers: 'taken',
  gradClip: 'taken',
  decay: 'taken',
  lrDrop: 'taken',
  maxSteps: 'quiet',
  evalEvery: 'quiet',
} as const satisfies Partial<Record<keyof typeof TABLE, ResumeMode>>;

/** Facts about the data a checkpoint keeps beside the options (a resumed run notes other data). */
export const FACTS: SettingsSpec = {
  words: { type: 'integer', min: 0, optional: true },
  dataSha256: { type: 'string', optional: true },
};

/** The spec checkpoint.json's settings are checked against, from the table. */
export const MAKEMORE_SETTINGS_SPEC: SettingsSpec = { ...settingsSpec(TABLE, SAVED), ...FACTS };

export type Args = RunArgs<typeof TABLE>;

/** Options that contradict each other (a usage error), or null. */
export function validate(a: Args): string | null {
  if (a.type !== 'transformer')
    for (const [key, given] of [
      ['dropout', a.dropout > 0],
      ['init', a.init === 'gpt'],
      ['decay', a.decay === 'linear'],
    ] as const)
      if (given && a.explicit.has(key)) {
        const from = a.fromFile.get(key);
        return `--${TABLE[key].flag} is the transformer's only (--type ${a.type})${from ? ` (set by ${from})` : ''}`;
      }
  if (a.sampleOnly && (a.resume || a.overwrite))
    return '--sample-only only reads the checkpoint: it does not go with --resume or --overwrite';
  return null;
}

export const EPILOGUE = `config files: JSON objects whose keys are the flags' names without "--" ("n-embd", "weight-decay");
  precedence: the defaults above < the config file < flags given. configs/ holds makemore-june-2022.json.

work dir:  latest/   the state after the last evaluation or stop: model/ (loadModel('…/latest/model') in a notebook),
                     optimizer/ (AdamW moments), checkpoint.json (step, best test loss, batch generator
                     state, settings) — what --resume continues from
           best/     the same for the lowest test loss (without optimizer/) — what --sample-only uses
           log.jsonl, log.csv, loss.html   one row per evaluation;  .lock   the run in progress (PID, start)
           .sequentia-run.json   the marker: the entries a makemore run wrote here
  Checkpoints are written to a temporary directory and renamed into place: a killed run keeps the last
  complete one. Evaluations (and saves) happen every --eval-every steps, at --max-steps and on Ctrl-C.
  Ctrl-C, SIGTERM and SIGHUP (the terminal closed) stop after the current step, save latest/ and exit
  130, 143 and 129; a second signal quits at once. --overwrite removes only entries the work dir's
  .sequentia-run.json marker lists as this tool's; anything else of those names is left and named.

exit codes: 0 done · 1 missing, unreadable or unusable files (input, checkpoint), or a save that failed
  (the message names the file and the step) · 2 bad or contradicting flags or config file, a work dir that
  is a file, not writable, holds a run (without --resume/--overwrite) or someone else's files, or is locked ·
  129 / 130 / 143 stopped by SIGHUP / Ctrl-C / SIGTERM (latest/ saved)`;
