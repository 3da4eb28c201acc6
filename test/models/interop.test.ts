/**
 * Weights that travel between Sequentia and PyTorch (scripts/torch/interop.py):
 *  - always, through test/fixtures/interop/ (written by PyTorch 1.13 from zoo.py's models): each folder
 *    loads here with PyTorch's logits (≤ 1e-5 relative), and saving it again writes PyTorch's very tensors
 *    (names, shapes, values) — what PyTorch wrote is what it gets back;
 *  - when /usr/bin/python3 can import torch: a transformer trained by `npm run makemore` loads in PyTorch
 *    with the same logits, and PyTorch's save of it loads back here with the same logits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tf, initTf } from '../../lib/runtime/tf';
import { loadModel, saveModel } from '../../lib/train/saved-model';
import { decodeSafetensors, decodeTensor, parseSafetensorsHeader } from '../../lib/data/safetensors';
import type { LanguageModel } from '../../lib/models/language-model';
import { makemore, NAMES, newDir } from '../helpers/cli';

process.env.SEQUENTIA_QUIET_BACKEND = '1';
const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'interop');
const TYPES = ['bigram', 'mlp', 'rnn', 'gru', 'lstm', 'bow', 'transformer', 'wavenet'];

interface Logits {
  idx: number[][];
  logits: number[][][];
}

/** max |a − b| / max |b|, and max |a − b|. */
function relative(a: ArrayLike<number>, b: number[]): { rel: number; abs: number } {
  let abs = 0;
  let top = 0;
  for (let i = 0; i < b.length; i++) {
    abs = Math.max(abs, Math.abs((a[i] as number) - (b[i] as number)));
    top = Math.max(top, Math.abs(b[i] as number));
  }
  return { rel: abs / top, abs };
}

function logitsOf(m: LanguageModel, idx: number[][]): Float32Array {
  return tf.tidy(() => m.forward(tf.tensor2d(idx, undefined, 'int32')).logits.dataSync() as Float32Array);
}

test('PyTorch → Sequentia: every zoo type of test/fixtures/interop loads with PyTorch logits; saved again, the same tensors', async (t) => {
  await initTf();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-interop-'));
  for (const type of TYPES) {
    const dir = path.join(FIXTURES, type);
    const want = JSON.parse(fs.readFileSync(path.join(dir, 'logits.json'), 'utf8')) as Logits;
    const { model, vocab } = await loadModel(dir);
    assert.equal(model.type, type);
    const d = relative(logitsOf(model, want.idx), want.logits.flat(2));
    assert.ok(d.rel <= 1e-5, `${type}: logits differ from PyTorch's by ${d.rel} (relative), ${d.abs} (absolute)`);
    t.diagnostic(`${type}: max |Δ| ${d.abs.toExponential(2)}, relative ${d.rel.toExponential(2)}`);
    // Sequentia → PyTorch: our save holds PyTorch's own state_dict, value for value
    await saveModel(path.join(tmp, type), model, vocab);
    const ourFile = path.join(tmp, type, 'model.safetensors');
    const ours = decodeSafetensors(ourFile, fs.readFileSync(ourFile)).tensors;
    const torchFile = path.join(dir, 'model.safetensors');
    const bytes = fs.readFileSync(torchFile);
    const theirs = parseSafetensorsHeader(torchFile, bytes, bytes.length);
    assert.deepEqual(Object.keys(ours).sort(), theirs.entries.map((e) => e.name).sort(), `${type}: the names`);
    for (const e of theirs.entries) {
      if (e.dtype !== 'F32') continue; // BatchNorm's num_batches_tracked: an int64 counter, not a weight
      const t = decodeTensor(torchFile, bytes, e);
      assert.deepEqual(ours[e.name]!.shape, t.shape, `${type}: ${e.name}'s shape`);
      assert.deepEqual(Array.from(ours[e.name]!.data), Array.from(t.data), `${type}: ${e.name}'s values`);
    }
    model.dispose();
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

test(
  'a transformer trained by npm run makemore loads in PyTorch with equal logits, and back (live, with PyTorch)',
  { skip: hasTorch ? false : `${PYTHON} cannot import torch` },
  async (t) => {
    await initTf();
    const work = newDir();
    const args = ['--input', NAMES, '--type', 'transformer', '--n-layer', '2', '--n-head', '2', '--n-embd', '16'];
    const r = makemore([...args, '--batch-size', '8', '--max-steps', '20', '--num-samples', '0', '--work-dir', work]);
    assert.equal(r.code, 0, r.err);
    const dir = path.join(work, 'exchange');
    fs.cpSync(path.join(work, 'latest', 'model'), dir, { recursive: true });
    const { model } = await loadModel(dir);
    const idx = [
      [0, 5, 13, 13, 1, 0, 0, 0, 0, 0, 0],
      [0, 1, 22, 1, 0, 7, 9, 3, 4, 2, 26],
    ];
    fs.writeFileSync(path.join(dir, 'logits.json'), JSON.stringify({ idx, logits: Array.from(logitsOf(model, idx)) }));
    const py = spawnSync(PYTHON, [path.join(ROOT, 'scripts', 'torch', 'interop.py'), 'check', dir], {
      encoding: 'utf8',
      env: { ...process.env, OPENBLAS_NUM_THREADS: '1' },
    });
    assert.equal(py.status, 0, py.stderr + py.stdout);
    t.diagnostic(py.stdout.trim());
    const there = /relative ([\d.e+-]+)/.exec(py.stdout);
    assert.ok(there && Number(there[1]) <= 1e-5, py.stdout);
    // the way back: PyTorch's save of the same model
    const back = await loadModel(path.join(dir, 'torch'));
    const want = JSON.parse(fs.readFileSync(path.join(dir, 'torch', 'logits.json'), 'utf8')) as Logits;
    const d = relative(logitsOf(back.model, idx), want.logits.flat(2));
    t.diagnostic(`PyTorch's save loaded here: max |Δ| ${d.abs}, relative ${d.rel}`);
    assert.ok(d.rel <= 1e-5, `relative ${d.rel}`);
    const same = relative(logitsOf(back.model, idx), Array.from(logitsOf(model, idx)));
    assert.equal(same.abs, 0, 'the round trip returns the very weights');
    back.model.dispose();
    model.dispose();
  },
);
