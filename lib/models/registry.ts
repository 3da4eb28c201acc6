/**
 * Every model type by the name a checkpoint records, with the config it is built from. The builder
 * table is typed over every key of ModelConfigs, so the compiler rejects a type without a builder.
 */
import type { Rng } from '../random/rng';
import type { LanguageModel } from './language-model';
import { BigramNet, bigramNetStateDict } from './lecture/bigram-net';
import { lectureMlpStateDict, MLP } from './lecture/mlp';
import { Sequential, sequentialStateDict } from './lecture/sequential';
import { Bigram, bigramStateDict } from './zoo/bigram';
import { MakemoreMLP, mlpStateDict } from './zoo/mlp';
import { BagOfWords, bowStateDict } from './zoo/bow';
import { Transformer, transformerStateDict } from './zoo/transformer';
import { WaveNet, wavenetStateDict } from './zoo/wavenet';
import type { ZooConfig } from './zoo/config';
import { RecurrentLM, recurrentStateDict } from './recurrent';
import { GptStage, gptStageStateDict } from './lecture/gpt-stages';
import { GPT } from './gpt';
import { gptStateDict, nanoGptConfig } from './gpt-config';
import type { MakemoreConfig, StateDictLayout } from './torch-names';
import type { GPTConfig, ModelConfigs, ModelType } from './configs';

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

/**
 * Every type's PyTorch state_dict (torch-names.ts), from its config alone: the names, shapes and layouts
 * model.safetensors holds. Typed over every key of ModelConfigs: a new model type must add its own.
 */
const STATE_DICTS: { [T in ModelType]: (config: ModelConfigs[T]) => StateDictLayout } = {
  'bigram-net': bigramNetStateDict,
  'lecture-mlp': lectureMlpStateDict,
  sequential: sequentialStateDict,
  bigram: bigramStateDict,
  mlp: mlpStateDict,
  bow: bowStateDict,
  transformer: transformerStateDict,
  wavenet: wavenetStateDict,
  rnn: (c) => recurrentStateDict({ ...c, cell: 'rnn' }),
  gru: (c) => recurrentStateDict({ ...c, cell: 'gru' }),
  lstm: (c) => recurrentStateDict({ ...c, cell: 'lstm' }),
  'gpt-stage': gptStageStateDict,
  gpt: gptStateDict,
};

/** A model type's state_dict layout for a (checked) config. */
export function stateDictLayout<T extends ModelType>(type: T, config: ModelConfigs[T]): StateDictLayout {
  return (STATE_DICTS[type] as (c: ModelConfigs[T]) => StateDictLayout)(config);
}

/**
 * What config.json holds besides `model_type`: for makemore's types, makemore's ModelConfig fields
 * (`ModelConfig(**fields)` takes them; a recurrent model's hidden size is n_embd2, its n_layer and n_head
 * are makemore's defaults, unused); for the lecture models, which have no PyTorch class, our config.
 */
export function torchConfig(type: ModelType, config: ModelConfigs[ModelType]): MakemoreConfig | object {
  if (type === 'rnn' || type === 'gru' || type === 'lstm') {
    const c = config as RecurrentConfigOf;
    return {
      block_size: c.blockSize,
      vocab_size: c.vocabSize,
      n_layer: 4,
      n_embd: c.nEmbd,
      n_embd2: c.nHidden,
      n_head: 4,
    };
  }
  if (type === 'gpt') return nanoGptConfig(config as GPTConfig);
  if (isZooType(type)) {
    const c = config as ZooConfig;
    return {
      block_size: c.blockSize,
      vocab_size: c.vocabSize,
      n_layer: c.nLayer,
      n_embd: c.nEmbd,
      n_embd2: c.nEmbd2,
      n_head: c.nHead,
    };
  }
  return config;
}

/**
 * createModel's config from config.json's fields (torchConfig's inverse), unchecked: the caller checks it
 * (checkZooConfig …). The transformer's dropout and init are Sequentia's and not in makemore's config.
 */
export function configFromTorch(type: ModelType, t: Record<string, unknown>): unknown {
  // a PyTorch file of nanoGPT's: its GPTConfig, and what nanoGPT's model always is (exact GELU, a tied head)
  if (type === 'gpt') {
    const g = { vocabSize: t.vocab_size, blockSize: t.block_size, nLayer: t.n_layer, nHead: t.n_head };
    return {
      ...g,
      nEmbd: t.n_embd,
      dropout: t.dropout,
      bias: t.bias,
      activation: 'gelu',
      tieWeights: true,
      init: 'nanogpt',
    };
  }
  if (!isZooType(type)) return t;
  const c = { vocabSize: t.vocab_size, blockSize: t.block_size, nEmbd: t.n_embd };
  if (type === 'rnn' || type === 'gru' || type === 'lstm') return { cell: type, ...c, nHidden: t.n_embd2 };
  return { ...c, nLayer: t.n_layer, nHead: t.n_head, nEmbd2: t.n_embd2 };
}

type RecurrentConfigOf = ModelConfigs['rnn'];

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
