/**
 * Notebook 10's exercises, in the lecture's style: a backward pass written by hand, checked against
 * tfjs's autograd on random inputs, with the entry that differs most (its index, both values, the
 * difference) reported. Cross-entropy's dlogits, a Linear layer's three gradients, BatchNorm's dx in one
 * formula (Bessel's n − 1, as the notebook's forward pass) and the embedding's dC.
 */
import { tf } from '../runtime/tf';
import { crossEntropy } from '../nn/losses';
import { TorchGenerator } from '../random/torch-generator';
import { expect, type Verdict } from './check';
import { expectClose, expectTensor, gradeTidy, randomIds, randomTensor, type Tolerance } from './compare-tensors';

/** logits [n, V], targets Yb [n] (int32) → ∂loss/∂logits for the mean cross-entropy. */
export type CrossEntropyBackward = (logits: tf.Tensor2D, Yb: tf.Tensor1D) => tf.Tensor | undefined;
/** y = x @ W + b: x [n, in], W [in, out], dy [n, out] → dx, dW, db. */
export type LinearBackward = (
  x: tf.Tensor2D,
  W: tf.Tensor2D,
  dy: tf.Tensor2D,
) => { dx: tf.Tensor; dW: tf.Tensor; db: tf.Tensor } | undefined;
/** The notebook's BatchNorm (variance with n − 1, ε = 1e-5): x [n, C], gain [1, C], dy [n, C] → dx [n, C]. */
export type BatchNormBackward = (x: tf.Tensor2D, gain: tf.Tensor2D, dy: tf.Tensor2D) => tf.Tensor | undefined;
/** emb = C[X]: demb [n, T, E], X [n, T] (int32), V → dC [V, E]. */
export type EmbeddingBackward = (demb: tf.Tensor3D, X: tf.Tensor2D, V: number) => tf.Tensor | undefined;

/** Float rounding between a hand-written gradient and autograd's stays far below this. */
const TOL: Tolerance = { abs: 1e-6, rel: 1e-4 };
const REF = 'autograd';

function ceInputs(seed: number, n = 32, V = 27) {
  const g = new TorchGenerator(seed);
  return { logits: randomTensor(g, [n, V], 2) as tf.Tensor2D, Yb: randomIds(g, [n], V) as tf.Tensor1D, n, V };
}

/** Checks dlogits of the mean cross-entropy against autograd on random logits [32, 27] and [5, 4]. */
export function checkCrossEntropyBackward(dlogitsOf: CrossEntropyBackward | undefined): Verdict {
  return gradeTidy(
    '10·1 cross-entropy backward',
    dlogitsOf,
    (f) => {
      for (const [seed, n, V] of [
        [1, 32, 27],
        [2, 5, 4],
      ] as const) {
        const { logits, Yb } = ceInputs(seed, n, V);
        const got = f(logits, Yb);
        expectTensor(`dlogits for logits [${n}, ${V}]`, got, [n, V], 'n, V');
        const want = tf.grad((l: tf.Tensor) => crossEntropy(l, Yb))(logits);
        const probs = tf.softmax(logits);
        const onehot = tf.oneHot(Yb, V).toFloat();
        expectClose(`dlogits [${n}, ${V}]`, got, want, {
          shape: [n, V],
          tol: TOL,
          report: 'worst',
          reference: REF,
          mistakes: [
            {
              value: probs.sub(onehot),
              hint: 'Your gradient is n times too large: the loss is a mean over the n rows, so divide by n.',
            },
            {
              value: onehot.sub(probs).div(n),
              hint: 'The sign is flipped: dlogits = (softmax − onehot)/n, the direction in which the loss grows.',
            },
            { value: probs.div(n), hint: 'The target term is missing: subtract 1 at each row’s target (onehot(Yb)).' },
          ],
        });
      }
      return 'equal to autograd for logits [32, 27] and [5, 4]';
    },
    (f) => {
      const { logits, Yb } = ceInputs(3, 4, 3);
      return f(logits, Yb);
    },
  );
}

/** Checks a Linear layer's dx, dW and db against autograd on a batch shaped like the notebook's first layer. */
export function checkLinearBackward(linearBackward: LinearBackward | undefined): Verdict {
  const [n, nin, nout] = [32, 30, 64];
  const inputs = (seed: number) => {
    const g = new TorchGenerator(seed);
    return {
      x: randomTensor(g, [n, nin]) as tf.Tensor2D,
      W: randomTensor(g, [nin, nout], 0.2) as tf.Tensor2D,
      b: randomTensor(g, [nout], 0.1) as tf.Tensor1D,
      dy: randomTensor(g, [n, nout], 0.01) as tf.Tensor2D,
    };
  };
  return gradeTidy(
    '10·2 Linear backward',
    linearBackward,
    (f) => {
      const { x, W, b, dy } = inputs(5);
      const got = f(x, W, dy);
      expect(
        typeof got === 'object' && got !== null && 'dx' in got && 'dW' in got && 'db' in got,
        'linearBackward must return { dx, dW, db }',
      );
      expectTensor('dx', got.dx, [n, nin], 'n, in');
      expectTensor('dW', got.dW, [nin, nout], 'in, out');
      // b is [out], broadcast down the rows; accept its gradient as [out] or as [1, out]
      const db =
        got.db instanceof tf.Tensor && got.db.rank === 2 && got.db.shape[0] === 1 ? got.db.reshape([nout]) : got.db;
      expectTensor('db (b was broadcast over the n rows: sum them)', db, [nout], 'out');
      const [dx, dW, dbWant] = tf.grads((xx: tf.Tensor, WW: tf.Tensor, bb: tf.Tensor) =>
        xx.matMul(WW).add(bb).mul(dy).sum(),
      )([x, W, b]) as [tf.Tensor, tf.Tensor, tf.Tensor];
      expectClose('dx', got.dx, dx, { shape: [n, nin], tol: TOL, report: 'worst', reference: REF });
      expectClose('dW', got.dW, dW, { shape: [nin, nout], tol: TOL, report: 'worst', reference: REF });
      expectClose('db', db, dbWant, {
        shape: [nout],
        tol: TOL,
        report: 'worst',
        reference: REF,
        mistakes: [
          {
            value: dy.mean(0),
            hint: 'You averaged dy over the rows; b was broadcast to each row, so its gradient is their sum.',
          },
        ],
      });
      return 'dx, dW and db equal to autograd for x [32, 30], W [30, 64]';
    },
    (f) => {
      const { x, W, dy } = inputs(6);
      return f(x, W, dy);
    },
  );
}

/** The notebook's BatchNorm forward: Bessel's n − 1, ε = 1e-5, bias 0 (it does not change dx). */
function batchNorm(x: tf.Tensor, gain: tf.Tensor): tf.Tensor {
  const n = x.shape[0] as number;
  const diff = x.sub(x.mean(0, true));
  const variance = diff
    .square()
    .sum(0, true)
    .div(n - 1);
  return gain.mul(diff.mul(variance.add(1e-5).rsqrt()));
}

/** Checks BatchNorm's dx against autograd of the notebook's forward pass, for batches of 32 and 4. */
export function checkBatchNormBackward(batchNormBackward: BatchNormBackward | undefined): Verdict {
  const inputs = (seed: number, n: number, C: number) => {
    const g = new TorchGenerator(seed);
    return {
      x: randomTensor(g, [n, C], 2) as tf.Tensor2D,
      gain: randomTensor(g, [1, C], 0.1).add(1) as tf.Tensor2D,
      dy: randomTensor(g, [n, C], 0.01) as tf.Tensor2D,
    };
  };
  return gradeTidy(
    '10·3 BatchNorm backward',
    batchNormBackward,
    (f) => {
      for (const [seed, n, C] of [
        [7, 32, 64],
        [8, 4, 3],
      ] as const) {
        const { x, gain, dy } = inputs(seed, n, C);
        const got = f(x, gain, dy);
        expectTensor(`dx for a batch of ${n}`, got, [n, C], 'n, C');
        const want = tf.grad((xx: tf.Tensor) => batchNorm(xx, gain).mul(dy).sum())(x);
        // the pieces of the one-formula answer, to recognise the usual slips
        const diff = x.sub(x.mean(0, true));
        const inv = diff
          .square()
          .sum(0, true)
          .div(n - 1)
          .add(1e-5)
          .rsqrt();
        const xhat = diff.mul(inv);
        const sumG = dy.sum(0, true);
        const sumGx = dy.mul(xhat).sum(0, true);
        // The 1/n variance throughout: its own bnvar_inv and x̂ as well as the formula without n/(n − 1).
        const inv1n = diff.square().mean(0, true).add(1e-5).rsqrt();
        const xhat1n = diff.mul(inv1n);
        const biased = gain
          .mul(inv1n)
          .div(n)
          .mul(
            dy
              .mul(n)
              .sub(sumG)
              .sub(xhat1n.mul(dy.mul(xhat1n).sum(0, true))),
          );
        const formula = (bessel: number, meanPath: boolean, varPath: boolean) => {
          let inner = dy.mul(n);
          if (meanPath) inner = inner.sub(sumG);
          if (varPath) inner = inner.sub(xhat.mul(bessel).mul(sumGx));
          return gain.mul(inv).div(n).mul(inner);
        };
        expectClose(`dx (batch of ${n})`, got, want, {
          shape: [n, C],
          tol: TOL,
          report: 'worst',
          reference: REF,
          mistakes: [
            {
              value: formula(1, true, true),
              hint: 'This is the formula for the variance with 1/n; the notebook divides by n − 1, which leaves a factor n/(n − 1) on the x̂·Σ(g·x̂) term.',
            },
            {
              value: biased,
              hint: 'This is BatchNorm with the 1/n variance throughout (its bnvar_inv too); the notebook’s forward divides by n − 1: use its bnvar_inv, and the factor n/(n − 1) on the x̂·Σ(g·x̂) term.',
            },
            {
              value: formula(n / (n - 1), false, true),
              hint: 'The path through the mean is missing: subtract Σ g over the batch.',
            },
            {
              value: formula(n / (n - 1), true, false),
              hint: 'The path through the variance is missing: the x̂·Σ(g·x̂) term.',
            },
            {
              value: gain.mul(inv).mul(dy),
              hint: 'Only the direct path γ·bnvar_inv·g: the mean and the variance depend on x too.',
            },
          ],
        });
      }
      return 'equal to autograd for batches [32, 64] and [4, 3]';
    },
    (f) => {
      const { x, gain, dy } = inputs(9, 4, 2);
      return f(x, gain, dy);
    },
  );
}

/** Checks the embedding's dC against autograd of C[X], with characters repeated in the batch. */
export function checkEmbeddingBackward(embeddingBackward: EmbeddingBackward | undefined): Verdict {
  const inputs = (seed: number, n: number, T: number, E: number, V: number) => {
    const g = new TorchGenerator(seed);
    return { X: randomIds(g, [n, T], V) as tf.Tensor2D, demb: randomTensor(g, [n, T, E], 0.01) as tf.Tensor3D };
  };
  return gradeTidy(
    '10·4 embedding backward',
    embeddingBackward,
    (f) => {
      const [n, T, E, V] = [32, 3, 10, 27];
      const { X, demb } = inputs(13, n, T, E, V);
      const got = f(demb, X, V);
      expectTensor('dC', got, [V, E], 'V, E');
      const C = tf.zeros([V, E]);
      const want = tf.grad((c: tf.Tensor) => tf.gather(c, X).mul(demb).sum())(C);
      // the slip: dC[ix] = demb[k, j] (the last occurrence wins) instead of dC[ix] += demb[k, j]
      const ids = X.dataSync();
      const d = demb.dataSync();
      const last = new Float32Array(V * E);
      for (let k = 0; k < n * T; k++) last.set(d.subarray(k * E, (k + 1) * E), (ids[k] as number) * E);
      expectClose('dC', got, want, {
        shape: [V, E],
        tol: TOL,
        report: 'worst',
        reference: REF,
        mistakes: [
          {
            value: last,
            hint: 'Each row holds only one occurrence’s gradient: a character used several times in the batch collects all of them (+=, not =).',
          },
        ],
      });
      return 'equal to autograd for 32 windows of 3 characters (27 characters, 10-d embeddings)';
    },
    (f) => {
      const { X, demb } = inputs(14, 2, 2, 2, 3);
      return f(demb, X, 3);
    },
  );
}
