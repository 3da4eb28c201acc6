/**
 * Notebook 12's exercises ("Let's build GPT"): the averaging matrix of "the mathematical trick", the
 * masked softmax, the scaled attention scores (and what the softmax does without the scale), and the
 * parameter count of one transformer block (checked against lib's model of that block).
 */
import { tf } from '../runtime/tf';
import { TorchGenerator } from '../random/torch-generator';
import { GptStage } from '../models/lecture/gpt-stages';
import { expect, grade, type Verdict } from './check';
import { expectClose, expectTensor, gradeTidy, num, randomTensor } from './compare-tensors';

/** T → [T, T]: row t averages positions 0 … t (weights 1/(t + 1) there, 0 after). */
export type AverageMatrix = (T: number) => tf.Tensor | undefined;
/** Attention scores [B, T, T] → causal attention weights [B, T, T] (each row a softmax over positions ≤ t). */
export type MaskedSoftmax = (scores: tf.Tensor3D) => tf.Tensor | undefined;
/** Queries and keys [B, T, hs] → the scaled attention scores q·kᵀ/√hs [B, T, T]. */
export type ScaledScores = (q: tf.Tensor3D, k: tf.Tensor3D) => tf.Tensor | undefined;
/** n_embd and n_head → the parameters of one pre-norm transformer block as the lecture's gpt.py has it. */
export type BlockParams = (nEmbd: number, nHead: number) => number | undefined;

const lowerOnes = (T: number) => tf.linalg.bandPart(tf.ones([T, T]), -1, 0);
const causalAdd = (T: number) => lowerOnes(T).sub(1).mul(1e9);

/** Checks the averaging matrix for T = 1, 4 and 8, every entry. */
export function checkAverageMatrix(f: AverageMatrix | undefined): Verdict {
  return gradeTidy(
    '12·1 the averaging matrix',
    f,
    (fn) => {
      for (const T of [4, 8, 1]) {
        const got = fn(T);
        expectTensor(`averageMatrix(${T})`, got, [T, T], 'T, T');
        const ones = lowerOnes(T);
        const upper = tf.linalg.bandPart(tf.ones([T, T]), 0, -1);
        const want = ones.div(ones.sum(1, true));
        expectClose(`averageMatrix(${T})`, got, want, {
          shape: [T, T],
          mistakes: [
            {
              value: ones,
              hint: 'Each row still sums to t + 1: divide every row by its sum (the number of positions it averages).',
            },
            {
              value: want.transpose(),
              hint: 'This is the transpose: row t is the position that averages, column s a position it reads (s ≤ t), so the zeros are above the diagonal.',
            },
            {
              value: ones.div(ones.sum(0, true)),
              hint: 'The columns sum to 1, not the rows: divide by each row’s sum (sum over axis 1, keepDims).',
            },
            {
              value: upper.div(upper.sum(1, true)),
              hint: 'The ones are above the diagonal: row t reads positions after t, the future. Keep the lower triangle, bandPart(ones, -1, 0).',
            },
          ],
        });
      }
      return 'right for T = 1, 4 and 8: wei @ x averages each position’s past, as the loops did';
    },
    (fn) => fn(2),
  );
}

/** Checks the masked softmax against softmax(scores + causal mask) on random scores [2, 6, 6]. */
export function checkMaskedSoftmax(f: MaskedSoftmax | undefined): Verdict {
  const B = 2;
  const T = 6;
  return gradeTidy(
    '12·2 the masked softmax',
    f,
    (fn) => {
      const scores = randomTensor(new TorchGenerator(12), [B, T, T], 2) as tf.Tensor3D;
      const got = fn(scores);
      expectTensor('the weights', got, [B, T, T], 'B, T, T');
      const want = tf.softmax(scores.add(causalAdd(T)));
      expectClose('the weights', got, want, {
        shape: [B, T, T],
        mistakes: [
          {
            value: tf.softmax(scores),
            hint: 'No mask: every position reads its future too. Set the scores above the diagonal to −Infinity before the softmax.',
          },
          {
            value: tf.softmax(scores.mul(lowerOnes(T))),
            hint: 'The future’s scores are 0, not −Infinity: exp(0) = 1, so the future still gets weight. Fill them with −Infinity.',
          },
          {
            value: tf.softmax(scores).mul(lowerOnes(T)),
            hint: 'The mask came after the softmax: the rows no longer sum to 1. Mask the scores, then take the softmax.',
          },
          {
            value: tf.softmax(scores.add(causalAdd(T)).transpose([0, 2, 1])).transpose([0, 2, 1]),
            hint: 'The softmax ran over the wrong axis: each row (the last axis, the positions read) must sum to 1.',
          },
        ],
      });
      return 'right on random scores [2, 6, 6]: every row sums to 1 over the positions ≤ t';
    },
    (fn) => fn(tf.zeros([1, 2, 2]) as tf.Tensor3D),
  );
}

/** Mean over rows of a row's largest causal softmax weight, for scores [B, T, T]. */
function meanMaxWeight(scores: tf.Tensor3D): number {
  const T = scores.shape[1];
  return tf
    .softmax(scores.add(causalAdd(T)))
    .max(-1)
    .mean()
    .dataSync()[0] as number;
}

const variance = (t: tf.Tensor) => tf.moments(t).variance.dataSync()[0] as number;

/**
 * Checks the scaled scores on unit-Gaussian q and k [4, 32, hs] for head sizes 16 and 256, and reports
 * their variance and how peaked the causal softmax of them is, scaled and not.
 */
export function checkScaledScores(f: ScaledScores | undefined): Verdict {
  const B = 4;
  const T = 32;
  return gradeTidy(
    '12·3 scaled attention scores',
    f,
    (fn) => {
      const seen: string[] = [];
      for (const hs of [16, 256]) {
        const g = new TorchGenerator(hs);
        const q = randomTensor(g, [B, T, hs]) as tf.Tensor3D;
        const k = randomTensor(g, [B, T, hs]) as tf.Tensor3D;
        const got = fn(q, k);
        expectTensor(`the scores (head size ${hs})`, got, [B, T, T], 'B, T, T');
        const raw = tf.matMul(q, k, false, true);
        const want = raw.div(Math.sqrt(hs));
        expectClose(`the scores (head size ${hs})`, got, want, {
          shape: [B, T, T],
          mistakes: [
            {
              value: raw,
              hint: `Not scaled: these scores have variance ${num(variance(raw))} ≈ the head size, so the softmax is nearly one-hot (its largest weight averages ${meanMaxWeight(raw as tf.Tensor3D).toFixed(2)} a row). Divide by √${hs}.`,
            },
            {
              value: raw.div(hs),
              hint: `Divided by the head size, not its square root: the variance is ${num(variance(raw.div(hs)))}, not ≈ 1.`,
            },
            {
              value: tf.matMul(k, q, false, true).div(Math.sqrt(hs)),
              hint: 'These are k·qᵀ: row t must hold query t against every key (q @ kᵀ).',
            },
          ],
        });
        seen.push(
          `head size ${hs}: variance ${variance(got).toFixed(2)} (unscaled ${variance(raw).toFixed(1)}), largest weight a row ${meanMaxWeight(got as tf.Tensor3D).toFixed(2)} (unscaled ${meanMaxWeight(raw as tf.Tensor3D).toFixed(2)})`,
        );
      }
      return `right; ${seen.join('; ')}`;
    },
    (fn) => fn(tf.ones([1, 2, 4]) as tf.Tensor3D, tf.ones([1, 2, 4]) as tf.Tensor3D),
  );
}

/** One block's parameters in lib's model of the lecture's block (pre-norm, residual, 4× MLP): two blocks minus one. */
function libBlockParams(nEmbd: number, nHead: number): number {
  const count = (nLayer: number) => {
    const m = new GptStage(
      { vocabSize: 65, blockSize: 8, nEmbd, nHead, nLayer, ffwd: 'mlp', residual: true, layerNorm: true },
      new TorchGenerator(0),
    );
    const n = m.numParams();
    m.dispose();
    return n;
  };
  return count(2) - count(1);
}

/** Checks the block's parameter count for (n_embd, n_head) = (32, 4), (32, 8), (64, 4) and (384, 6). */
export function checkBlockParams(f: BlockParams | undefined): Verdict {
  const cases: [number, number][] = [
    [32, 4],
    [32, 8],
    [64, 4],
    [384, 6],
  ];
  let probe = f;
  try {
    if (f && f(32, 4) === undefined) probe = undefined; // the stub
  } catch {
    // the grader calls it again and says what it threw
  }
  const counts = new Map<number, number>();
  return grade('12·4 a block’s parameters', probe, (fn) => {
    for (const [E, H] of cases) {
      const got = fn(E, H);
      const want = libBlockParams(E, H);
      counts.set(E, want);
      expect(
        typeof got === 'number' && Number.isFinite(got),
        `blockParams(${E}, ${H}) is ${String(got)}: expected a number`,
      );
      let hint = '';
      if (got === 12 * E * E)
        hint =
          ': that is the weights alone; the projection, both feed-forward Linear layers and the two LayerNorms have biases (β) and gains (γ) too';
      else if (got === want + 3 * E)
        hint = ': the key, query and value Linear layers have no bias in the lecture (bias=False)';
      else if (got === want - 4 * E) hint = ': the two LayerNorms have a gain and a bias per channel (4·n_embd in all)';
      else if (got === want - 6 * E)
        hint =
          ': the projection and both feed-forward Linear layers have biases (6·n_embd in all; only key, query and value have none)';
      expect(got === want, `blockParams(${E}, ${H}) is ${got}; the block has ${want}${hint}`);
    }
    const lecture = 6 * (counts.get(384) as number);
    return `right for (n_embd, n_head) = ${cases.map(([E, H]) => `(${E}, ${H})`).join(', ')} — the heads split the width, they do not add parameters; gpt.py’s 6 blocks at n_embd 384 hold ${lecture.toLocaleString('en-US')} of its 10,788,929`;
  });
}
