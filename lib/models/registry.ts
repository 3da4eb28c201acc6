/**
 * Every model type by the name a checkpoint records, with the config it is built from. The builder
 * table is typed over every key of ModelConfigs, so the compiler rejects a type without a builder.
 */
import type { Rng } from '../random/rng';
import type { LanguageModel } from './language-model';
import { BigramNet } from './lecture/bigram-net';
import { MLP } from './lecture/mlp';
import { Sequential } from './lecture/sequential';
import { GptStage } from './lecture/gpt-stages';
import { Bigram } from './zoo/bigram';
import { MakemoreMLP } from './zoo/mlp';
import { BagOfWords } from './zoo/bow';
import { Transformer } from './zoo/transformer';
import { WaveNet } from './zoo/wavenet';
import type { ZooConfig } from './zoo/config';
import { RecurrentLM } from './recurrent';
import { GPT } from './gpt';
import type { ModelConfigs, ModelType } from './configs';

export type { ModelConfigs, ModelType };

const BUILDERS: { [T in ModelType]: (config: ModelConfigs[T], rng: Rng) => LanguageModel } = {
  'bigram-net': (c, rng) => new BigramNet(rng, c.vocabSize),
  'lecture-mlp': (c, rng) => new MLP(c, rng),
  sequential: (c, rng) => Sequential.fromConfig(c, rng),
  'gpt-stage': (c, rng) => new GptStage(c, rng),
  bigram: (c) => new Bigram(c),
  mlp: (c, rng) => new MakemoreMLP(c, rng),
  bow: (c, rng) => new BagOfWords(c, rng),
  transformer: (c, rng) => new Transformer(c, rng),
  wavenet: (c, rng) => new WaveNet(c, rng),
  rnn: (c, rng) => new RecurrentLM({ ...c, cell: 'rnn' }, rng),
  gru: (c, rng) => new RecurrentLM({ ...c, cell: 'gru' }, rng),
  lstm: (c, rng) => new RecurrentLM({ ...c, cell: 'lstm' }, rng),
  gpt: (c, rng) => new GPT(c, rng),
};

/** Every type, in the order ModelConfigs lists them. */
export const MODEL_TYPES = Object.keys(BUILDERS) as ModelType[];

export function isModelType(type: string): type is ModelType {
  return Object.hasOwn(BUILDERS, type);
}

/** Builds a model of any type; weights drawn from `rng` (or loaded afterwards with loadWeights). */
export function createModel<T extends ModelType>(type: T, config: ModelConfigs[T], rng: Rng): LanguageModel {
  if (!isModelType(type))
    throw new Error(`unknown model type '${String(type)}': choose one of ${Object.keys(BUILDERS).join(', ')}`);
  return (BUILDERS[type] as (c: ModelConfigs[T], rng: Rng) => LanguageModel)(config, rng);
}

/** makemore's `--type`, in makemore's order, and the WaveNet lecture's model. */
export const ZOO_TYPES = [
  'bigram',
  'mlp',
  'rnn',
  'gru',
  'lstm',
  'bow',
  'transformer',
  'wavenet',
] as const satisfies readonly ModelType[];
export type ZooType = (typeof ZOO_TYPES)[number];

export function isZooType(type: string): type is ZooType {
  return (ZOO_TYPES as readonly string[]).includes(type);
}

/** A zoo model from makemore's settings (the recurrent cells take n_embd2 as their hidden size). */
export function zooModel(type: string, c: ZooConfig, rng: Rng): LanguageModel {
  if (!isZooType(type)) throw new Error(`unknown model type '${type}': choose one of ${ZOO_TYPES.join(', ')}`);
  switch (type) {
    case 'rnn':
    case 'gru':
    case 'lstm':
      return createModel(
        type,
        { cell: type, vocabSize: c.vocabSize, blockSize: c.blockSize, nEmbd: c.nEmbd, nHidden: c.nEmbd2 },
        rng,
      );
    default:
      return createModel(type, c, rng);
  }
}
