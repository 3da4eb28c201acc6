import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { tf, initTf } from '../../lib/runtime/tf';
import { train } from '../../lib/train/loop';
import { evaluateWindows } from '../../lib/train/evaluate';
import { clearInterrupt, Interrupted, requestInterrupt } from '../../lib/runtime/interrupt';
import { draw } from '../../lib/sample/draw';
import { FastGenerator } from '../../lib/random/fast-generator';

function problem() {
  const w = tf.variable(tf.zeros([4]));
  const target = tf.tensor1d([1, 2, 3, 4]);
  const loss = () => tf.sum(tf.square(tf.sub(w, target))) as tf.Scalar;
  return { w, target, loss, dispose: () => tf.dispose([w, target]) };
}

test('an interrupt stops train() after the current step; the parameters hold exactly those steps', async () => {
  await initTf();
  const a = problem();
  const res = await train({
    steps: 1000,
    params: [a.w],
    learningRate: 0.01,
    loss: a.loss,
    progressMs: 0,
    onStep: (i) => {
      if (i === 6) requestInterrupt();
    },
  });
  assert.equal(res.interrupted, true);
  assert.equal(res.losses.length, 7);
  const b = problem();
  const ref = await train({ steps: 7, params: [b.w], learningRate: 0.01, loss: b.loss, progressMs: 0 });
  assert.equal(ref.interrupted, false);
  assert.deepEqual(Array.from(a.w.dataSync()), Array.from(b.w.dataSync()));
  assert.deepEqual(Array.from(res.losses), Array.from(ref.losses));
  // The request was consumed: the next loop runs to the end.
  const again = await train({ steps: 5, params: [a.w], learningRate: 0.01, loss: a.loss, progressMs: 0 });
  assert.equal(again.losses.length, 5);
  a.dispose();
  b.dispose();
});

test('evaluation and sampling throw Interrupted instead of returning a partial answer', async () => {
  await initTf();
  const d = { X: new Int32Array(30), Y: new Int32Array(10), n: 10, blockSize: 3 };
  requestInterrupt();
  assert.throws(() => evaluateWindows(d, () => tf.scalar(1), 4), Interrupted);
  assert.equal(
    evaluateWindows(d, () => tf.scalar(1), 4),
    1,
    'consumed: the next evaluation runs',
  );
  requestInterrupt();
  const coin = () => ({ gives: 'probabilities' as const, next: () => Float32Array.from([0.5, 0.5]), dispose() {} });
  assert.throws(() => draw(coin, new FastGenerator('x'), { count: 1, maxLength: 10 }), Interrupted);
  clearInterrupt();
});

test("in a kernel, a request belongs to the running cell; a cut-off cell's loop stops", async () => {
  await initTf();
  const shared = globalThis as unknown as { __sequentiaKernel?: unknown };
  const kernel = { cells: new AsyncLocalStorage<{ cell: number }>(), dead: new Set<number>(), requested: 0, loops: 0 };
  shared.__sequentiaKernel = kernel;
  try {
    const p = problem();
    // A request for cell 1 does not stop cell 2's loop.
    kernel.requested = 1;
    const other = await kernel.cells.run({ cell: 2 }, () =>
      train({ steps: 20, params: [p.w], learningRate: 0.01, loss: p.loss, progressMs: 0 }),
    );
    assert.equal(other.losses.length, 20);
    assert.equal(kernel.requested, 1);
    // Cell 1's loop registers itself (so the kernel waits for it) and consumes the request.
    let loopsSeen = 0;
    const own = await kernel.cells.run({ cell: 1 }, () =>
      train({
        steps: 20,
        params: [p.w],
        learningRate: 0.01,
        loss: p.loss,
        progressMs: 0,
        onStep: () => {
          loopsSeen = kernel.loops;
        },
      }),
    );
    assert.equal(own.interrupted, true);
    assert.equal(own.losses.length, 1);
    assert.equal(loopsSeen, 1);
    assert.equal(kernel.loops, 0);
    assert.equal(kernel.requested, 0);
    // Training stays stopped for the rest of that cell (a loop over models finishes at once) …
    const later = await kernel.cells.run({ cell: 1 }, () =>
      train({ steps: 20, params: [p.w], learningRate: 0.01, loss: p.loss, progressMs: 0 }),
    );
    assert.deepEqual([later.interrupted, later.losses.length], [true, 0]);
    // … but not for the next cell.
    const next = await kernel.cells.run({ cell: 2 }, () =>
      train({ steps: 20, params: [p.w], learningRate: 0.01, loss: p.loss, progressMs: 0 }),
    );
    assert.deepEqual([next.interrupted, next.losses.length], [false, 20]);
    // A dead cell's leftover loop throws at its next step.
    kernel.dead.add(3);
    await assert.rejects(
      kernel.cells.run({ cell: 3 }, () =>
        train({ steps: 20, params: [p.w], learningRate: 0.01, loss: p.loss, progressMs: 0 }),
      ),
      Interrupted,
    );
    assert.equal(kernel.loops, 0);
    p.dispose();
  } finally {
    delete shared.__sequentiaKernel;
  }
});
