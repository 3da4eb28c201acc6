/**
 * Exercise of notebook 05 (the MLP): beat the lecture's dev loss, measured here on every dev example.
 */
import { tf } from '../runtime/tf';
import { grade, expect, type Verdict } from './check';
import type { LectureData } from '../data/setups';
import { buildWindows } from '../data/windows';
import { evaluateWindows } from '../train/evaluate';
import { bigramProbabilities, countMatrix, likelihood } from '../counting/bigrams';
import { isQuick } from '../runtime/mode';

/** The lecture's dev loss for its MLP (makemore part 2: 2.17). */
export const LECTURE_DEV_LOSS = 2.17;

/** What the check needs of a model: a window model's loss on contexts of its own block size. */
export interface WindowScorer {
  readonly reads: 'window' | 'sequence';
  readonly blockSize: number;
  readonly vocabSize: number;
  loss(X: tf.Tensor, Y: tf.Tensor): tf.Scalar;
}

/**
 * 05 · Exercise 3: a trained window model whose dev loss, measured here over every dev example with its own
 * block size (evaluation mode), is below the lecture's 2.17 — in quick mode below the bigram model's dev
 * loss, a relaxed bar the output states.
 */
export function checkBeatsLectureDevLoss(model: WindowScorer | undefined, data: LectureData): Verdict {
  return grade("05·3 beat the lecture's dev loss", model, (m) => {
    expect(
      typeof m === 'object' && m !== null && typeof m.loss === 'function',
      'expected a trained model with a loss(X, Y) method (e.g. an MLP)',
    );
    expect(
      m.reads === 'window',
      `this model reads '${m.reads}'s; the check scores window models (context of blockSize characters → next)`,
    );
    expect(
      m.vocabSize === data.vocab.size,
      `the model predicts ${m.vocabSize} characters, the data has ${data.vocab.size}`,
    );
    const bs = m.blockSize;
    const windows = (words: string[]) => buildWindows(words, data.vocab, bs);
    const dev = bs === data.windows.dev.blockSize ? data.windows.dev : windows(data.split.dev);
    const lossOf = (X: tf.Tensor2D, Y: tf.Tensor1D) => m.loss(X, Y);
    const devLoss = evaluateWindows(dev, lossOf);
    const bigram = likelihood(
      bigramProbabilities(countMatrix(data.split.train, data.vocab), 1),
      data.split.dev,
      data.vocab,
    ).nll;
    const quick = isQuick();
    const bar = quick ? bigram : LECTURE_DEV_LOSS;
    const barText = quick
      ? `the quick-mode bar ${bar.toFixed(4)} (relaxed from the lecture's ${LECTURE_DEV_LOSS}: the bigram model's dev loss, ` +
        'as quick mode trains only a few steps)'
      : `the lecture's ${LECTURE_DEV_LOSS}`;
    expect(
      Number.isFinite(devLoss) && devLoss < bar,
      `dev loss ${devLoss.toFixed(4)} (over all ${dev.n} dev examples) is not below ${barText}`,
    );
    const train = bs === data.windows.train.blockSize ? data.windows.train : windows(data.split.train);
    const trainLoss = evaluateWindows(train, lossOf);
    return (
      `dev loss ${devLoss.toFixed(4)} < ${barText}; train ${trainLoss.toFixed(4)} ` +
      `(${trainLoss < devLoss - 0.05 ? 'a gap: some overfitting' : 'close to dev: no overfitting to speak of'})`
    );
  });
}
