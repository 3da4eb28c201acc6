/**
 * lib/train/checkpoint (atomic checkpoints, the work-dir lock), lib/train/saved-model's validation of saved files, and
 * FastGenerator's saved state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import seedrandom from 'seedrandom';
import { tf, initTf } from '../../lib/runtime/tf';
import { FastGenerator } from '../../lib/random/fast-generator';
import { createOptimizer, type Adam } from '../../lib/train/optimizers';
import { zooModel } from '../../lib/models/registry';
import { type ZooConfig } from '../../lib/models/zoo/config';
import { TorchGenerator } from '../../lib/random/torch-generator';
import {
  loadCheckpoint,
  readCheckpoint,
  optimizerStateByName,
  resolveCheckpoint,
  restoreOptimizer,
  saveCheckpoint,
} from '../../lib/train/checkpoint';
import { loadWeights, saveWeights } from '../../lib/train/saved-model';
import { TSX } from '../../scripts/node-tsx';

const ROOT = path.resolve(__dirname, '..', '..');
const made: string[] = [];
process.on('exit', () => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});
/** A temporary directory, removed at exit even when a test fails. */
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-ckpt-'));
  made.push(d);
  return d;
};
const CONFIG: ZooConfig = { vocabSize: 5, blockSize: 4, nLayer: 1, nHead: 1, nEmbd: 3, nEmbd2: 6 };

test('FastGenerator: state() and fromState continue the exact sequence; state: true draws what it drew before', () => {
  const g = new FastGenerator('abc');
  const plain = seedrandom.xor4096('abc');
  const first = g.rand(5);
  assert.deepEqual(
    Array.from(first),
    Array.from({ length: 5 }, () => Math.fround(plain())),
    'same numbers as before state support',
  );
  g.randint(0, 100, 7);
  const saved = JSON.parse(JSON.stringify(g.state())) as ReturnType<FastGenerator['state']>;
  const want = [Array.from(g.randint(0, 1000, 50)), Array.from(g.randperm(20)), Array.from(g.randn(9))];
  const h = FastGenerator.fromState(saved);
  assert.deepEqual([Array.from(h.randint(0, 1000, 50)), Array.from(h.randperm(20)), Array.from(h.randn(9))], want);
  assert.throws(() => FastGenerator.fromState({ ...saved, X: [1, 2] }), /not a FastGenerator state/);
});

/** A tiny MLP after 3 AdamW steps, so weights and moments are non-trivial. */
async function trained() {
  await initTf();
  const model = zooModel('mlp', CONFIG, new TorchGenerator(1));
  const opt = createOptimizer('adamw', 0.01) as Adam;
  const X = tf.tensor2d(
    [
      [0, 1, 2, 3],
      [0, 4, 3, 2],
    ],
    [2, 4],
    'int32',
  );
  const Y = tf.tensor2d(
    [
      [1, 2, 3, 0],
      [4, 3, 2, 0],
    ],
    [2, 4],
    'int32',
  );
  for (let i = 0; i < 3; i++) opt.minimize(() => model.forward(X, Y).loss!, false, model.params());
  tf.dispose([X, Y]);
  return { model, opt };
}

async function save(slot: string, m: Awaited<ReturnType<typeof trained>>, step: number, rng = new FastGenerator('r')) {
  await saveCheckpoint(slot, {
    topology: { sequentia: 1, type: 'mlp', config: CONFIG, itos: ['.', 'a', 'b', 'c', 'd'], boundary: '.' },
    weights: m.model.namedWeights(),
    optimizer: optimizerStateByName(m.opt, m.model.namedWeights()),
    info: { step, bestTestLoss: 1.5, batchRng: rng.state(), settings: { lr: 0.01 } },
  });
}

test('a checkpoint round trip restores weights, AdamW moments, step, best loss and generator state exactly', async () => {
  const dir = tmp();
  const m = await trained();
  const rng = new FastGenerator('r');
  rng.rand(3);
  await save(path.join(dir, 'latest'), m, 3, rng);
  assert.deepEqual(fs.readdirSync(dir), ['latest'], 'no temporary or previous directory left');
  const fresh = zooModel('mlp', CONFIG, new TorchGenerator(99));
  const c = await loadCheckpoint<ZooConfig>(path.join(dir, 'latest'), fresh.namedWeights());
  for (const [k, v] of Object.entries(m.model.namedWeights()))
    assert.deepEqual(Array.from((c.weights[k] as tf.Tensor).dataSync()), Array.from(v.dataSync()), k);
  const want = optimizerStateByName(m.opt, m.model.namedWeights());
  assert.equal(c.optimizer?.step, 3);
  assert.deepEqual(c.optimizer, want);
  assert.equal(c.info.step, 3);
  assert.equal(c.info.bestTestLoss, 1.5);
  assert.deepEqual(Array.from(FastGenerator.fromState(c.info.batchRng!).rand(4)), Array.from(rng.rand(4)));
  // the moments go back to the same variables by name, in a model whose tf variable names differ
  fresh.loadWeights(c.weights);
  const opt2 = createOptimizer('adamw', 0.01) as Adam;
  restoreOptimizer(opt2, c.optimizer!, fresh.namedWeights() as Record<string, tf.Variable>);
  assert.deepEqual(optimizerStateByName(opt2, fresh.namedWeights()), want);
  tf.dispose(Object.values(c.weights));
  // the model part is an ordinary saved model a notebook can load (loadModel)
  const plain = await loadWeights<ZooConfig>(path.join(dir, 'latest', 'model'));
  assert.equal(plain.topology.type, 'mlp');
  tf.dispose(Object.values(plain.weights));
  fresh.dispose();
  m.model.dispose();
  fs.rmSync(dir, { recursive: true });
});

test('crash leftovers: an unfinished temporary directory is ignored and removed; a lone latest.prev is used', async () => {
  const dir = tmp();
  const m = await trained();
  const slot = path.join(dir, 'latest');
  await save(slot, m, 1);
  // a save killed half way (its process is gone): a temporary directory with a partial model
  const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid as number;
  fs.mkdirSync(path.join(dir, `.latest.tmp-${dead}-x`, 'model'), { recursive: true });
  fs.writeFileSync(path.join(dir, `.latest.tmp-${dead}-x`, 'model', 'weights.bin'), 'half');
  assert.equal(resolveCheckpoint(slot), slot);
  assert.equal((await loadCheckpoint(slot)).info.step, 1);
  await save(slot, m, 2);
  assert.deepEqual(fs.readdirSync(dir), ['latest'], 'the stale temporary directory was removed');
  // killed between the two renames: no latest, a complete latest.prev
  fs.renameSync(slot, `${slot}.prev`);
  assert.equal(resolveCheckpoint(slot), `${slot}.prev`);
  const c = await loadCheckpoint(`${slot}.prev`);
  assert.equal(c.info.step, 2);
  tf.dispose(Object.values(c.weights));
  await save(slot, m, 3);
  assert.deepEqual(fs.readdirSync(dir), ['latest']);
  assert.equal(resolveCheckpoint(path.join(dir, 'none')), null);
  m.model.dispose();
  fs.rmSync(dir, { recursive: true });
});

test('SIGKILL at any moment of a save leaves a complete checkpoint whose weights match its step', async () => {
  const dir = tmp();
  const child = path.join(dir, 'saver.ts');
  // saves forever: step k holds weights all equal to k, so a mixed or torn checkpoint is visible
  fs.writeFileSync(
    child,
    `
import { tf, initTf } from ${JSON.stringify(path.join(ROOT, 'lib/runtime/tf'))};
import { saveCheckpoint } from ${JSON.stringify(path.join(ROOT, 'lib/train/checkpoint'))};
(async () => {
  await initTf();
  for (let k = 1; ; k++) {
    const w = { a: tf.fill([300, 300], k), b: tf.fill([1000], k) };
    await saveCheckpoint(process.argv[2] as string, { topology: { sequentia: 1, type: 't', config: {}, itos: [], boundary: null }, weights: w,
      optimizer: { step: k, m: { a: new Float32Array(90000).fill(k) }, v: { a: new Float32Array(90000).fill(k) } }, info: { step: k, bestTestLoss: null, batchRng: null, settings: {} } });
    tf.dispose(Object.values(w));
    if (k === 2) console.log('saving'); // two complete saves: every kill below hits one that replaces another
  }
})();
`,
  );
  await initTf();
  const slot = path.join(dir, 'ck', 'latest');
  const seen: number[] = [];
  for (let round = 0; round < 6; round++) {
    const p = spawn(process.execPath, [...TSX, child, slot], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // a child that dies before saving (e.g. a broken import) fails the test instead of leaving it pending
    await new Promise<void>((resolve, reject) => {
      // wait for the child's own line (its stdout also carries the tfjs backend line, earlier)
      let out = '';
      p.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('saving')) resolve();
      });
      p.once('exit', (code) => reject(new Error(`the saver exited (${code}) before its first save`)));
    });
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 300));
    p.kill('SIGKILL');
    await new Promise((r) => p.once('exit', r));
    const from = resolveCheckpoint(slot);
    assert.ok(from, `round ${round}: a checkpoint exists`);
    const c = await loadCheckpoint(from);
    const k = c.info.step;
    assert.ok(k >= 1);
    assert.ok(
      (c.weights.a as tf.Tensor).dataSync().every((x) => x === k) &&
        (c.weights.b as tf.Tensor).dataSync().every((x) => x === k),
      `round ${round}: weights of step ${k}`,
    );
    assert.equal(c.optimizer?.step, k);
    assert.ok(c.optimizer!.m.a!.every((x) => x === k));
    tf.dispose(Object.values(c.weights));
    seen.push(k);
  }
  assert.ok(
    seen.every((k) => k >= 2),
    `each kill came after two complete saves, so it hit a save replacing a checkpoint (steps ${seen})`,
  );
  fs.rmSync(dir, { recursive: true });
});

test('corrupt, truncated or mismatched files are errors naming the file and the problem', async () => {
  const dir = tmp();
  const m = await trained();
  const good = path.join(dir, 'good');
  await save(good, m, 1);
  const variant = (name: string, edit: (d: string) => void) => {
    const d = path.join(dir, name);
    fs.cpSync(good, d, { recursive: true });
    edit(d);
    return d;
  };
  const expect = m.model.namedWeights();
  const w = (d: string) => path.join(d, 'model', 'model.safetensors');
  // the data's bytes changed, the header intact: the SHA-256 in the metadata tells
  const random = variant('random', (d) => {
    const b = fs.readFileSync(w(d));
    const start = 8 + Number(b.readBigUInt64LE(0));
    for (let i = start; i < b.length; i++) b[i] = Math.floor(Math.random() * 256);
    fs.writeFileSync(w(d), b);
  });
  await assert.rejects(
    loadCheckpoint(random, expect),
    (e: Error) => e.message.includes(w(random)) && /corrupt: its SHA-256 does not match/.test(e.message),
  );
  const truncated = variant('truncated', (d) => fs.truncateSync(w(d), fs.statSync(w(d)).size - 4));
  assert.throws(
    () => readCheckpoint(truncated),
    (e: Error) =>
      e.message.includes(w(truncated)) && /run past the data's \d+ bytes: truncated or corrupt/.test(e.message),
  );
  const notJson = variant('notjson', (d) => fs.writeFileSync(path.join(d, 'model', 'config.json'), '{"model_ty'));
  await assert.rejects(
    loadCheckpoint(notJson, expect),
    (e: Error) => e.message.includes(path.join(notJson, 'model', 'config.json')) && /is not valid JSON/.test(e.message),
  );
  const info = variant('info', (d) => fs.writeFileSync(path.join(d, 'checkpoint.json'), 'garbage'));
  await assert.rejects(
    loadCheckpoint(info, expect),
    (e: Error) => e.message.includes(path.join(info, 'checkpoint.json')) && /not valid JSON/.test(e.message),
  );
  const optFile = (d: string) => path.join(d, 'optimizer', 'optimizer.safetensors');
  const opt = variant('opt', (d) => fs.truncateSync(optFile(d), 8));
  await assert.rejects(
    loadCheckpoint(opt, expect),
    (e: Error) => e.message.includes(optFile(opt)) && /header length \d+ runs past the end of the file/.test(e.message),
  );
  // shapes: the same files against a model of another size
  const other = zooModel('mlp', { ...CONFIG, nEmbd2: 7 }, new TorchGenerator(1));
  await assert.rejects(
    loadCheckpoint(good, other.namedWeights()),
    (e: Error) =>
      e.message.includes(w(good)) && /'hidden.W' has shape \[12,6\], the model expects \[12,7\]/.test(e.message),
  );
  const bigram = zooModel('bigram', CONFIG, new TorchGenerator(1));
  await assert.rejects(loadCheckpoint(good, bigram.namedWeights()), /missing 'table'; unexpected 'wte'/);
  // a plain saveWeights save is checked the same way
  await saveWeights(
    path.join(dir, 'plain'),
    { sequentia: 1, type: 'mlp', config: CONFIG, itos: [], boundary: '.' },
    m.model.namedWeights(),
  );
  fs.truncateSync(path.join(dir, 'plain', 'model.safetensors'), 4);
  await assert.rejects(loadWeights(path.join(dir, 'plain')), /model.safetensors has 4 bytes, fewer than the 8/);
  for (const x of [other, bigram, m.model]) x.dispose();
  fs.rmSync(dir, { recursive: true });
});
