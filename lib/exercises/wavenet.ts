/**
 * Notebook 11's exercises: FlattenConsecutive's forward (checked against lib's layer), BatchNorm's
 * statistics on [B, T, C] (per channel over B and T — the lecture's bug is recognised), and beating the
 * lecture's dev loss of 1.993 with a model of one's own, whose dev loss the check measures itself.
 */
import { tf } from '../runtime/tf';
import { FlattenConsecutive } from '../nn/layers';
import { crossEntropy } from '../nn/losses';
import { lectureData } from '../data/setups';
import { evaluateWindows } from '../train/evaluate';
import { isQuick } from '../runtime/mode';
import { TorchGenerator } from '../random/torch-generator';
import { expect, formatShape, type Verdict } from './check';
import { expectClose, expectTensor, gradeTidy, randomTensor } from './compare-tensors';

/** [B, T, C] and n → [B, T/n, C·n], or [B, C·n] when T/n is 1. */
export type Flatten = (x: tf.Tensor3D, n: number) => tf.Tensor | undefined;
/** x [B, C] or [B, T, C] → BatchNorm's training statistics: mean and (biased) variance per channel, [C] each. */
export type BatchNormStats = (x: tf.Tensor) => { mean: tf.Tensor; variance: tf.Tensor } | undefined;
/** What the dev-loss check needs of a model: its context length and logits [B, 27] for windows [B, blockSize]. */
export interface WindowModel {
  readonly blockSize: number;
  forward(idx: tf.Tensor2D): { logits: tf.Tensor };
}

/** The lecture's dev loss for its final WaveNet (part 5). */
export const LECTURE_DEV_LOSS = 1.993;
/** The bar in quick mode, where a solution trains for seconds: an MLP-like model gets there in a few hundred steps. */
export const QUICK_DEV_LOSS = 2.6;

/** Checks FlattenConsecutive's forward against lib's layer for several shapes and n (time axis squeezed when T/n = 1). */
export function checkFlattenConsecutive(flatten: Flatten | undefined): Verdict {
  const cases: [number[], number][] = [
    [[4, 8, 10], 2],
    [[4, 8, 10], 8],
    [[3, 4, 5], 4],
    [[2, 6, 3], 3],
  ];
  return gradeTidy(
    '11·1 FlattenConsecutive',
    flatten,
    (f) => {
      const g = new TorchGenerator(3);
      for (const [shape, n] of cases) {
        const [B, T, C] = shape as [number, number, number];
        const x = randomTensor(g, shape) as tf.Tensor3D;
        const want = new FlattenConsecutive(n).forward(x);
        const got = f(x, n);
        const what = `flatten(x ${formatShape(shape)}, ${n})`;
        const squeezeHint =
          T / n === 1 && got instanceof tf.Tensor && got.rank === 3 && got.shape[1] === 1
            ? `: when T/n = 1 the time axis is squeezed away, giving [B, C·n] = ${formatShape(want.shape)}`
            : '';
        expect(
          !squeezeHint,
          `${what} has shape ${formatShape((got as tf.Tensor).shape)}; expected ${formatShape(want.shape)}${squeezeHint}`,
        );
        expectTensor(what, got, want.shape, T / n === 1 ? 'B, C·n' : 'B, T/n, C·n');
        const strided = x
          .reshape([B, n, T / n, C])
          .transpose([0, 2, 1, 3])
          .reshape(want.shape);
        const interleaved = x
          .transpose([0, 2, 1])
          .reshape([B, C, T / n, n])
          .transpose([0, 2, 3, 1])
          .reshape(want.shape);
        expectClose(what, got, want, {
          shape: want.shape,
          reference: "lib's FlattenConsecutive",
          mistakes: [
            {
              value: strided,
              hint: `You grouped positions t, t + ${T / n}, …; the group is ${n} consecutive positions, their vectors side by side.`,
            },
            {
              value: interleaved,
              hint: `Your numbers interleave the ${n} vectors channel by channel; concatenate them: all C numbers of the first, then of the second, …`,
            },
          ],
        });
      }
      return `equal to lib's FlattenConsecutive for ${cases.length} shapes, the squeezed case included`;
    },
    (f) => f(tf.zeros([1, 2, 1]) as tf.Tensor3D, 2),
  );
}

/** Checks BatchNorm's training statistics: per channel over every axis but the last, variance with 1/N. */
export function checkBatchNormStats(stats: BatchNormStats | undefined): Verdict {
  return gradeTidy(
    '11·2 BatchNorm statistics on [B, T, C]',
    stats,
    (f) => {
      const g = new TorchGenerator(4);
      for (const shape of [
        [32, 4, 68],
        [32, 68],
        [5, 2, 3],
      ]) {
        const x = randomTensor(g, shape)
          .mul(tf.range(1, (shape.at(-1) as number) + 1))
          .add(0.5);
        const C = shape.at(-1) as number;
        const got = f(x);
        const what = `for x ${formatShape(shape)}`;
        expect(
          typeof got === 'object' && got !== null && 'mean' in got && 'variance' in got,
          'stats must return { mean, variance }',
        );
        for (const key of ['mean', 'variance'] as const) {
          const t = got[key];
          expect(t instanceof tf.Tensor, `the ${key} ${what} is not a tensor`);
          const bug = shape.length === 3 && t.size === (shape[1] as number) * C;
          expect(
            !bug,
            `the ${key} ${what} has shape ${formatShape(t.shape)}: one statistic per position and channel, over the 32 examples only — the lecture's bug. ` +
              'Average over dims 0 and 1 (the batch and the time axis): one number per channel.',
          );
          // [C], or with the reduced axes kept ([1, C], [1, 1, C])
          const flat = t.size === C && t.shape.at(-1) === C ? t.reshape([C]) : t;
          expectTensor(`the ${key} ${what}`, flat, [C], 'C');
        }
        const rows = x.reshape([-1, C]);
        const m = tf.moments(rows, 0);
        const N = rows.shape[0] as number;
        expectClose(`the mean ${what}`, got.mean, m.mean, {
          shape: [C],
          reference: 'the batch',
          tol: { abs: 1e-5, rel: 1e-4 },
        });
        expectClose(`the variance ${what}`, got.variance, m.variance, {
          shape: [C],
          reference: 'the batch',
          tol: { abs: 1e-5, rel: 1e-4 },
          mistakes: [
            {
              value: m.variance.mul(N / (N - 1)),
              hint: `That is the unbiased variance (÷ N − 1); BatchNorm normalises with the biased one (÷ N, N = ${N} here).`,
            },
          ],
        });
      }
      return 'mean and variance per channel over B and T for [32, 4, 68], [32, 68] and [5, 2, 3]';
    },
    (f) => f(tf.ones([2, 2, 1])),
  );
}

/**
 * Checks the learner's model beats the lecture's dev loss (1.993; in quick mode a relaxed bar, stated in the
 * output): the check evaluates the model itself on the dev split (lecture's split, its own context length).
 */
export function checkBeatsLecture(model: WindowModel | undefined): Verdict {
  const quick = isQuick();
  const bar = quick ? QUICK_DEV_LOSS : LECTURE_DEV_LOSS;
  const barText = quick
    ? `the quick-mode bar ${QUICK_DEV_LOSS} (relaxed from the lecture's ${LECTURE_DEV_LOSS}: quick mode trains for seconds)`
    : `the lecture's ${LECTURE_DEV_LOSS}`;
  return gradeTidy('11·3 beat 1.993', model, (m) => {
    const T = m.blockSize;
    expect(
      Number.isInteger(T) && T >= 1 && T <= 32,
      `the model's blockSize is ${String(T)}: expected its context length, 1 to 32`,
    );
    const dev = lectureData(T).windows.dev;
    const probe = tf.tensor2d(dev.X.subarray(0, 4 * T), [4, T], 'int32');
    const logits = m.forward(probe).logits;
    expectTensor('the logits for 4 windows', logits, [4, 27], 'B, 27');
    let bad: number | null = null;
    const loss = evaluateWindows(dev, (X, Y) => {
      const l = m.forward(X).logits;
      if (bad === null && !l.isFinite().all().dataSync()[0]) bad = X.shape[0];
      return crossEntropy(l, Y);
    });
    expect(bad === null, 'the model gives NaN or infinite logits on the dev set');
    expect(
      loss < bar,
      `dev loss ${loss.toFixed(4)} (${dev.n.toLocaleString('en-US')} dev windows, context ${T}) is not below ${barText}`,
    );
    return `dev loss ${loss.toFixed(4)}, ${(bar - loss).toFixed(4)} below ${barText}`;
  });
}
