// scripts/makemore.ts end to end: train, checkpoint, sample, resume, bad flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TSX } from '../../scripts/node-tsx';
import { makemore, TINY, newDir } from '../helpers/cli';
import { loadCheckpoint } from '../../lib/train/checkpoint';
import { saveLegacyCheckpoint } from '../helpers/legacy-save';
import { tf, initTf } from '../../lib/runtime/tf';

process.env.SEQUENTIA_QUIET_BACKEND = '1';
const ROOT = path.resolve(__dirname, '..', '..');

test('makemore CLI: trains, checkpoints, samples with tags, rejects bad flags', () => {
  const work = newDir();
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [...TSX, path.join(ROOT, 'scripts', 'cli', 'makemore.ts'), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, SEQUENTIA_QUIET_BACKEND: '1' },
    });
  const r = run('--type', 'bow', '--work-dir', work, '--max-steps', '60', '--eval-every', '30', '--num-samples', '4');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /model bow: 12,827 parameters/);
  assert.match(r.stdout, /samples that are new:/);
  assert.match(r.stdout, /step 60 train loss \d\.\d{4} test loss \d\.\d{4}/);
  for (const f of [
    'latest/model/model.safetensors',
    'latest/model/config.json',
    'latest/model/vocab.json',
    'latest/optimizer/optimizer.safetensors',
    'best/model/model.safetensors',
    'log.jsonl',
    'log.csv',
    'loss.html',
  ])
    assert.ok(fs.existsSync(path.join(work, f)), f);
  assert.equal(fs.readFileSync(path.join(work, 'log.jsonl'), 'utf8').trim().split('\n').length, 2);
  const s = run('--work-dir', work, '--sample-only', '--num-samples', '3');
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, /loaded bow/);
  // resume to step 90 (--max-steps is the total): the AdamW moments come back; two threads share the batch
  const res = run(
    '--work-dir',
    work,
    '--resume',
    '--max-steps',
    '90',
    '--eval-every',
    '30',
    '--num-samples',
    '0',
    '--workers',
    '2',
  );
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /loaded bow from .* \(step 60,.*AdamW step 60\)/);
  assert.match(res.stdout, /step 90 train loss/);
  assert.equal(fs.readFileSync(path.join(work, 'log.jsonl'), 'utf8').trim().split('\n').length, 3);
  const bad3 = run('--workers', '3');
  assert.equal(bad3.status, 2);
  assert.match(bad3.stderr, /--workers must be 1 or 2/);
  const bad = run('--type', 'cnn');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--type must be one of bigram, mlp, .* or wavenet, got 'cnn'/);
  const bad2 = run('--batch-size', '0');
  assert.equal(bad2.status, 2);
  const missing = run('--input', 'no/such/file.txt', '--max-steps', '1');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /data file not found/);
});

test('makemore convert: checkpoints and saved models of the older form become model.safetensors, sampling the same words', async () => {
  await initTf();
  const work = newDir();
  assert.equal(makemore([...TINY, '--work-dir', work, '--max-steps', '3', '--num-samples', '0']).code, 0);
  const sample = () => makemore(['--work-dir', work, '--sample-only', '--num-samples', '5']);
  const before = sample();
  for (const slot of ['latest', 'best']) {
    const dir = path.join(work, slot);
    const c = await loadCheckpoint<object>(dir);
    for (const sub of ['model', 'optimizer', 'checkpoint.json'])
      fs.rmSync(path.join(dir, sub), { recursive: true, force: true });
    await saveLegacyCheckpoint(dir, { ...c, topology: { ...c.topology, sequentia: 2 } });
    tf.dispose(Object.values(c.weights));
  }
  const old = sample();
  assert.equal(old.code, 0, old.err);
  assert.match(old.err, /holds a model of the older form .*convert --model/);
  const conv = makemore(['convert', '--work-dir', work]);
  assert.equal(conv.code, 0, conv.err);
  assert.match(conv.out, /latest: written as model\/model\.safetensors/);
  for (const f of ['latest/model/model.safetensors', 'latest/optimizer/optimizer.safetensors', 'best/model/vocab.json'])
    assert.ok(fs.existsSync(path.join(work, f)), f);
  assert.ok(!fs.existsSync(path.join(work, 'latest/model/model.json')));
  const after = sample();
  assert.equal(after.err, '');
  const words = (out: string) => out.split('\n').filter((l) => !/loaded|samples that are|^$/.test(l));
  assert.deepEqual(words(after.out), words(before.out));
  assert.equal(makemore(['convert', '--nothing']).code, 2);
});
