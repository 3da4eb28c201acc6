/**
 * makemore's checks before the lock: what an older checkpoint implies, the flags that depend on the
 * model, the data (enough words, the checkpoint's vocabulary and block size) and the model's size.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { loadWords } from '../../../lib/data/files';
import { Vocab } from '../../../lib/data/vocab';
import { sequenceBlockSize } from '../../../lib/data/sequences';
import { makemoreData, type MakemoreData } from '../../../lib/data/setups';
import { isZooType, type ZooType } from '../../../lib/models/registry';
import { checkZooConfig, defaultConfig, zooParamCount, type ZooConfig } from '../../../lib/models/zoo/config';
import { MAX_MODEL_PARAMS } from '../flags';
import { topologyFile } from '../../../lib/train/saved-model';
import { rel, usageExit, type ExitCode, type Resumed } from '../run/lifecycle';
import type { Values } from '../run/options';
import { TABLE, type Args } from './args';

export type MakemoreResumed = Resumed<typeof TABLE>;

/** The words, their split and the model's shape. */
export interface RunData {
  words: string[];
  dataSha256: string;
  vocab: Vocab;
  blockSize: number;
  config: ZooConfig;
  data: MakemoreData;
}

/**
 * What a checkpoint implies besides its settings: the model type (its topology's), and for a checkpoint
 * of an older makemore, which kept the sizes only in the model's config (a makemore ZooConfig), those.
 */
export function recorded(r: MakemoreResumed): Partial<Values<typeof TABLE>> {
  const where = rel(topologyFile(path.join(r.from, 'model')));
  const type = r.topology.type;
  if (!isZooType(type)) throw new Error(`${where}: the checkpoint holds an unknown model type '${type}'`);
  if ('nLayer' in r.settings) return { type };
  const c = checkZooConfig(where, type, r.topology.config);
  return {
    type,
    nLayer: c.nLayer,
    nHead: c.nHead,
    nEmbd: c.nEmbd,
    nEmbd2: c.nEmbd2,
    dropout: c.dropout ?? 0,
    init: c.init ?? 'torch',
  };
}

/** The flags that depend on the model (after the checkpoint's settings are taken), or null. */
function modelFlagProblem(a: Args): string | null {
  const from = (key: 'nEmbd' | 'nHead') => (a.fromFile.has(key) ? ` (from ${a.fromFile.get(key)})` : '');
  if (a.workers === 2 && a.type === 'wavenet')
    return "--workers 2 splits every batch in two, but WaveNet's BatchNorm needs the whole batch's statistics: use --workers 1";
  if (a.workers === 2 && a.batchSize < 2)
    return `--workers 2 splits every batch in two: it needs --batch-size ≥ 2, got ${a.batchSize}`;
  const c = zooConfig(a, 1, 1);
  if (a.type === 'transformer' && c.nEmbd % c.nHead !== 0)
    return `the transformer needs --n-embd ${c.nEmbd}${a.nEmbd === undefined ? " (the type's default)" : from('nEmbd')} divisible by --n-head ${c.nHead}${a.nHead === undefined ? " (the type's default)" : from('nHead')}`;
  return null;
}

/** makemore's model settings from the options: the type's default sizes where none are given. */
function zooConfig(a: Args, vocabSize: number, blockSize: number): ZooConfig {
  const d = defaultConfig(a.type);
  const config: ZooConfig = {
    vocabSize,
    blockSize,
    nLayer: a.nLayer ?? d.nLayer,
    nHead: a.nHead ?? d.nHead,
    nEmbd: a.nEmbd ?? d.nEmbd,
    nEmbd2: a.nEmbd2 ?? d.nEmbd2,
  };
  // absent unless set: a default run's config reads as today's makemore
  if (a.dropout > 0) config.dropout = a.dropout;
  if (a.init !== 'torch') config.init = a.init;
  return config;
}

/**
 * The data, checked before any training: enough words for a test set and, from a checkpoint, the
 * checkpoint's vocabulary and no word longer than its block size. Sets the model's sizes in `a`.
 */
export function prepare(a: Args, resumed: MakemoreResumed | null): RunData | ExitCode {
  const problem = modelFlagProblem(a);
  if (problem) return usageExit('makemore', problem);
  const words = loadWords(a.input, { maxWordLength: a.maxWordLength });
  const nTest = Math.min(1000, Math.floor(words.length * 0.1));
  if (nTest < 1)
    throw new Error(
      `${a.input} has ${words.length} words: makemore keeps 10 % of them (at most 1,000) as the test set, so it needs at least 10 words (here: ${words.length - nTest} train / ${nTest} test)`,
    );
  const dataSha256 = createHash('sha256').update(words.join('\n')).digest('hex');
  const boundary = words.some((w) => w.includes('.')) ? '\u0000' : '.';
  let vocab = Vocab.fromWords(words, boundary);
  const longest = sequenceBlockSize(words) - 1;
  let blockSize = longest + 1;
  if (resumed) {
    const { from, topology: t } = resumed;
    if (t.itos.join('') !== vocab.itos.join('') || t.boundary !== vocab.boundary) {
      return usageExit(
        'makemore',
        `--input ${a.input} has the vocabulary ${JSON.stringify(vocab.itos.join(''))} (${vocab.size} symbols), the checkpoint in ${rel(from)} ${JSON.stringify(t.itos.join(''))} (${t.itos.length} symbols): it was trained on other data`,
      );
    }
    vocab = new Vocab(t.itos, t.boundary);
    blockSize = (t.config as { blockSize: number }).blockSize;
    if (longest + 1 > blockSize) {
      const i = words.findIndex((w) => [...w].length === longest);
      throw new Error(
        `${a.input}: '${words[i]}' (word ${i + 1}) has ${longest} characters, but the model in ${rel(from)} takes at most ${blockSize - 1} (block size ${blockSize})`,
      );
    }
    const { words: n, dataSha256: sha } = resumed.info.settings;
    if (a.resume && sha !== undefined && sha !== dataSha256)
      console.log(
        `note: ${a.input} (${words.length} words) is not the data this run was trained on (${String(n)} words): the split and batches differ from here on`,
      );
  }
  const config = zooConfig(a, vocab.size, blockSize);
  Object.assign(a, { nLayer: config.nLayer, nHead: config.nHead, nEmbd: config.nEmbd, nEmbd2: config.nEmbd2 });
  const tooBig = checkModelSize(a.type, config);
  if (tooBig) return usageExit('makemore', tooBig);
  const data = makemoreData(words, { vocab, blockSize, seed: a.seed });
  console.log(
    `${words.length} words, ${vocab.size} symbols (${JSON.stringify(vocab.itos.slice(1).join(''))}), block size ${blockSize}; ${data.split.train.length} train / ${data.split.test.length} test`,
  );
  return { words, dataSha256, vocab, blockSize, config, data };
}

/** Why the model the flags describe cannot be built (a size out of range, too many parameters), or null. */
function checkModelSize(type: ZooType, config: ZooConfig): string | null {
  const flag = (key: string) => `--${key.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}`;
  try {
    checkZooConfig('flags', type, config);
  } catch (e) {
    return (e as Error).message.replace(/^flags: config\.(\w+)/, (_, key: string) => flag(key));
  }
  const n = zooParamCount(type, config);
  if (n > MAX_MODEL_PARAMS)
    return `a ${type} with ${(['nLayer', 'nHead', 'nEmbd', 'nEmbd2'] as const).map((k) => `${flag(k)} ${config[k]}`).join(' ')} and block size ${config.blockSize} has ${n.toLocaleString('en-US')} parameters, more than the ${MAX_MODEL_PARAMS.toLocaleString('en-US')} this CLI builds`;
  return null;
}
