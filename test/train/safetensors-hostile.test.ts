/**
 * Saved models and checkpoints in the current form (model.safetensors + config.json + vocab.json, the
 * optimizer's optimizer.safetensors) against crafted or foreign folders: each check runs before any
 * model is built or any weight read, and its error names the file and the field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tf, initTf } from '../../lib/runtime/tf';
import { createModel, zooModel } from '../../lib/models/registry';
import type { ZooConfig } from '../../lib/models/zoo/config';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { FastGenerator } from '../../lib/random/fast-generator';
import { createOptimizer, type Adam } from '../../lib/train/optimizers';
import { loadCheckpoint, optimizerStateByName, readCheckpoint, saveCheckpoint } from '../../lib/train/checkpoint';
import { loadModel, readSavedModelInfo, saveModel } from '../../lib/train/saved-model';
import { decodeSafetensors, encodeSafetensors } from '../../lib/data/safetensors';
import { Vocab } from '../../lib/data/vocab';

process.env.SEQUENTIA_QUIET_BACKEND = '1';
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-st-hostile-'));
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
const CONFIG: ZooConfig = { vocabSize: 5, blockSize: 4, nLayer: 1, nHead: 1, nEmbd: 3, nEmbd2: 6 };

let good = '';
async function goodCheckpoint(): Promise<string> {
  if (good) return good;
  await initTf();
  const model = zooModel('transformer', CONFIG, new TorchGenerator(1));
  const opt = createOptimizer('adamw', 0.01) as Adam;
  const X = tf.tensor2d([[0, 1, 2, 3]], [1, 4], 'int32');
  const Y = tf.tensor2d([[1, 2, 3, 0]], [1, 4], 'int32');
  opt.minimize(() => model.forward(X, Y).loss!, false, model.params());
  good = path.join(root, 'good');
  await saveCheckpoint(good, {
    topology: { sequentia: 3, type: 'transformer', config: CONFIG, itos: ['.', 'a', 'b', 'c', 'd'], boundary: '.' },
    weights: model.namedWeights(),
    optimizer: optimizerStateByName(opt, model.namedWeights()),
    info: { step: 1, bestTestLoss: 2.5, batchRng: new FastGenerator('r').state(), settings: { seed: 1 } },
  });
  tf.dispose([X, Y]);
  model.dispose();
  return good;
}

let n = 0;
async function variant(edit: (d: string) => void): Promise<string> {
  const d = path.join(root, `v${n++}`);
  fs.cpSync(await goodCheckpoint(), d, { recursive: true });
  edit(d);
  return d;
}
const file = (d: string, f: string) => path.join(d, 'model', f);
type Obj = Record<string, unknown>;
function editJson(f: string, edit: (j: Obj) => void): void {
  const j = JSON.parse(fs.readFileSync(f, 'utf8')) as Obj;
  edit(j);
  fs.writeFileSync(f, JSON.stringify(j));
}
/** Rewrites a safetensors file through `edit` of its tensors and metadata (a PyTorch-style writer). */
function editSafetensors(
  f: string,
  edit: (t: Record<string, { shape: number[]; data: Float32Array }>, m: Record<string, string>) => void,
): void {
  const { tensors, metadata } = decodeSafetensors(f, fs.readFileSync(f));
  edit(tensors, metadata);
  fs.writeFileSync(f, encodeSafetensors(tensors, metadata));
}
/** As PyTorch writes it: no Sequentia metadata (config.json is the config then). */
const dropMetadata = (d: string) =>
  editSafetensors(file(d, 'model.safetensors'), (_, m) => {
    for (const k of Object.keys(m)) if (k !== 'format') delete m[k];
  });

function refusedByRead(d: string): string {
  const t0 = Date.now();
  let message = '';
  assert.throws(
    () => readCheckpoint(d),
    (e: Error) => ((message = e.message), true),
  );
  assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  return message;
}

test('the good checkpoint loads; its files are what PyTorch expects', async () => {
  const d = await goodCheckpoint();
  const m = zooModel('transformer', CONFIG, new TorchGenerator(2));
  const c = await loadCheckpoint(d, m.namedWeights());
  assert.equal(c.optimizer?.step, 1);
  tf.dispose(Object.values(c.weights));
  m.dispose();
  assert.deepEqual(JSON.parse(fs.readFileSync(file(d, 'config.json'), 'utf8')), {
    model_type: 'transformer',
    block_size: 4,
    vocab_size: 5,
    n_layer: 1,
    n_embd: 3,
    n_embd2: 6,
    n_head: 1,
  });
  assert.deepEqual(JSON.parse(fs.readFileSync(file(d, 'vocab.json'), 'utf8')), {
    itos: ['.', 'a', 'b', 'c', 'd'],
    boundary: '.',
  });
});

test('model.safetensors a symlink to /dev/zero, a FIFO, truncated or past the weight limit: refused before reading', async () => {
  const w = (d: string) => file(d, 'model.safetensors');
  const link = await variant((d) => {
    fs.rmSync(w(d));
    fs.symlinkSync('/dev/zero', w(d));
  });
  assert.match(refusedByRead(link), /model\.safetensors is a character device/);
  const fifo = await variant((d) => {
    fs.rmSync(w(d));
    assert.equal(spawnSync('mkfifo', [w(d)]).status, 0);
  });
  assert.match(refusedByRead(fifo), /model\/model\.safetensors is a named pipe \(FIFO\), not a regular file/);
  const short = await variant((d) => fs.truncateSync(w(d), fs.statSync(w(d)).size - 1));
  assert.match(refusedByRead(short), /model\.safetensors: tensor '.*': data_offsets .* run past the data's \d+ bytes/);
  const d = await goodCheckpoint();
  assert.throws(
    () => readSavedModelInfo(path.join(d, 'model'), { maxWeightBytes: 100 }).topology,
    /model\.safetensors is .* \(\d+ bytes\), more than the limit of 100 bytes/,
  );
});

test('config.json: not an object, no model_type, sizes unbounded, or disagreeing with the metadata', async () => {
  const cfg = (d: string) => file(d, 'config.json');
  for (const [text, want] of [
    ['', /config\.json is empty/],
    ['null', /config\.json is null, not a JSON object/],
    ['[]', /config\.json is an array, not a JSON object/],
    ['{"vocab_size": 5}', /config\.json: model_type is undefined, expected a model type/],
  ] as const) {
    const v = await variant((d) => fs.writeFileSync(cfg(d), text));
    assert.match(refusedByRead(v), want);
  }
  const meta = await variant((d) => editJson(cfg(d), (j) => (j.n_layer = 2)));
  assert.match(refusedByRead(meta), /config\.json .* disagrees with the config in .*model\.safetensors's metadata/);
  // PyTorch's files: config.json is the config, checked field by field before any model is built
  const huge = await variant((d) => {
    dropMetadata(d);
    editJson(cfg(d), (j) => (j.n_layer = 1_000_000));
  });
  assert.match(refusedByRead(huge), /config\.json: config\.nLayer is 1000000, expected a whole number from 1 to 256/);
  const t0 = Date.now();
  await assert.rejects(loadModel(path.join(huge, 'model')), /config\.nLayer is 1000000/);
  assert.ok(Date.now() - t0 < 2000);
});

test("the header's names and shapes against the config: missing, unexpected, another shape — named before building", async () => {
  const two = await variant((d) => {
    dropMetadata(d);
    editJson(file(d, 'config.json'), (j) => (j.n_layer = 2));
  });
  assert.match(
    refusedByRead(two),
    /model\.safetensors does not hold the transformer of .*config\.json: missing 'transformer\.h\.1\.ln_1\.weight'/,
  );
  const renamed = await variant((d) =>
    editSafetensors(file(d, 'model.safetensors'), (t) => {
      t['lm_head.wieght'] = t['lm_head.weight']!;
      delete t['lm_head.weight'];
    }),
  );
  assert.match(refusedByRead(renamed), /missing 'lm_head\.weight'; unexpected 'lm_head\.wieght'/);
  const shape = await variant((d) =>
    editSafetensors(file(d, 'model.safetensors'), (t) => {
      t['lm_head.weight'] = { shape: [3, 5], data: t['lm_head.weight']!.data };
    }),
  );
  assert.match(refusedByRead(shape), /'lm_head\.weight' has shape \[3,5\], config\.json implies \[5,3\]/);
});

test('vocab.json: another size than the config, or not single characters', async () => {
  const voc = (d: string) => file(d, 'vocab.json');
  const size = await variant((d) => editJson(voc(d), (j) => (j.itos = ['.', 'a'])));
  assert.match(refusedByRead(size), /vocab\.json: itos has 2 characters, but config\.vocabSize is 5/);
  const multi = await variant((d) => editJson(voc(d), (j) => (j.itos = ['.', 'ab', 'b', 'c', 'd'])));
  assert.match(refusedByRead(multi), /vocab\.json: itos\[1\] is "ab", not one character/);
});

test('optimizer.safetensors: moments of a weight the model lacks, another size, m without v, not an optimizer', async () => {
  const opt = (d: string) => path.join(d, 'optimizer', 'optimizer.safetensors');
  const ghost = await variant((d) =>
    editSafetensors(opt(d), (t) => {
      t['m:ghost'] = t['m:wte']!;
      delete t['m:wte'];
    }),
  );
  assert.match(refusedByRead(ghost), /optimizer\.safetensors: moments for 'ghost', which the model does not have/);
  const size = await variant((d) =>
    editSafetensors(opt(d), (t) => (t['v:wpe'] = { shape: [2], data: new Float32Array(2) })),
  );
  assert.match(refusedByRead(size), /optimizer\.safetensors: 'v:wpe' has 2 values, the weight 'wpe' has 12/);
  const lone = await variant((d) => editSafetensors(opt(d), (t) => delete t['v:head.W']));
  assert.match(refusedByRead(lone), /optimizer\.safetensors: 'head\.W' has one moment/);
  const other = await variant((d) => editSafetensors(opt(d), (_, m) => delete m.sequentia_optimizer));
  assert.match(refusedByRead(other), /optimizer\.safetensors is not an optimizer state/);
  const step = await variant((d) => editSafetensors(opt(d), (_, m) => (m.step = '-3')));
  assert.match(refusedByRead(step), /optimizer\.safetensors: __metadata__\.step is null/);
});

test('a folder PyTorch wrote — tensors in any order, F16, no Sequentia metadata — loads with the same logits', async () => {
  await initTf();
  const dir = path.join(root, 'torch');
  const vocab = new Vocab(['a', 'b', 'c', 'd'], '.');
  const m = createModel('transformer', CONFIG, new TorchGenerator(3));
  await saveModel(dir, m, vocab);
  const f = path.join(dir, 'model.safetensors');
  const { tensors } = decodeSafetensors(f, fs.readFileSync(f));
  const names = Object.keys(tensors)
    .filter((k) => !k.endsWith('.attn.bias'))
    .reverse(); // no buffers, reversed
  fs.writeFileSync(f, encodeSafetensors(Object.fromEntries(names.map((k) => [k, tensors[k]!])), { format: 'pt' }));
  const back = await loadModel(dir);
  const x = tf.tensor2d([[0, 1, 2, 3]], [1, 4], 'int32');
  const [a, b] = [m.forward(x).logits.dataSync(), back.model.forward(x).logits.dataSync()];
  assert.ok(a.every((v, i) => v === b[i]));
  back.model.dispose();
  // F16: the values widen exactly, with a note
  const bytes = fs.readFileSync(f);
  const n = Number(bytes.readBigUInt64LE(0));
  const h = JSON.parse(bytes.subarray(8, 8 + n).toString()) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: number[] }
  >;
  const half = { ...h, 'transformer.ln_f.bias': { dtype: 'F16', shape: [3], data_offsets: [0, 6] } } as Obj;
  // rebuild: ln_f.bias as F16 zeros first, the rest after it
  let off = 6;
  const parts: Buffer[] = [Buffer.alloc(6)];
  for (const [k, e] of Object.entries(h)) {
    if (k === '__metadata__' || k === 'transformer.ln_f.bias') continue;
    const len = e.data_offsets[1]! - e.data_offsets[0]!;
    parts.push(bytes.subarray(8 + n + e.data_offsets[0]!, 8 + n + e.data_offsets[1]!));
    half[k] = { ...e, data_offsets: [off, off + len] };
    off += len;
  }
  const text = Buffer.from(JSON.stringify(half));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  fs.writeFileSync(f, Buffer.concat([len, text, ...parts]));
  const notes: string[] = [];
  const warn = console.warn;
  console.warn = (s: string) => notes.push(s);
  try {
    const f16 = await loadModel(dir);
    assert.deepEqual(Array.from((f16.model.namedWeights()['lnf.b'] as tf.Variable).dataSync()), [0, 0, 0]);
    f16.model.dispose();
  } finally {
    console.warn = warn;
  }
  assert.match(notes.join('\n'), /tensor 'transformer\.ln_f\.bias' is F16, widened to F32/);
  x.dispose();
  m.dispose();
});
