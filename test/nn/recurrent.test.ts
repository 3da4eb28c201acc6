// lib/nn/recurrent.ts: the Recurrence layer's tfjs forward (its fused half run as one op, hand-written
// back-propagation through time) against the cell stepped with tf ops — values and the gradients of xg,
// Wh and the start state, for the RNN, GRU and LSTM; sizes the kernels do not take run the cell itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { cell as cellStep, cellSequence, GATES, Recurrence, type CellType } from '../../lib/nn/recurrent';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { ownedVariable } from '../../lib/nn/init';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++)
    assert.ok(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

for (const cell of ['rnn', 'gru', 'lstm'] as const satisfies readonly CellType[]) {
  test(`${cell}: the layer's sequence op equals the cell step by step, values and the gradients of xg, Wh, start`, async () => {
    await initTf();
    const before = tf.memory().numTensors;
    const [T, B, H] = [6, 3, 8];
    const G = GATES[cell] * H;
    const g = new TorchGenerator(11);
    const Wh = ownedVariable(tf.tidy(() => tf.tensor2d(g.randn(H * G), [H, G]).mul(0.3)));
    const start = ownedVariable(tf.tidy(() => tf.tensor2d(g.randn(H), [1, H]).mul(0.5)));
    const layer = new Recurrence(cell, Wh, start);
    const xg = tf.tensor3d(g.randn(T * B * G), [T, B, G]);
    const w = tf.tensor3d(g.randn(T * B * H), [T, B, H]);
    const reference = (x: tf.Tensor3D) =>
      cellSequence((xt, s) => cellStep(cell, Wh as tf.Tensor2D, xt, s), x, layer.initialState(B));
    const run = (f: (x: tf.Tensor3D) => tf.Tensor) =>
      tf.tidy(() => {
        const y = f(xg).dataSync().slice();
        const { grads } = tf.variableGrads(() => f(xg).mul(w).sum() as tf.Scalar, [Wh, start]);
        const dx = tf.grad((x: tf.Tensor) =>
          f(x as tf.Tensor3D)
            .mul(w)
            .sum(),
        )(xg);
        return { y, dWh: grads[Wh.name]!.dataSync(), dStart: grads[start.name]!.dataSync(), dx: dx.dataSync() };
      });
    const a = run((x) => layer.forward(x));
    const b = run(reference);
    close(a.y, b.y, 1e-5, 'h');
    close(a.dx, b.dx, 1e-4, 'dxg');
    close(a.dWh, b.dWh, 1e-4, 'dWh');
    close(a.dStart, b.dStart, 1e-4, 'dstart');
    // a hidden size the kernels do not take (not a multiple of 4): the cell itself, and no fused half
    const odd = new Recurrence(cell, ownedVariable(tf.zeros([6, GATES[cell] * 6])), ownedVariable(tf.zeros([1, 6])));
    assert.equal(odd.fused(), null);
    const y = tf.tidy(() => odd.forward(tf.ones([2, 1, GATES[cell] * 6])).shape);
    assert.deepEqual(y, [2, 1, 6]);
    odd.dispose();
    layer.dispose();
    tf.dispose([xg, w]);
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  });
}
