/** makemore's command line: its flags, defaults, --help text and the parsed arguments. */
import { DEFAULT_MAX_WORD_LENGTH } from '../../../lib/data/files';
import { MAKEMORE_BATCH_SIZE, MAKEMORE_TRAINING } from '../../../lib/models/presets';
import { isZooType, ZOO_TYPES } from '../../../lib/models/registry';
import { numberFlag, parseFlags, UsageError, type NumberRule } from '../flags';

export const USAGE = `usage: npm run makemore -- [options]
  --input FILE          one word per line (default data/names.txt; at least 10 words: 10 % are the test set;
                        a regular UTF-8 file of at most 256 MiB)
  --max-word-length N   a longer word is an error naming its line (default ${DEFAULT_MAX_WORD_LENGTH}): the longest word sets
                        the block size, so one stray line would make every step slow
  --work-dir DIR        checkpoints, logs and the loss chart (default out/makemore)
  --type T              ${ZOO_TYPES.join(' | ')} (default transformer)
  --max-steps N         train until step N, counted from the start of the run (default 2000;
                        -1 = until interrupted). With --resume: the step to continue to.
  --resume              continue the run in --work-dir from its latest state, bit for bit; flags not
                        given are the checkpoint's, flags that contradict it (--type, --n-*, --seed,
                        --init-seed, another vocabulary in --input) are an error
  --overwrite           start a new run in a --work-dir that holds one (replaces its checkpoints and logs)
  --sample-only         only print samples from the best checkpoint
  --seed N              (default 3407) seeds the split, the initialisation and the batches
  --init-seed N         reseeds the initialisation and the batches only (same test set, another run)
  --batch-size N        (default 32)      --learning-rate X   (default 5e-4)
  --weight-decay X      (default 0.01)    --eval-every N      (default 500)
  --n-layer N --n-head N --n-embd N --n-embd2 N   model size (defaults 4, 4, 64, 64; wavenet: n_layer 3
                        levels fusing pairs = context 8, n_embd 24, n_embd2 128 hidden, as the lecture)
  --grad-clip X         clip the gradients' global norm to X before each update (default 0: never)
  --lr-drop STEP        from step STEP on, the learning rate is a tenth (a step decay; default: never)
  the transformer only:
  --dropout P           on the embeddings, attention weights and residual branches (default 0)
  --init torch|gpt      PyTorch's default initialisation, or minGPT's N(0, 0.02) (default torch)
  --decay all|linear    weight decay on every parameter, or on Linear weights only (minGPT) (default all)
  --june-2022           makemore's first version's settings, for which its README quotes test loss ~1.92:
                        --dropout 0.1 --weight-decay 0.1 --decay linear --grad-clip 1 --init gpt --seed 1337
                        (flags given as well win)
  --num-samples N       (default 10; any number, drawn 1,000 at a time)   --top-k N
  --temperature X       (default 1; 0: greedy, the most likely character every time)
  --workers 1|2         1 (default): the fused step (lib/fused; with dropout the tfjs ops), its larger
                        matrix products on two threads (SEQUENTIA_THREADS=1: one). 2: the batch split over two
                        threads, each half fused (with dropout the tfjs ops) on one core (needs
                        --batch-size ≥ 2); about as fast (docs/benchmark.md). Results differ in float rounding only.
  --help

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
  (the message names the file and the step) · 2 bad or contradicting flags, a work dir that is a file,
  not writable, holds a run (without --resume/--overwrite) or someone else's files, or is locked ·
  129 / 130 / 143 stopped by SIGHUP / Ctrl-C / SIGTERM (latest/ saved)`;

/** Flags that take a value; any other flag is a usage error (exit 2). */
const STRING_OPTS = [
  'input',
  'input-file',
  'work-dir',
  'type',
  'max-steps',
  'seed',
  'batch-size',
  'learning-rate',
  'weight-decay',
  'eval-every',
  'n-layer',
  'n-head',
  'n-embd',
  'n-embd2',
  'num-samples',
  'temperature',
  'top-k',
  'workers',
  'init-seed',
  'grad-clip',
  'dropout',
  'init',
  'decay',
  'lr-drop',
  'max-word-length',
] as const;

const BOOL_OPTS = ['resume', 'overwrite', 'sample-only', 'june-2022', 'help'] as const;

const DEFAULTS = {
  input: 'data/names.txt',
  'work-dir': 'out/makemore',
  type: 'transformer',
  'max-steps': '2000',
  seed: '3407',
  'batch-size': String(MAKEMORE_BATCH_SIZE),
  'learning-rate': String(MAKEMORE_TRAINING.learningRate),
  'weight-decay': String(MAKEMORE_TRAINING.weightDecay),
  'eval-every': '500',
  'num-samples': '10',
  temperature: '1',
  workers: '1',
  'grad-clip': '0',
  decay: 'all',
  'max-word-length': String(DEFAULT_MAX_WORD_LENGTH),
};

/** --june-2022: makemore's settings of June 2022 (its git history: the first commit to 2022-08-20). */
const JUNE_2022 = {
  dropout: '0.1',
  'weight-decay': '0.1',
  decay: 'linear',
  'grad-clip': '1',
  init: 'gpt',
  seed: '1337',
} as const;

function num(v: string | undefined, name: string, rule: NumberRule = {}): number | undefined {
  return v === undefined ? undefined : numberFlag(name, v, rule);
}

/** Batches beyond this would only exhaust memory: makemore trains with 32. */
const MAX_BATCH = 65_536;

function parse(argv: readonly string[]) {
  const { values, explicit } = parseFlags(argv, STRING_OPTS, BOOL_OPTS, [], ['input', 'input-file', 'work-dir']);
  if (explicit.has('input-file')) explicit.add('input');
  const june = values['june-2022'] === true;
  const str = (k: keyof typeof DEFAULTS | (typeof STRING_OPTS)[number]) =>
    (values[k] as string | undefined) ??
    (june ? (JUNE_2022 as Record<string, string>)[k] : undefined) ??
    (DEFAULTS as Record<string, string>)[k];
  const type = str('type') as string;
  if (!isZooType(type)) throw new UsageError(`unknown model type '${type}': choose one of ${ZOO_TYPES.join(', ')}`);
  const temperature = num(str('temperature'), 'temperature')!;
  if (!(temperature >= 0)) throw new UsageError(`--temperature must be ≥ 0 (0: greedy), got '${str('temperature')}'`);
  const workers = num(str('workers'), 'workers', { int: true, min: 1 })!;
  const init = str('init');
  if (init !== undefined && init !== 'torch' && init !== 'gpt')
    throw new UsageError(`--init must be torch or gpt, got '${init}'`);
  const decay = str('decay')!;
  if (decay !== 'all' && decay !== 'linear') throw new UsageError(`--decay must be all or linear, got '${decay}'`);
  const dropout = num(str('dropout'), 'dropout', { min: 0 });
  if (dropout !== undefined && !(dropout < 1))
    throw new UsageError(`--dropout must be in [0, 1), got '${str('dropout')}'`);
  if (workers > 2) throw new UsageError(`--workers must be 1 or 2, got '${str('workers')}'`);
  const a = {
    explicit,
    workers,
    initSeed: num(str('init-seed'), 'init-seed', { int: true, min: 0 }),
    help: values.help === true,
    input: (values['input-file'] as string | undefined) ?? str('input')!,
    workDir: str('work-dir')!,
    type,
    maxSteps: num(str('max-steps'), 'max-steps', { int: true, min: 1, allowNegOne: true })!,
    resume: values.resume === true,
    overwrite: values.overwrite === true,
    sampleOnly: values['sample-only'] === true,
    seed: num(str('seed'), 'seed', { int: true, min: 0 })!,
    batchSize: num(str('batch-size'), 'batch-size', { int: true, min: 1, max: MAX_BATCH })!,
    lr: num(str('learning-rate'), 'learning-rate', { min: 0 })!,
    wd: num(str('weight-decay'), 'weight-decay', { min: 0 })!,
    evalEvery: num(str('eval-every'), 'eval-every', { int: true, min: 1 })!,
    nLayer: num(str('n-layer'), 'n-layer', { int: true, min: 1 }),
    nHead: num(str('n-head'), 'n-head', { int: true, min: 1 }),
    nEmbd: num(str('n-embd'), 'n-embd', { int: true, min: 1 }),
    nEmbd2: num(str('n-embd2'), 'n-embd2', { int: true, min: 1 }),
    numSamples: num(str('num-samples'), 'num-samples', { int: true, min: 0 })!,
    temperature,
    topK: num(str('top-k'), 'top-k', { int: true, min: 1 }),
    gradClip: num(str('grad-clip'), 'grad-clip', { min: 0 })!,
    lrDrop: num(str('lr-drop'), 'lr-drop', { int: true, min: 1 }),
    dropout,
    init: init as 'torch' | 'gpt' | undefined,
    decay: decay as 'all' | 'linear',
    maxWordLength: num(str('max-word-length'), 'max-word-length', { int: true, min: 1 })!,
  };
  if (june) for (const k of Object.keys(JUNE_2022)) explicit.add(k);
  if (a.type !== 'transformer')
    for (const [flag, given] of [
      ['dropout', a.dropout !== undefined && a.dropout > 0],
      ['init', a.init === 'gpt'],
      ['decay', a.decay === 'linear'],
    ] as const)
      if (given && explicit.has(flag))
        throw new UsageError(
          `--${flag} is the transformer's only (--type ${a.type})${june ? ' (set by --june-2022)' : ''}`,
        );
  if (a.resume && a.overwrite)
    throw new UsageError('--resume continues the run in --work-dir, --overwrite replaces it: give one of them');
  if (a.sampleOnly && (a.resume || a.overwrite))
    throw new UsageError('--sample-only only reads the checkpoint: it does not go with --resume or --overwrite');
  return a;
}

export type Args = ReturnType<typeof parse>;

/** An exit code for main(): the phase that returns one has already said why. */
export type ExitCode = number;

/** A usage problem found after parsing (contradicting flags, a work dir in use): the message, exit 2. */
export function usageExit(msg: string): ExitCode {
  console.error(`makemore: ${msg}`);
  return 2;
}

/** The flags; a bad one prints the message and the usage (exit 2). */
export function parseCommandLine(argv: readonly string[]): Args | ExitCode {
  try {
    return parse(argv);
  } catch (e) {
    console.error(`makemore: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
}
