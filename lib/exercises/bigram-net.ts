/**
 * Exercises of notebook 04 (the bigram net): pick rows of W instead of multiplying one-hot vectors, write
 * cross-entropy yourself (value and gradient against lib's), and the gradient of the loss with respect
 * to the logits by hand.
 */
import { tf } from '../runtime/tf';
import { grade, expect, formatShape, firstMismatch, type Verdict } from './check';
import { crossEntropy } from '../nn/losses';
import { TorchGenerator } from '../random/torch-generator';

interface ProfilingEngine {
  state: { profiling: boolean; activeProfile: { kernels: { name: string }[] } };
}

/**
 * Runs `f` and returns its result with the names of the tf kernels it ran, through the engine's
 * profiling switch — synchronously, unlike tf.profile, so a grader can use it.
 */
function kernelsRun<T>(f: () => T): { result: T; kernels: string[] } {
  const engine = tf.engine() as unknown as ProfilingEngine;
  const { state } = engine;
  const saved = { profiling: state.profiling, kernels: state.activeProfile.kernels };
  const check = tf.env().getBool('CHECK_COMPUTATION_FOR_ERRORS');
  tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false);
  state.profiling = true;
  state.activeProfile.kernels = [];
  try {
    const result = f();
    return { result, kernels: state.activeProfile.kernels.map((k) => k.name) };
  } finally {
    state.profiling = saved.profiling;
    state.activeProfile.kernels = saved.kernels;
    tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', check);
  }
}

function randomCase(seed: number, n: number, v: number, rows: number) {
  const g = new TorchGenerator(seed);
  const W = tf.tensor2d(g.randn(rows * v), [rows, v]);
  const xs = tf.tensor1d(g.randint(0, rows, n), 'int32');
  return { W, xs };
}

/**
 * 04 · Exercise 1: `logitsOf(W, xs)` = W[xs] without one-hot vectors; compared with oneHot(xs) @ W on a
 * square and a non-square W, and rejected if it still runs OneHot or a matmul.
 */
export function checkRowIndexing(logitsOf: ((W: tf.Tensor2D, xs: tf.Tensor1D) => tf.Tensor2D) | undefined): Verdict {
  return grade('04·1 rows of W instead of one-hot', logitsOf, (f) => {
    for (const [rows, cols] of [
      [27, 27],
      [27, 5],
    ] as const) {
      const { W, xs } = randomCase(rows * 100 + cols, 50, cols, rows);
      try {
        const { result: got, kernels } = kernelsRun(() => tf.tidy(() => f(W, xs)));
        expect(got instanceof tf.Tensor, `logitsOf returned ${typeof got}, not a tf.Tensor`);
        const want = tf.tidy(() => tf.matMul(tf.oneHot(xs, rows).toFloat(), W));
        const shape = got.shape;
        const g = got.dataSync();
        const w = want.dataSync();
        tf.dispose([got, want]);
        expect(
          shape.length === 2 && shape[0] === 50 && shape[1] === cols,
          `with W of shape [${rows}, ${cols}] and 50 inputs, logitsOf gave ${formatShape(shape)}, expected [50, ${cols}] ` +
            '(one row of W per input: gather along axis 0)',
        );
        const bad = firstMismatch(g, w, { abs: 1e-6, rel: 1e-6 });
        const x = bad ? (xs.dataSync()[Math.floor(bad.index / cols)] as number) : 0;
        expect(
          !bad,
          bad
            ? `row ${Math.floor(bad.index / cols)} (input x = ${x}), column ${bad.index % cols}: got ${bad.got.toFixed(4)}, ` +
                `expected W[${x}][${bad.index % cols}] = ${bad.want.toFixed(4)}`
            : '',
        );
        const costly = kernels.filter((k) => k === 'OneHot' || k === 'BatchMatMul' || k === '_FusedMatMul');
        expect(
          costly.length === 0,
          `right values, but your code still ran ${[...new Set(costly)].join(' and ')}: pick the rows with tf.gather(W, xs) — no one-hot matrix`,
        );
      } finally {
        tf.dispose([W, xs]);
      }
    }
    return 'same logits as one-hot @ W, with a gather and no matrix multiply';
  });
}

function ceCases(): { name: string; logits: tf.Tensor2D; ys: tf.Tensor1D }[] {
  const g = new TorchGenerator(4);
  const n = 32;
  const ys = () => tf.tensor1d(g.randint(0, 27, n), 'int32');
  const normal = tf.tensor2d(g.randn(n * 27), [n, 27]);
  return [
    { name: 'random logits ~ randn', logits: normal, ys: ys() },
    {
      name: 'logits around +100 (exp overflows float32 above 88.7)',
      logits: tf.tidy(() => tf.tensor2d(g.randn(n * 27), [n, 27]).add(100)),
      ys: ys(),
    },
  ];
}

/**
 * 04 · Exercise 2: `crossEntropy(logits, ys)`, the mean −log softmax at the targets; value and gradient
 * against lib's on random logits and on logits near 100 (where a naive exp overflows).
 */
export function checkCrossEntropy(ce: ((logits: tf.Tensor2D, ys: tf.Tensor1D) => tf.Scalar) | undefined): Verdict {
  return grade('04·2 cross-entropy', ce, (f) => {
    const cases = ceCases();
    try {
      for (const { name, logits, ys } of cases) {
        const got = tf.tidy(() => f(logits, ys));
        expect(got instanceof tf.Tensor, `crossEntropy returned ${typeof got}, not a tf.Tensor`);
        const shape = got.shape;
        const value = got.dataSync()[0] as number;
        got.dispose();
        expect(
          shape.length === 0,
          `crossEntropy returned shape ${formatShape(shape)}, expected a scalar ([]): average the ${logits.shape[0]} losses`,
        );
        const want = tf.tidy(() => crossEntropy(logits, ys).dataSync()[0] as number);
        expect(
          Number.isFinite(value),
          `${name}: your loss is ${value}, expected ${want.toFixed(4)}: subtract each row's maximum before exp ` +
            '(softmax does not change, exp no longer overflows) — this is why F.cross_entropy is preferred',
        );
        expect(
          Math.abs(value - want) <= 1e-4 * Math.max(1, Math.abs(want)),
          `${name}: your loss is ${value.toFixed(5)}, expected ${want.toFixed(5)}` +
            (Math.abs(value + want) < 1e-4 * Math.max(1, want)
              ? ' (the sign: the loss is the *negative* mean log probability)'
              : Math.abs(value - want * logits.shape[0]) < 1e-3 * want * logits.shape[0]
                ? ' (that is the sum: take the mean over the rows)'
                : ''),
        );
        const gradOf = (loss: (l: tf.Tensor2D) => tf.Scalar) =>
          tf.tidy(() =>
            tf
              .grad((l: tf.Tensor) => loss(l as tf.Tensor2D))(logits)
              .dataSync(),
          );
        const gg = gradOf((l) => f(l, ys));
        const gw = gradOf((l) => crossEntropy(l, ys));
        const bad = firstMismatch(gg, gw, { abs: 1e-6, rel: 1e-3 });
        expect(
          !bad,
          bad
            ? `${name}: the loss is right but its gradient disagrees at logits[${Math.floor(bad.index / 27)}][${bad.index % 27}]: ` +
                `${bad.got} vs lib's ${bad.want} (did a constant or a detached tensor enter the loss?)`
            : '',
        );
      }
    } finally {
      for (const c of cases) tf.dispose([c.logits, c.ys]);
    }
    return 'same loss and same gradient as lib (and F.cross_entropy), stable for large logits';
  });
}

/**
 * 04 · Exercise 3: `dlogits(logits, ys)`, the gradient of the mean cross-entropy with respect to the logits
 * written by hand ((softmax − one-hot) / N); compared entry by entry with autograd.
 */
export function checkLogitGradient(
  dlogits: ((logits: tf.Tensor2D, ys: tf.Tensor1D) => tf.Tensor2D) | undefined,
): Verdict {
  return grade('04·3 gradient of the loss w.r.t. the logits', dlogits, (f) => {
    const g = new TorchGenerator(5);
    const n = 16;
    const logits = tf.tensor2d(g.randn(n * 27), [n, 27]);
    const ys = tf.tensor1d(g.randint(0, 27, n), 'int32');
    try {
      const got = tf.tidy(() => f(logits, ys));
      expect(got instanceof tf.Tensor, `dlogits returned ${typeof got}, not a tf.Tensor`);
      const shape = got.shape;
      const gv = got.dataSync();
      got.dispose();
      expect(
        shape.length === 2 && shape[0] === n && shape[1] === 27,
        `dlogits has shape ${formatShape(shape)}, expected [${n}, 27], the shape of the logits`,
      );
      const want = tf.tidy(() =>
        tf
          .grad((l: tf.Tensor) => crossEntropy(l, ys))(logits)
          .dataSync(),
      );
      const bad = firstMismatch(gv, want, { abs: 1e-6, rel: 1e-3 });
      if (bad) {
        const i = Math.floor(bad.index / 27);
        const j = bad.index % 27;
        const y = ys.dataSync()[i] as number;
        const ratio = bad.got / bad.want;
        const hint =
          Math.abs(ratio - n) < 1e-2 * n
            ? `: ${n}× too large — the loss is a mean over ${n} rows, so divide by ${n}`
            : Math.abs(ratio + 1) < 1e-3
              ? ': the sign is flipped'
              : j === y
                ? `: this is the target column (y = ${y}), where the one-hot 1 is subtracted`
                : '';
        expect(
          false,
          `dlogits[${i}][${j}] = ${bad.got.toPrecision(5)}, autograd says ${bad.want.toPrecision(5)}${hint}`,
        );
      }
      return `matches autograd in all ${n * 27} entries: (softmax(logits) − one-hot(y)) / N`;
    } finally {
      tf.dispose([logits, ys]);
    }
  });
}
