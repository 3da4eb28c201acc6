/**
 * Notebook 07's exercises: one step of the RNN, GRU and LSTM cells written from tf ops, each checked on
 * random inputs against the library's cell (RecurrentLM.step on a small model, whose weights are handed
 * to the learner's function).
 */
import { tf } from '../runtime/tf';
import { RecurrentLM, type CellType } from '../models/recurrent';
import { TorchGenerator } from '../random/torch-generator';
import { expect, formatShape, type Verdict } from './check';
import { expectClose, expectTensor, gradeTidy, randomIds, randomTensor, type Mistake } from './compare-tensors';

/** One RNN or GRU step: input x [B, E], state h [B, H], weights Wx [E, G·H], Wh [H, G·H], bias b [G·H] → h [B, H]. */
export type CellStep = (
  x: tf.Tensor2D,
  h: tf.Tensor2D,
  Wx: tf.Tensor2D,
  Wh: tf.Tensor2D,
  b: tf.Tensor1D,
) => tf.Tensor | undefined;

/** One LSTM step: x [B, E], h and c [B, H], Wx [E, 4H], Wh [H, 4H], b [4H] → the new h and c, both [B, H]. */
export type LstmStep = (
  x: tf.Tensor2D,
  h: tf.Tensor2D,
  c: tf.Tensor2D,
  Wx: tf.Tensor2D,
  Wh: tf.Tensor2D,
  b: tf.Tensor1D,
) => { h: tf.Tensor; c: tf.Tensor } | undefined;

const V = 7;
const E = 5;
const H = 6;

interface Case {
  B: number;
  x: tf.Tensor2D;
  h: tf.Tensor2D;
  c: tf.Tensor2D;
  Wx: tf.Tensor2D;
  Wh: tf.Tensor2D;
  b: tf.Tensor1D;
  /** The library's step from this state: h, and c for an LSTM. */
  want: { h: tf.Tensor2D; c?: tf.Tensor2D };
}

/**
 * A small RecurrentLM of `cell` type (random weights, seeded), a batch of B random tokens and a random
 * state; the library's own step gives the answer. Call inside tf.tidy; `keep` receives the model to free.
 */
function makeCase(cell: CellType, B: number, seed: number, keep: (m: RecurrentLM) => void): Case {
  const g = new TorchGenerator(seed);
  const model = new RecurrentLM({ cell, vocabSize: V, blockSize: 8, nEmbd: E, nHidden: H }, g);
  keep(model);
  const tokens = randomIds(g, [B], V) as tf.Tensor1D;
  const h = randomTensor(g, [B, H], 0.8) as tf.Tensor2D;
  const c = randomTensor(g, [B, H]) as tf.Tensor2D;
  const x = tf.gather(model.wte, tokens) as tf.Tensor2D;
  const state = cell === 'lstm' ? { h, c } : { h };
  const want = model.step(tokens, state).state;
  return {
    B,
    x,
    h,
    c,
    Wx: model.Wx as tf.Tensor2D,
    Wh: model.Wh as tf.Tensor2D,
    b: model.b as tf.Tensor1D,
    want: { h: want.h, c: want.c },
  };
}

/** Runs `body` on the cases (B = 4, then B = 1), freeing the models whatever happens. */
function withCases(cell: CellType, body: (k: Case) => void): void {
  const models: RecurrentLM[] = [];
  try {
    for (const [B, seed] of [
      [4, 7],
      [1, 8],
    ] as const)
      body(makeCase(cell, B, seed, (m) => models.push(m)));
  } finally {
    for (const m of models) m.dispose();
  }
}

function probe<R>(cell: CellType, run: (k: Case) => R): R {
  let out: R | undefined;
  withCases(cell, (k) => {
    if (out === undefined) out = run(k);
  });
  return out as R;
}

const REF = "the library's cell";

/** The linear part of every gate, x·Wx + h·Wh + b ([B, G·H]). */
function gates(k: Case, h: tf.Tensor2D = k.h): tf.Tensor2D {
  return k.x.matMul(k.Wx).add(h.matMul(k.Wh)).add(k.b);
}

function rnnMistakes(k: Case): Mistake[] {
  return [
    { value: gates(k), hint: 'Your values are x·Wx + h·Wh + b: the tanh is missing.' },
    { value: tf.tanh(k.x.matMul(k.Wx).add(k.h.matMul(k.Wh))), hint: 'Your values leave out the bias b.' },
    { value: tf.tanh(k.x.matMul(k.Wx).add(k.b)), hint: 'The previous state h does not enter: add h·Wh.' },
    {
      value: tf.tanh(
        k.x
          .matMul(k.Wx)
          .add(k.h.matMul(k.Wh, false, true))
          .add(k.b),
      ),
      hint: 'You used h·Whᵀ: Wh is laid out [from, to], so it is h·Wh.',
    },
  ];
}

/** Checks an RNN step h' = tanh(x·Wx + h·Wh + b) against the library's cell on random inputs. */
export function checkRnnStep(rnnStep: CellStep | undefined): Verdict {
  return gradeTidy(
    '07·1 RNN step',
    rnnStep,
    (f) => {
      withCases('rnn', (k) => {
        const got = f(k.x, k.h, k.Wx, k.Wh, k.b);
        expectTensor(`rnnStep's result (batch of ${k.B})`, got, [k.B, H], 'B, H');
        expectClose(`h' (batch of ${k.B})`, got, k.want.h, {
          shape: [k.B, H],
          reference: REF,
          mistakes: rnnMistakes(k),
        });
      });
      return "equal to the library's RNN cell on two random batches (4 and 1 rows)";
    },
    (f) => probe('rnn', (k) => f(k.x, k.h, k.Wx, k.Wh, k.b)),
  );
}

/** A GRU step with switches for the usual mistakes (all off: the right formula). */
function gruVariant(k: Case, o: { zKeepsOld?: boolean; resetAfter?: boolean; noReset?: boolean; swapRZ?: boolean }) {
  const xg = k.x.matMul(k.Wx).add(k.b);
  const [xr, xz, xn] = tf.split(xg, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
  const [Whr, Whz, Whn] = tf.split(k.Wh, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
  let r = tf.sigmoid(xr.add(k.h.matMul(Whr)));
  let z = tf.sigmoid(xz.add(k.h.matMul(Whz)));
  if (o.swapRZ) [r, z] = [z, r];
  const recur = o.noReset ? k.h.matMul(Whn) : o.resetAfter ? r.mul(k.h.matMul(Whn)) : r.mul(k.h).matMul(Whn);
  const hbar = tf.tanh(xn.add(recur));
  return o.zKeepsOld ? z.mul(k.h).add(tf.sub(1, z).mul(hbar)) : tf.sub(1, z).mul(k.h).add(z.mul(hbar));
}

/** Checks a GRU step (gates r, z, n in that order along Wx's and Wh's columns) against the library's cell. */
export function checkGruStep(gruStep: CellStep | undefined): Verdict {
  return gradeTidy(
    '07·2 GRU step',
    gruStep,
    (f) => {
      withCases('gru', (k) => {
        const got = f(k.x, k.h, k.Wx, k.Wh, k.b);
        expectTensor(`gruStep's result (batch of ${k.B})`, got, [k.B, H], 'B, H');
        expectClose(`h' (batch of ${k.B})`, got, k.want.h, {
          shape: [k.B, H],
          reference: REF,
          mistakes: [
            {
              value: gruVariant(k, { zKeepsOld: true }),
              hint: "z weights the old state in your answer (PyTorch's convention); here z is the candidate's share: h' = (1 − z)·h + z·h̄.",
            },
            {
              value: gruVariant(k, { resetAfter: true }),
              hint: "r multiplies h·Whn after the product in your answer (PyTorch's GRU); here the reset gate scales h first: h̄ = tanh(xn + (r ⊙ h)·Whn).",
            },
            {
              value: gruVariant(k, { noReset: true }),
              hint: 'The reset gate r is not used: the candidate reads r ⊙ h.',
            },
            {
              value: gruVariant(k, { swapRZ: true }),
              hint: 'r and z are swapped: the columns are r (first H), z (next H), candidate n (last H).',
            },
          ],
        });
      });
      return "equal to the library's GRU cell on two random batches (4 and 1 rows)";
    },
    (f) => probe('gru', (k) => f(k.x, k.h, k.Wx, k.Wh, k.b)),
  );
}

/** An LSTM step with switches for the usual mistakes; gate order i, f, o, g unless `torchOrder` (i, f, g, o). */
function lstmVariant(k: Case, o: { torchOrder?: boolean; noTanhC?: boolean; noForget?: boolean }) {
  const [a, b2, c3, d4] = tf.split(gates(k), 4, 1) as tf.Tensor2D[];
  const [i, f, oo, g] = o.torchOrder ? [a, b2, d4, c3] : [a, b2, c3, d4];
  const c = (o.noForget ? k.c : tf.sigmoid(f as tf.Tensor2D).mul(k.c)).add(
    tf.sigmoid(i as tf.Tensor2D).mul(tf.tanh(g as tf.Tensor2D)),
  );
  const h = tf.sigmoid(oo as tf.Tensor2D).mul(o.noTanhC ? c : tf.tanh(c));
  return { h, c };
}

/** Checks an LSTM step (gates i, f, o, g in that order) returning { h, c } against the library's cell. */
export function checkLstmStep(lstmStep: LstmStep | undefined): Verdict {
  return gradeTidy(
    '07·3 LSTM step',
    lstmStep,
    (fn) => {
      withCases('lstm', (k) => {
        const got = fn(k.x, k.h, k.c, k.Wx, k.Wh, k.b);
        expect(
          typeof got === 'object' && got !== null && 'h' in got && 'c' in got,
          `lstmStep must return { h, c } (the new hidden and cell states); got ${got instanceof tf.Tensor ? `one tensor of shape ${formatShape(got.shape)}` : got === null ? 'null' : typeof got}`,
        );
        expectTensor(`the new c (batch of ${k.B})`, got.c, [k.B, H], 'B, H');
        expectTensor(`the new h (batch of ${k.B})`, got.h, [k.B, H], 'B, H');
        const torch = lstmVariant(k, { torchOrder: true });
        const torchHint =
          "Your gates are in PyTorch's order i, f, g, o; here the columns are i, f, o (sigmoid), then g (tanh).";
        expectClose(`c' (batch of ${k.B})`, got.c, k.want.c as tf.Tensor2D, {
          shape: [k.B, H],
          reference: REF,
          mistakes: [
            { value: torch.c, hint: torchHint },
            { value: lstmVariant(k, { noForget: true }).c, hint: 'The forget gate is missing: c′ = f ⊙ c + i ⊙ g.' },
          ],
        });
        expectClose(`h' (batch of ${k.B})`, got.h, k.want.h, {
          shape: [k.B, H],
          reference: REF,
          mistakes: [
            { value: torch.h, hint: torchHint },
            {
              value: lstmVariant(k, { noTanhC: true }).h,
              hint: 'c′ goes through a tanh before the output gate: h′ = o ⊙ tanh(c′).',
            },
          ],
        });
      });
      return "h and c equal to the library's LSTM cell on two random batches (4 and 1 rows)";
    },
    (fn) => probe('lstm', (k) => fn(k.x, k.h, k.c, k.Wx, k.Wh, k.b)),
  );
}

/** Checks a function (cell, V, E, H) → number of parameters against RecurrentLM's count for several sizes. */
export function checkRecurrentParams(
  count: ((cell: CellType, V: number, E: number, H: number) => number | undefined) | undefined,
): Verdict {
  const sizes: [CellType, number, number, number][] = [
    ['rnn', 27, 64, 64],
    ['gru', 27, 64, 64],
    ['lstm', 27, 64, 64],
    ['lstm', 80, 64, 256],
    ['gru', 5, 3, 7],
  ];
  return gradeTidy(
    '07·4 parameter count',
    count,
    (f) => {
      for (const [cell, v, e, h] of sizes) {
        const m = new RecurrentLM({ cell, vocabSize: v, blockSize: 4, nEmbd: e, nHidden: h }, new TorchGenerator(1));
        const want = m.numParams();
        m.dispose();
        const got = f(cell, v, e, h);
        const gates = { rnn: 1, gru: 3, lstm: 4 }[cell];
        const withoutStart = want - h;
        const hint =
          got === withoutStart
            ? ' You left out the learned start state (H numbers).'
            : got === want - v
              ? ' You left out the output bias (V numbers).'
              : got === want - gates * h
                ? ' You left out the gate bias (G·H numbers).'
                : '';
        expect(
          got === want,
          `for ${cell.toUpperCase()} with V = ${v}, E = ${e}, H = ${h} you count ${String(got)} parameters; the model has ${want}.${hint}`,
        );
      }
      return `right for ${sizes.length} sizes (makemore's GRU: 28,315 parameters on names)`;
    },
    (f) => f('rnn', 27, 64, 64),
  );
}
