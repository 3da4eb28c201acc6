// lib/exercises/recurrent: the RNN, GRU and LSTM step checks and the parameter count accept the right
// formulas, reject the usual slips with the message that names them, report stubs as unanswered and leave
// the tensor count flat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { run } from '../helpers/checks';
import {
  checkRnnStep,
  checkGruStep,
  checkLstmStep,
  checkRecurrentParams,
  type CellStep,
  type LstmStep,
} from '../../lib/exercises/recurrent';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

const rnn: CellStep = (x, h, Wx, Wh, b) => tf.tanh(x.matMul(Wx).add(h.matMul(Wh)).add(b));

function gru(o: { zKeepsOld?: boolean; resetAfter?: boolean } = {}): CellStep {
  return (x, h, Wx, Wh, b) => {
    const H = h.shape[1];
    const xg = x.matMul(Wx).add(b);
    const part = (t: tf.Tensor, k: number) => t.slice([0, k * H], [-1, H]) as tf.Tensor2D;
    const Whk = (k: number) => Wh.slice([0, k * H], [-1, H]) as tf.Tensor2D;
    const r = tf.sigmoid(part(xg, 0).add(h.matMul(Whk(0))));
    const z = tf.sigmoid(part(xg, 1).add(h.matMul(Whk(1))));
    const rec = o.resetAfter ? r.mul(h.matMul(Whk(2))) : (r.mul(h) as tf.Tensor2D).matMul(Whk(2));
    const hbar = tf.tanh(part(xg, 2).add(rec));
    return o.zKeepsOld ? z.mul(h).add(tf.sub(1, z).mul(hbar)) : tf.sub(1, z).mul(h).add(z.mul(hbar));
  };
}

function lstm(o: { torchOrder?: boolean; noTanh?: boolean } = {}): LstmStep {
  return (x, h, c, Wx, Wh, b) => {
    const gates = x.matMul(Wx).add(h.matMul(Wh)).add(b);
    const [a, f, c3, d] = tf.split(gates, 4, 1) as tf.Tensor[];
    const [i, oo, g] = o.torchOrder ? [a!, d!, c3!] : [a!, c3!, d!];
    const c2 = tf
      .sigmoid(f!)
      .mul(c)
      .add(tf.sigmoid(i).mul(tf.tanh(g)));
    return { h: tf.sigmoid(oo).mul(o.noTanh ? c2 : tf.tanh(c2)), c: c2 };
  };
}

test('RNN step: accepts tanh(x·Wx + h·Wh + b); names a missing tanh, a missing bias, a wrong shape', async () => {
  await initTf();
  assert.equal(run(() => checkRnnStep(rnn)).status, 'passed');
  const noTanh = run(() => checkRnnStep((x, h, Wx, Wh, b) => x.matMul(Wx).add(h.matMul(Wh)).add(b)));
  assert.equal(noTanh.status, 'failed');
  assert.match(noTanh.message, /^h' \(batch of 4\): first differs at \[\d+, \d+\]: .* the tanh is missing/);
  const noBias = run(() => checkRnnStep((x, h, Wx, Wh) => tf.tanh(x.matMul(Wx).add(h.matMul(Wh)))));
  assert.match(noBias.message, /leave out the bias b/);
  const shape = run(() =>
    checkRnnStep((x, h, Wx, Wh, b) => tf.tanh(x.matMul(Wx).add(h.matMul(Wh)).add(b)).transpose()),
  );
  assert.match(shape.message, /rnnStep's result \(batch of 4\) has shape \[6, 4\]; expected \[B, H\] = \[4, 6\]/);
  const threw = run(() => checkRnnStep((x, _h, Wx) => x.matMul(Wx.transpose())));
  assert.equal(threw.status, 'failed');
  assert.match(threw.message, /^your code threw/);
});

test('RNN step: undefined and a stub returning undefined are unanswered', async () => {
  await initTf();
  assert.equal(run(() => checkRnnStep(undefined)).status, 'unanswered');
  assert.equal(run(() => checkRnnStep(() => undefined)).status, 'unanswered');
});

test("GRU step: accepts makemore's formula; names PyTorch's z convention and reset placement", async () => {
  await initTf();
  assert.equal(run(() => checkGruStep(gru())).status, 'passed');
  assert.match(
    run(() => checkGruStep(gru({ zKeepsOld: true }))).message,
    /z weights the old state .*h' = \(1 − z\)·h \+ z·h̄/,
  );
  assert.match(run(() => checkGruStep(gru({ resetAfter: true }))).message, /r multiplies h·Whn after the product/);
  assert.equal(run(() => checkGruStep(undefined)).status, 'unanswered');
});

test("LSTM step: accepts gates i, f, o, g; names PyTorch's order and a missing tanh on c", async () => {
  await initTf();
  assert.equal(run(() => checkLstmStep(lstm())).status, 'passed');
  const torch = run(() => checkLstmStep(lstm({ torchOrder: true })));
  assert.match(torch.message, /^c' \(batch of 4\): first differs .*PyTorch's order i, f, g, o/);
  const noTanh = run(() => checkLstmStep(lstm({ noTanh: true })));
  assert.match(noTanh.message, /^h' \(batch of 4\): first differs .*h′ = o ⊙ tanh\(c′\)/);
  const notObject = run(() => checkLstmStep(((x: tf.Tensor2D) => x) as unknown as LstmStep));
  assert.match(notObject.message, /must return \{ h, c \}/);
  assert.equal(run(() => checkLstmStep(() => undefined)).status, 'unanswered');
});

test('parameter count: accepts the right count; names the missing start state and output bias', async () => {
  await initTf();
  const G = { rnn: 1, gru: 3, lstm: 4 } as const;
  const right = (cell: keyof typeof G, V: number, E: number, H: number) =>
    V * E + H + (E + H + 1) * G[cell] * H + H * V + V;
  const ok = run(() => checkRecurrentParams(right));
  assert.equal(ok.status, 'passed', ok.message);
  const noStart = run(() => checkRecurrentParams((c, V, E, H) => right(c, V, E, H) - H));
  assert.match(
    noStart.message,
    /for RNN with V = 27, E = 64, H = 64 you count 11739 parameters; the model has 11803\. You left out the learned start state/,
  );
  assert.match(run(() => checkRecurrentParams((c, V, E, H) => right(c, V, E, H) - V)).message, /output bias/);
  assert.equal(run(() => checkRecurrentParams(() => undefined)).status, 'unanswered');
});
