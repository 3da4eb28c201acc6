// lib/train/optimizers: Adam and AdamW against torch.optim; exact resume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initTf } from '../../lib/runtime/tf';
import { createOptimizer, type Adam } from '../../lib/train/optimizers';
import { train } from '../../lib/train/loop';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

test('Adam and AdamW match torch.optim after 5 steps; a saved state resumes exactly', async () => {
  await initTf();
  // Golden values from torch 1.13: p = [1, −2, 3, 0.5], loss = Σ c·p² + 0.1·Σ p³, lr 0.1, 5 steps
  // (AdamW: betas 0.9/0.99, weight decay 0.01; Adam: torch defaults). Float32 rounding differs by ~1e-5
  // after 5 steps; a wrong bias correction or decay order is off by ~1e-2.
  const golden = {
    adamw: [0.5048020482063293, -1.4933106899261475, 2.4879822731018066, 0.9977883100509644],
    adam: [0.5091375708580017, -1.5024069547653198, 2.5020344257354736, 1.0018136501312256],
  };
  const c = tf.tensor1d([1, 2, 3, -4]);
  for (const name of ['adamw', 'adam'] as const) {
    const p = tf.variable(tf.tensor1d([1, -2, 3, 0.5]));
    const make = () => createOptimizer(name, 0.1, name === 'adamw' ? { beta2: 0.99, weightDecay: 0.01 } : {}) as Adam;
    const run = (opt: Adam, n: number) => {
      for (let i = 0; i < n; i++)
        tf.tidy(() => {
          opt.minimize(() => p.square().mul(c).sum().add(p.pow(3).sum().mul(0.1)) as tf.Scalar, false, [p]);
        });
    };
    const opt = make();
    const before = tf.memory().numTensors;
    run(opt, 3);
    const saved = { state: opt.state(), p: p.dataSync().slice() };
    run(opt, 2);
    assert.equal(tf.memory().numTensors, before);
    const got = Array.from(p.dataSync());
    got.forEach((v, i) =>
      assert.ok(Math.abs(v - golden[name][i]!) < 2e-5, `${name}[${i}]: ${v} vs torch ${golden[name][i]}`),
    );
    // restart from step 3 with a fresh optimizer and the saved moments: the same two steps follow
    p.assign(tf.tensor1d(saved.p));
    const resumed = make();
    resumed.loadState(saved.state);
    run(resumed, 2);
    assert.deepEqual(Array.from(p.dataSync()), got);
    p.dispose();
    opt.dispose();
    resumed.dispose();
  }
  c.dispose();
});

test("AdamW with minGPT's decay groups and gradients clipped to norm 1 match torch (clip_grad_norm_, two groups)", async () => {
  await initTf();
  // torch 1.13: AdamW lr 0.1, betas 0.9/0.99, weight decay 0.1 on p1 only, clip_grad_norm_(…, 1.0), 5 steps.
  // Without the clipping p1 ends ~4e-3 away; with p2 decayed as well, p2 ends ~2e-2 away.
  const want = {
    p1: [0.46695995330810547, -1.4123096466064453, 2.3631339073181152, 0.9658358097076416],
    p2: [-0.11803269386291504, -0.20966246724128723],
  };
  const p1 = tf.variable(tf.tensor1d([1, -2, 3, 0.5]));
  const p2 = tf.variable(tf.tensor1d([0.3, -0.7]));
  const c = tf.tensor1d([1, 2, 3, -4]);
  const opt = createOptimizer('adamw', 0.1, { beta2: 0.99, weightDecay: 0.1, noDecay: new Set([p2.name]) });
  const before = tf.memory().numTensors;
  await train({
    steps: 5,
    params: [p1, p2],
    loss: () => p1.square().mul(c).sum().add(p1.pow(3).sum().mul(0.1)).add(p2.square().sum().mul(3)) as tf.Scalar,
    optimizer: opt,
    learningRate: 0.1,
    gradClip: 1,
    progressMs: 0,
  });
  assert.equal(tf.memory().numTensors, before);
  for (const [got, exp] of [
    [p1, want.p1],
    [p2, want.p2],
  ] as const)
    (got.arraySync() as number[]).forEach((x, i) => assert.ok(Math.abs(x - exp[i]!) < 2e-6, `${x} vs ${exp[i]}`));
  tf.dispose([p1, p2, c]);
  opt.dispose();
});

test("createOptimizer: torch's defaults where none are given (AdamW β 0.9/0.999, weight decay 0.01); given values kept", () => {
  const w = createOptimizer('adamw', 0.1) as Adam;
  assert.deepEqual([w.beta1, w.beta2, w.epsilon, w.weightDecay], [0.9, 0.999, 1e-8, 0.01]);
  const a = createOptimizer('adam', 0.1, { weightDecay: 0.5 }) as Adam;
  assert.deepEqual([a.beta1, a.beta2, a.weightDecay], [0.9, 0.999, 0], 'Adam never decays');
  const m = createOptimizer('adamw', 5e-4, { beta1: 0.8, beta2: 0.99, weightDecay: 0.1 }) as Adam;
  assert.deepEqual([m.learningRate, m.beta1, m.beta2, m.weightDecay], [5e-4, 0.8, 0.99, 0.1]);
});
