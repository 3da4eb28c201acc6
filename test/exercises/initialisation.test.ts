// lib/exercises/initialisation: notebook 05's and 06's initialisation checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf } from '../../lib/runtime/tf';
import {
  checkUniformLoss,
  checkInitialLoss,
  checkZeroInit,
  INITIAL_LOSS_TOLERANCE,
} from '../../lib/exercises/initialisation';
import { lectureData } from '../../lib/data/setups';
import { minibatch } from '../../lib/data/batches';
import { MLP } from '../../lib/models/lecture/mlp';
import { LECTURE_MLP } from '../../lib/models/presets';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { train } from '../../lib/train/loop';

process.env.SEQUENTIA_QUIET_BACKEND = '1';
const data = lectureData(3);

test('checkUniformLoss accepts ln 27 and names the probability, the sign and log10', () => {
  assert.equal(checkUniformLoss(Math.log(27)).status, 'passed');
  assert.equal(checkUniformLoss(undefined).status, 'unanswered');
  assert.match(checkUniformLoss(1 / 27).message, /that is the probability 1\/27; the loss is its negative log/);
  assert.match(checkUniformLoss(-Math.log(27)).message, /the sign: the loss is the \*negative\* log probability/);
  assert.match(checkUniformLoss(Math.log10(27)).message, /log base 10/);
});

test('checkInitialLoss accepts a scaled-down output layer and says which part of the logits is too large', async () => {
  await initTf();
  const v = checkInitialLoss({ W2: 0.01, b2: 0 }, data.windows.train);
  assert.equal(v.status, 'passed', v.message);
  assert.match(v.message, /initial loss 3\.3\d{3} \(ln 27 = 3\.2958/);
  assert.equal(checkInitialLoss(undefined, data.windows.train).status, 'unanswered');
  const lecture = checkInitialLoss({}, data.windows.train);
  assert.match(
    lecture.message,
    new RegExp(
      `initial loss \\d+\\.\\d{4} is more than ${INITIAL_LOSS_TOLERANCE} above ln 27 = 3\\.2958: .* scale W2 down`,
    ),
  );
  assert.match(
    checkInitialLoss({ W2: 0.01 }, data.windows.train).message,
    /std 0\.\d{3} from h·W2, \d\.\d{3} from b2; near 0 means near uniform\) — scale b2 down/,
  );
  assert.match(
    checkInitialLoss({ W3: 1 } as never, data.windows.train).message,
    /W3: 1 — the multipliers are numbers for W1, b1, W2 and b2/,
  );
});

async function trained(model: MLP, steps: number) {
  const g = new TorchGenerator(1);
  await train({
    steps,
    params: model.params(),
    learningRate: 0.1,
    progressMs: 0,
    loss: () => {
      const b = minibatch(data.windows.train, g, 32);
      return model.loss(b.X, b.Y);
    },
  });
  return model;
}

test('checkZeroInit accepts ["b2"] for a trained zero-initialised MLP and explains wrong lists', async () => {
  await initTf();
  const zero = await trained(new MLP(LECTURE_MLP, new TorchGenerator(1), { W1: 0, b1: 0, W2: 0, b2: 0 }), 20);
  const v = checkZeroInit({ model: zero, trained: ['b2'] }, data.windows.train);
  assert.equal(v.status, 'passed', v.message);
  assert.match(v.message, /only b2 learns/);
  assert.equal(checkZeroInit(undefined, data.windows.train).status, 'unanswered');
  assert.match(
    checkZeroInit({ model: zero, trained: ['W2', 'b2'] }, data.windows.train).message,
    /you say W2 trains, but its gradient is exactly 0: dL\/dW2 = hᵀ·dlogits, and h = tanh\(0\) = 0/,
  );
  assert.match(checkZeroInit({ model: zero, trained: [] }, data.windows.train).message, /b2 is missing from your list/);
  assert.match(
    checkZeroInit({ model: zero, trained: ['W3'] }, data.windows.train).message,
    /"W3" is not a parameter of the MLP/,
  );
  const untrained = new MLP(LECTURE_MLP, new TorchGenerator(1), { W1: 0, b1: 0, W2: 0, b2: 0 });
  assert.match(
    checkZeroInit({ model: untrained, trained: ['b2'] }, data.windows.train).message,
    /b2 is still all zeros: train the model/,
  );
  const random = new MLP(LECTURE_MLP, new TorchGenerator(1));
  assert.match(
    checkZeroInit({ model: random, trained: ['b2'] }, data.windows.train).message,
    /W1 is not all zeros \(max \|W1\| = \d/,
  );
  for (const m of [zero, untrained, random]) m.dispose();
});
