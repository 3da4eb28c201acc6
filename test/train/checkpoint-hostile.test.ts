/**
 * lib/train/checkpoint and saved-model against crafted or foreign checkpoints of the older form
 * (model.json + weights.bin, still loaded for one release; the current form's are in
 * safetensors-hostile.test.ts): every part (config, manifest, weight sizes, optimizer state, settings)
 * is checked against the others by readCheckpoint, before any model is built or any weight read. Each
 * error names the file and the field, in seconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tf, initTf } from '../../lib/runtime/tf';
import { createModel, zooModel } from '../../lib/models/registry';
import { zooParamCount, type ZooConfig } from '../../lib/models/zoo/config';
import { TorchGenerator } from '../../lib/random/torch-generator';
import { FastGenerator } from '../../lib/random/fast-generator';
import { MAKEMORE_SETTINGS_SPEC } from '../../scripts/cli/makemore/args';
import { createOptimizer, type Adam } from '../../lib/train/optimizers';
import { loadCheckpoint, optimizerStateByName, readCheckpoint, resolveCheckpoint } from '../../lib/train/checkpoint';
import { saveLegacy, saveLegacyCheckpoint } from '../helpers/legacy-save';
import { loadModel, loadWeights, readSavedModelInfo } from '../../lib/train/saved-model';
import { Vocab } from '../../lib/data/vocab';

process.env.SEQUENTIA_QUIET_BACKEND = '1';
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-ckpt-hostile-'));
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
const CONFIG: ZooConfig = { vocabSize: 5, blockSize: 4, nLayer: 1, nHead: 1, nEmbd: 3, nEmbd2: 6 };
const SETTINGS = {
  input: 'names.txt',
  seed: 42,
  initSeed: null,
  batchSize: 32,
  learningRate: 5e-4,
  weightDecay: 0.01,
  evalEvery: 500,
  maxSteps: -1,
  workers: 1,
  words: 10,
  dataSha256: 'ab',
};

let good = '';
/** A complete checkpoint of the older form of a tiny transformer, with AdamW moments (made once). */
async function goodCheckpoint(): Promise<string> {
  if (good) return good;
  await initTf();
  const model = zooModel('transformer', CONFIG, new TorchGenerator(1));
  const opt = createOptimizer('adamw', 0.01) as Adam;
  const X = tf.tensor2d([[0, 1, 2, 3]], [1, 4], 'int32');
  const Y = tf.tensor2d([[1, 2, 3, 0]], [1, 4], 'int32');
  opt.minimize(() => model.forward(X, Y).loss!, false, model.params());
  good = path.join(root, 'good');
  await saveLegacyCheckpoint(good, {
    topology: { sequentia: 1, type: 'transformer', config: CONFIG, itos: ['.', 'a', 'b', 'c', 'd'], boundary: '.' },
    weights: model.namedWeights(),
    optimizer: optimizerStateByName(opt, model.namedWeights()),
    info: { step: 1, bestTestLoss: 2.5, batchRng: new FastGenerator('r').state(), settings: SETTINGS },
  });
  tf.dispose([X, Y]);
  model.dispose();
  return good;
}

let n = 0;
/** A copy of the good checkpoint, edited. */
async function variant(edit: (d: string) => void): Promise<string> {
  const d = path.join(root, `v${n++}`);
  fs.cpSync(await goodCheckpoint(), d, { recursive: true });
  edit(d);
  return d;
}
const modelJson = (d: string) => path.join(d, 'model', 'model.json');
const weightsBin = (d: string) => path.join(d, 'model', 'weights.bin');
type Obj = Record<string, unknown>;
/** Edits a JSON file in place. */
function editJson(file: string, f: (j: Obj) => void): void {
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Obj;
  f(j);
  fs.writeFileSync(file, JSON.stringify(j));
}
const manifest = (j: Obj) =>
  (j.weightsManifest as { paths: unknown[]; weights: { name: string; shape: unknown[]; dtype: unknown }[] }[])[0]!;
const config = (j: Obj) => (j.modelTopology as { config: Obj }).config;

/** readCheckpoint (no weights read, nothing built) must refuse `d` within 2 s; returns the message. */
function refusedByRead(d: string, opts: Parameters<typeof readCheckpoint>[1] = {}): string {
  const t0 = Date.now();
  let message = '';
  assert.throws(
    () => readCheckpoint(d, opts),
    (e: Error) => ((message = e.message), true),
  );
  assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  return message;
}

test('the good checkpoint passes every check and loads', async () => {
  const d = await goodCheckpoint();
  readCheckpoint(d, { settings: MAKEMORE_SETTINGS_SPEC });
  const m = zooModel('transformer', CONFIG, new TorchGenerator(2));
  const c = await loadCheckpoint(d, m.namedWeights(), { settings: MAKEMORE_SETTINGS_SPEC });
  assert.equal(c.info.step, 1);
  assert.ok(c.optimizer);
  tf.dispose(Object.values(c.weights));
  m.dispose();
});

test('manifest paths out of the folder: ../../dev/zero, /etc/passwd, a symlink to /dev/zero, a FIFO', async () => {
  const zero = await variant((d) => editJson(modelJson(d), (j) => (manifest(j).paths = ['../../../../dev/zero'])));
  assert.match(
    refusedByRead(zero),
    /model\.json: weightsManifest\[0\]\.paths\[0\] "\.\.\/\.\.\/\.\.\/\.\.\/dev\/zero" leaves/,
  );
  await assert.rejects(loadWeights(path.join(zero, 'model')), /paths\[0\] .* leaves/);
  const passwd = await variant((d) => editJson(modelJson(d), (j) => (manifest(j).paths = ['/etc/passwd'])));
  assert.match(
    refusedByRead(passwd),
    /model\/model\.json: weightsManifest\[0\]\.paths\[0\] "\/etc\/passwd" is an absolute path/,
  );
  const link = await variant((d) => {
    fs.rmSync(weightsBin(d));
    fs.symlinkSync('/dev/zero', weightsBin(d));
  });
  assert.match(refusedByRead(link), /paths\[0\] "weights\.bin" is a link to \/dev\/zero, outside/);
  const fifo = await variant((d) => {
    fs.rmSync(weightsBin(d));
    assert.equal(spawnSync('mkfifo', [weightsBin(d)]).status, 0);
  });
  assert.match(refusedByRead(fifo), /model\/weights\.bin is a named pipe \(FIFO\), not a regular file/);
  await assert.rejects(loadWeights(path.join(fifo, 'model')), /weights\.bin is a named pipe/);
});

test('config nLayer 1000000 (and other unbounded or fractional fields) is refused before any model is built', async () => {
  const huge = await variant((d) => editJson(modelJson(d), (j) => (config(j).nLayer = 1_000_000)));
  assert.match(refusedByRead(huge), /model\.json: config\.nLayer is 1000000, expected a whole number from 1 to 256/);
  const t0 = Date.now();
  await assert.rejects(loadModel(path.join(huge, 'model')), /config\.nLayer is 1000000/);
  assert.ok(Date.now() - t0 < 2000);
  const frac = await variant((d) => editJson(modelJson(d), (j) => (config(j).nEmbd = 2.5)));
  assert.match(refusedByRead(frac), /model\/model\.json: config\.nEmbd is 2\.5, expected a whole number/);
  const str = await variant((d) => editJson(modelJson(d), (j) => (config(j).vocabSize = '5')));
  assert.match(refusedByRead(str), /model\/model\.json: config\.vocabSize is "5"/);
  const drop = await variant((d) => editJson(modelJson(d), (j) => (config(j).dropout = 1)));
  assert.match(refusedByRead(drop), /model\/model\.json: config\.dropout is 1, expected a number in \[0, 1\)/);
});

test('a config within bounds that disagrees with the manifest (nLayer 200) is refused: the values it implies differ', async () => {
  const d = await variant((x) => editJson(modelJson(x), (j) => (config(j).nLayer = 200)));
  assert.match(
    refusedByRead(d),
    /model\.json: config .* of a transformer implies \d+ weight values, but weightsManifest lists \d+/,
  );
});

test('weights.bin truncated or longer than the manifest says: refused by readCheckpoint, before reading it', async () => {
  const short = await variant((d) => fs.truncateSync(weightsBin(d), 100));
  assert.match(
    refusedByRead(short),
    /weights\.bin has 100 bytes, but .*model\.json lists \d+ weights taking \d+ bytes/,
  );
  const long = await variant((d) => fs.appendFileSync(weightsBin(d), Buffer.alloc(8)));
  assert.match(refusedByRead(long), /weights\.bin has \d+ bytes, but .* lists \d+ weights taking \d+ bytes/);
});

test('manifest entries: dtype not float32, bad shapes, duplicate names', async () => {
  const dtype = await variant((d) => editJson(modelJson(d), (j) => (manifest(j).weights[0]!.dtype = 'int32')));
  assert.match(
    refusedByRead(dtype),
    /model\.json: weightsManifest\[0\]\.weights\[0\] \('wte'\)\.dtype is "int32": only float32/,
  );
  for (const [shape, why] of [
    [[-1, 3], /-1 is not a whole number/],
    [[1.5, 3], /1\.5 is not a whole number/],
    [[1e12, 3], /1000000000000 is not a whole number from 0 to 2147483647/],
    [[65536, 65536], /holds 4294967296 values/],
    ['5', /\.shape is "5"/],
  ] as const) {
    const d = await variant((x) =>
      editJson(modelJson(x), (j) => (manifest(j).weights[0]!.shape = shape as unknown as unknown[])),
    );
    const m = refusedByRead(d);
    assert.match(m, /model\/model\.json: weightsManifest\[0\]\.weights\[0\] \('wte'\)\.shape/);
    assert.match(m, why);
  }
  const dup = await variant((d) => editJson(modelJson(d), (j) => (manifest(j).weights[1]!.name = 'wte')));
  assert.match(
    refusedByRead(dup),
    /model\/model\.json: weightsManifest\[0\]\.weights\[1\] \('wte'\): the weight name 'wte' appears twice/,
  );
});

test('checkpoint.json that is a directory, a FIFO, or not an object; a slot that is a file', async () => {
  const info = (d: string) => path.join(d, 'checkpoint.json');
  const isDir = await variant((d) => {
    fs.rmSync(info(d));
    fs.mkdirSync(info(d));
  });
  assert.match(refusedByRead(isDir), /checkpoint\.json is a directory, not a regular file/);
  const fifo = await variant((d) => {
    fs.rmSync(info(d));
    assert.equal(spawnSync('mkfifo', [info(d)]).status, 0);
  });
  assert.match(refusedByRead(fifo), /checkpoint\.json is a named pipe/);
  const arr = await variant((d) => fs.writeFileSync(info(d), '[1,2]'));
  assert.match(refusedByRead(arr), /checkpoint\.json: not a Sequentia checkpoint/);
  const rng = await variant((d) => editJson(info(d), (j) => ((j.batchRng as Obj).X = [1, 2])));
  assert.match(refusedByRead(rng), /checkpoint\.json: bad batchRng/);
  const slot = path.join(root, 'slot-file');
  fs.writeFileSync(slot, 'x');
  assert.throws(() => resolveCheckpoint(slot), /slot-file is not a directory: not a checkpoint/);
});

test('model.json: 0 bytes, JSON null, an array, not UTF-8 — each named; a BOM is accepted', async () => {
  const empty = await variant((d) => fs.writeFileSync(modelJson(d), ''));
  assert.match(refusedByRead(empty), /model\/model\.json is empty/);
  const nul = await variant((d) => fs.writeFileSync(modelJson(d), 'null'));
  assert.match(refusedByRead(nul), /model\/model\.json is null, not a JSON object/);
  const arr = await variant((d) => fs.writeFileSync(modelJson(d), '[]'));
  assert.match(refusedByRead(arr), /model\/model\.json is an array, not a JSON object/);
  const latin1 = await variant((d) => {
    const text = fs.readFileSync(modelJson(d), 'utf8').replace('"itos":["."', '"itos":["\u00e9"');
    fs.writeFileSync(modelJson(d), Buffer.from(text, 'latin1'));
  });
  assert.match(refusedByRead(latin1), /model\/model\.json is not UTF-8 text: invalid byte 0xe9 at byte offset \d+/);
  const bom = await variant((d) => {
    fs.writeFileSync(modelJson(d), '\ufeff' + fs.readFileSync(modelJson(d), 'utf8'));
    fs.writeFileSync(
      path.join(d, 'checkpoint.json'),
      '\ufeff' + fs.readFileSync(path.join(d, 'checkpoint.json'), 'utf8'),
    );
  });
  readCheckpoint(bom);
});

test('optimizer state whose moments disagree with the model is refused by readCheckpoint', async () => {
  const opt = (d: string) => path.join(d, 'optimizer', 'model.json');
  const shape = await variant((d) =>
    editJson(opt(d), (j) => {
      const w = manifest(j).weights.find((e) => e.name === 'm:wte')!;
      w.shape = [(w.shape[0] as number) - 1];
    }),
  );
  // the byte count then disagrees too; the name check runs first for the entry itself
  assert.match(refusedByRead(shape), /optimizer\/(model\.json|weights\.bin)/);
  const renamed = await variant((d) =>
    editJson(opt(d), (j) => (manifest(j).weights.find((e) => e.name === 'm:wte')!.name = 'm:ghost')),
  );
  assert.match(refusedByRead(renamed), /optimizer\/model\.json: moments for 'ghost', which the model does not have/);
  const dup = await variant((d) =>
    editJson(opt(d), (j) => (manifest(j).weights.find((e) => e.name === 'v:wte')!.name = 'v:wpe')),
  );
  assert.match(
    refusedByRead(dup),
    /optimizer\/model\.json: weightsManifest\[0\]\.weights\[\d+\] \('v:wpe'\): .* appears twice/,
  );
  // the last moment dropped, and its bytes too: m without v
  let dropped = '';
  const lone = await variant((d) => {
    editJson(opt(d), (j) => {
      const last = manifest(j).weights.pop()!;
      dropped = last.name.slice(2);
      const bin = path.join(d, 'optimizer', 'weights.bin');
      fs.truncateSync(bin, fs.statSync(bin).size - 4 * (last.shape as number[]).reduce((a, b) => a * b, 1));
      delete j.weightsSha256;
    });
  });
  assert.match(
    refusedByRead(lone),
    new RegExp(`optimizer/model\\.json: '${dropped.replace('.', '\\.')}' has one moment`),
  );
  const step = await variant((d) => editJson(opt(d), (j) => (config(j).step = -3)));
  assert.match(refusedByRead(step), /optimizer\/model\.json: config\.step is -3/);
});

test('settings with a wrong type, or contradicting the config, name checkpoint.json and the setting', async () => {
  const info = (d: string) => path.join(d, 'checkpoint.json');
  const bs = await variant((d) => editJson(info(d), (j) => ((j.settings as Obj).batchSize = '32')));
  readCheckpoint(bs); // without a spec, settings are the trainer's business
  assert.match(
    refusedByRead(bs, { settings: MAKEMORE_SETTINGS_SPEC }),
    /checkpoint\.json: settings\.batchSize is "32", expected a whole number from 1 to 65536/,
  );
  const decay = await variant((d) => editJson(info(d), (j) => ((j.settings as Obj).decay = 'some')));
  assert.match(
    refusedByRead(decay, { settings: MAKEMORE_SETTINGS_SPEC }),
    /checkpoint\.json: settings\.decay is "some"/,
  );
  const contra = await variant((d) => editJson(info(d), (j) => ((j.settings as Obj).nEmbd = 99)));
  assert.match(
    refusedByRead(contra),
    /checkpoint\.json: settings\.nEmbd is 99, but config\.nEmbd in .*model\.json is 3/,
  );
});

test('the vocabulary must match the config: itos of another size, or not single characters', async () => {
  const itos = await variant((d) => editJson(modelJson(d), (j) => ((j.modelTopology as Obj).itos = ['.', 'a'])));
  assert.match(refusedByRead(itos), /model\.json: modelTopology\.itos has 2 characters, but config\.vocabSize is 5/);
  const multi = await variant((d) =>
    editJson(modelJson(d), (j) => ((j.modelTopology as Obj).itos = ['.', 'ab', 'b', 'c', 'd'])),
  );
  assert.match(refusedByRead(multi), /model\/model\.json: modelTopology\.itos\[1\] is "ab", not one character/);
});

test('loadModel checks a notebook save the same way; the weight limit is stated', async () => {
  await initTf();
  const dir = path.join(root, 'nb');
  const m = zooModel('lstm', { ...CONFIG, vocabSize: 3 }, new TorchGenerator(1));
  const vocab = new Vocab(['a', 'b'], '.');
  await saveLegacy(
    dir,
    { sequentia: 2, type: 'lstm', config: m.config, itos: vocab.itos, boundary: '.' },
    m.namedWeights(),
  );
  const back = await loadModel(dir);
  assert.equal(back.model.numParams(), m.numParams());
  back.model.dispose();
  assert.throws(
    () => readSavedModelInfo(dir, { maxWeightBytes: 100 }).topology,
    /model\.json lists \d+ weights taking .* more than the limit of 100 bytes/,
  );
  m.dispose();
});

test('zooParamCount gives what each zoo model holds (the manifest check relies on it)', async () => {
  await initTf();
  for (const type of ['bigram', 'mlp', 'rnn', 'gru', 'lstm', 'bow', 'transformer', 'wavenet']) {
    const c: ZooConfig = {
      vocabSize: 7,
      blockSize: type === 'wavenet' ? 4 : 5,
      nLayer: 2,
      nHead: 2,
      nEmbd: 4,
      nEmbd2: 6,
    };
    const m = zooModel(type, c, new TorchGenerator(1));
    const held = Object.values(m.namedWeights()).reduce((a, w) => a + w.size, 0);
    assert.equal(zooParamCount(type, c), held, type);
    m.dispose();
  }
});

test('lecture models: loadModel checks their config against the manifest too (a Linear of 60000 × 60000 is refused)', async () => {
  await initTf();
  const V = 7;
  const seqConfig = {
    vocabSize: V,
    blockSize: 2,
    nEmbd: 3,
    layers: [
      { kind: 'Linear' as const, fanIn: 6, fanOut: 5, bias: true, init: { kind: 'kaiming' as const, gain: 1 } },
      { kind: 'BatchNorm1d' as const, dim: 5, eps: 1e-5, momentum: 0.1, gamma: 1 },
      { kind: 'Tanh' as const },
      { kind: 'Linear' as const, fanIn: 5, fanOut: V, bias: false, init: { kind: 'randn' as const, scale: 0.1 } },
    ],
  };
  const vocab = new Vocab(['a', 'b', 'c', 'd', 'e', 'f'], '.');
  for (const [type, c] of [
    ['bigram-net', { vocabSize: V, blockSize: 1 }],
    ['lecture-mlp', { vocabSize: V, blockSize: 3, nEmbd: 2, nHidden: 4 }],
    ['sequential', seqConfig],
  ] as const) {
    const dir = path.join(root, `lecture-${type}`);
    const m = createModel(type, c as never, new TorchGenerator(1));
    const t = { sequentia: 2, type, config: c, itos: vocab.itos, boundary: '.' };
    await saveLegacy(dir, t, m.namedWeights());
    const back = await loadModel(dir);
    assert.equal(back.model.numParams(), m.numParams(), type);
    back.model.dispose();
    m.dispose();
  }
  const dir = path.join(root, 'lecture-sequential');
  editJson(path.join(dir, 'model.json'), (j) => {
    const layers = config(j).layers as Obj[];
    layers[0]!.fanIn = 60_000;
    layers[0]!.fanOut = 60_000;
  });
  const t0 = Date.now();
  await assert.rejects(
    loadModel(dir),
    /model\.json: config .* of a sequential implies 3600060\d+ weight values, but weightsManifest lists \d+/,
  );
  assert.ok(Date.now() - t0 < 2000);
  editJson(path.join(dir, 'model.json'), (j) => ((config(j).layers as Obj[])[1]!.kind = 'Conv9d'));
  await assert.rejects(loadModel(dir), /model\.json: config\.layers\[1\]\.kind is "Conv9d", not a known layer/);
});
