/**
 * Every model type by name (makemore's `--type`).
 */
import type { Rng } from '../random/rng';
import { RecurrentLM, type CellType } from './recurrent';
import { LanguageModel } from './language-model';
import { ModelConfig } from './zoo/config';
import { Bigram } from './zoo/bigram';
import { MakemoreMLP } from './zoo/mlp';
import { BagOfWords } from './zoo/bow';
import { Transformer } from './zoo/transformer';

export const MODEL_TYPES = ['bigram', 'mlp', 'rnn', 'gru', 'lstm', 'bow', 'transformer'] as const;
export type ModelType = (typeof MODEL_TYPES)[number];

/** makemore's `--type`: builds any model of the zoo. */
export function createModel(type: string, config: ModelConfig, rng: Rng): LanguageModel {
  switch (type) {
    case 'bigram':
      return new Bigram(config);
    case 'mlp':
      return new MakemoreMLP(config, rng);
    case 'bow':
      return new BagOfWords(config, rng);
    case 'transformer':
      return new Transformer(config, rng);
    case 'rnn':
    case 'gru':
    case 'lstm':
      return new RecurrentLM(
        {
          cell: type as CellType,
          vocabSize: config.vocabSize,
          blockSize: config.blockSize,
          nEmbd: config.nEmbd,
          nHidden: config.nEmbd2,
        },
        rng,
      );
    default:
      throw new Error(`unknown model type '${type}': choose one of ${MODEL_TYPES.join(', ')}`);
  }
}
