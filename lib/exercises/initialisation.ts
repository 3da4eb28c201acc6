/**
 * Exercises on initialisation (notebooks 05 and 06): the loss of uniform predictions, an initialisation
 * whose first loss is near it, and what trains when every weight and bias starts at zero.
 */
import { tf } from '../runtime/tf';
import { grade, expect, type Verdict } from './check';
import { MLP, type MLPInit } from '../models/lecture/mlp';
import { LECTURE_MLP } from '../models/presets';
import { minibatch } from '../data/batches';
import type { Windows } from '../data/windows';
import { TorchGenerator } from '../random/torch-generator';

/** −log of the probability a uniform softmax (all 27 logits equal) gives the right character. */
function uniformLoss(V: number): number {
  const logits = new Array<number>(V).fill(0);
  const z = logits.reduce((s, l) => s + Math.exp(l), 0);
  return -Math.log(Math.exp(logits[0] as number) / z);
}

/**
 * 05 · Exercise 1: the loss of a model that gives all 27 characters the same probability (a number);
 * recomputed from a uniform softmax, with the usual slips (the probability, the sign, log10) named.
 */
export function checkUniformLoss(loss: number | undefined, vocabSize = 27): Verdict {
  return grade('05·1 the loss of uniform predictions', loss, (x) => {
    const want = uniformLoss(vocabSize);
    expect(typeof x === 'number' && Number.isFinite(x), `${String(x)} is not a finite number`);
    const hint =
      Math.abs(x - 1 / vocabSize) < 1e-3
        ? `that is the probability 1/${vocabSize}; the loss is its negative log`
        : Math.abs(x + want) < 1e-3
          ? 'the sign: the loss is the *negative* log probability, so it is positive'
          : Math.abs(x - Math.log10(vocabSize)) < 1e-3
            ? 'that is log base 10; the loss uses the natural log'
            : `each of the ${vocabSize} characters gets probability 1/${vocabSize}; what is −log of that?`;
    expect(Math.abs(x - want) < 1e-3, `${x} is not the loss of uniform predictions: ${hint}`);
    return `−ln(1/${vocabSize}) = ln ${vocabSize} = ${want.toFixed(4)}: the loss of a net that knows nothing and says so`;
  });
}

/** How far above ln 27 the initial loss may be. */
export const INITIAL_LOSS_TOLERANCE = 0.1;

/**
 * 05 · Exercise 2: MLPInit multipliers for notebook 05's MLP (lecture seed) whose loss at initialisation,
 * measured on 1,000 training examples, is within INITIAL_LOSS_TOLERANCE of ln 27; says which part of the
 * logits is still too large.
 */
export function checkInitialLoss(init: MLPInit | undefined, train: Windows): Verdict {
  return grade('05·2 initial loss near ln 27', init, (mult) => {
    expect(
      typeof mult === 'object' && mult !== null,
      `expected multipliers such as { W2: …, b2: … }, got ${String(mult)}`,
    );
    for (const [k, v] of Object.entries(mult))
      expect(
        ['W1', 'b1', 'W2', 'b2'].includes(k) && typeof v === 'number' && Number.isFinite(v),
        `${k}: ${String(v)} — the multipliers are numbers for W1, b1, W2 and b2`,
      );
    const model = new MLP(LECTURE_MLP, new TorchGenerator(2147483647), mult);
    const b = minibatch(train, new TorchGenerator(5), 1000);
    try {
      const { loss, fromW2, fromB2 } = tf.tidy(() => {
        const h = model.preactivations(b.X).tanh();
        const hw = tf.matMul(h, model.W2);
        return {
          loss: model.loss(b.X, b.Y).dataSync()[0] as number,
          // spread of the logits across the 27 outputs, averaged over the examples, from each term
          fromW2: tf.moments(hw, 1).variance.sqrt().mean().dataSync()[0] as number,
          fromB2: tf.moments(model.b2).variance.sqrt().dataSync()[0] as number,
        };
      });
      const target = Math.log(LECTURE_MLP.vocabSize);
      expect(
        loss <= target + INITIAL_LOSS_TOLERANCE,
        `initial loss ${loss.toFixed(4)} is more than ${INITIAL_LOSS_TOLERANCE} above ln 27 = ${target.toFixed(4)}: the logits ` +
          `still spread over the 27 outputs (std ${fromW2.toFixed(3)} from h·W2, ${fromB2.toFixed(3)} from b2; ` +
          `near 0 means near uniform) — scale ${fromB2 > fromW2 ? 'b2' : 'W2'} down`,
      );
      return `initial loss ${loss.toFixed(4)} (ln 27 = ${target.toFixed(4)}; the lecture's first init starts near 27)`;
    } finally {
      model.dispose();
      tf.dispose([b.X, b.Y]);
    }
  });
}

const WHY_ZERO: Record<string, string> = {
  C: 'dL/dC flows back through W1, which is 0',
  W1: 'dL/dW1 = embᵀ·dpre, and dpre = (dlogits·W2ᵀ)·(1 − h²) is 0 because W2 = 0',
  b1: 'dL/db1 is dpre summed over the batch, and dpre is 0 because W2 = 0',
  W2: 'dL/dW2 = hᵀ·dlogits, and h = tanh(0) = 0',
};

/**
 * 06 · Exercise 1: an MLP with every weight and bias started at 0, trained, and the list of the parameters
 * that actually learn; checked on the model (W1, b1, W2 still 0, b2 not) and the list against the gradients.
 */
export function checkZeroInit(answer: { model: MLP; trained: string[] } | undefined, train: Windows): Verdict {
  return grade('06·1 zero initialisation', answer, ({ model, trained }) => {
    expect(
      model instanceof MLP,
      `model should be notebook 05's MLP (new MLP(config, rng, { W1: 0, b1: 0, W2: 0, b2: 0 }))`,
    );
    expect(Array.isArray(trained), `trained should list parameter names, e.g. ['W1'], got ${String(trained)}`);
    const names = Object.keys(model.namedWeights());
    for (const t of trained)
      expect(names.includes(t), `${JSON.stringify(t)} is not a parameter of the MLP (they are ${names.join(', ')})`);
    const maxAbs = (v: tf.Tensor) => tf.tidy(() => v.abs().max().dataSync()[0] as number);
    for (const k of ['W1', 'b1', 'W2'] as const) {
      const m = maxAbs(model[k]);
      expect(
        m === 0,
        `${k} is not all zeros (max |${k}| = ${m.toPrecision(3)}): start from { W1: 0, b1: 0, W2: 0, b2: 0 } — ` +
          `then train it and see what moves`,
      );
    }
    expect(maxAbs(model.b2) > 0, 'b2 is still all zeros: train the model (a few hundred steps) before answering');
    const b = minibatch(train, new TorchGenerator(6), 256);
    try {
      const vars = model.namedWeights();
      const { grads } = tf.variableGrads(() => model.loss(b.X, b.Y), Object.values(vars));
      const moving = Object.keys(vars).filter((k) => maxAbs(grads[vars[k]!.name]!) > 0);
      tf.dispose(Object.values(grads));
      for (const t of trained)
        expect(
          moving.includes(t),
          `you say ${t} trains, but its gradient is exactly 0: ${WHY_ZERO[t] ?? 'nothing reaches it'}`,
        );
      for (const m of moving)
        expect(
          trained.includes(m),
          `${m} is missing from your list: its gradient is not zero (the output bias gets softmax − one-hot, whatever h is)`,
        );
      const loss = tf.tidy(() => model.loss(b.X, b.Y).dataSync()[0] as number);
      return (
        `only ${moving.join(', ')} learns: the net predicts the same distribution for every context (the letter ` +
        `frequencies), loss ${loss.toFixed(3)} on a batch — it trains, but only partially`
      );
    } finally {
      tf.dispose([b.X, b.Y]);
    }
  });
}
