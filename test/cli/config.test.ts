/**
 * The CLIs' option tables: --help generated from them, config files (precedence, hostile files), the
 * novel's old flag names, and makemore's default model (the transformer) trained and sampled end to end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { makemore, NAMES, newDir, ROOT, run, TMP } from '../helpers/cli';
import { TABLE as MAKEMORE_TABLE } from '../../scripts/cli/makemore/args';
import { TABLE as NOVEL_TABLE } from '../../scripts/cli/novel';
import { parseOptions, readConfigFile, shownDefault, type Table } from '../../scripts/cli/run/options';
import { NOVEL_SETTINGS } from '../../lib/models/presets';
import { readSavedModelInfo } from '../../lib/train/saved-model';
import { loadCheckpoint } from '../../lib/train/checkpoint';
import { tf, initTf } from '../../lib/runtime/tf';
import { saveLegacyCheckpoint } from '../helpers/legacy-save';

process.env.SEQUENTIA_QUIET_BACKEND = '1';

const settingsOf = (dir: string) =>
  (
    JSON.parse(fs.readFileSync(path.join(dir, 'latest/checkpoint.json'), 'utf8')) as {
      settings: Record<string, unknown>;
    }
  ).settings;
const TINY_TRANSFORMER = ['--input', NAMES, '--n-layer', '1', '--n-head', '2', '--n-embd', '8', '--batch-size', '4'];

test("makemore's default model, the transformer, trains a few steps, saves its type and config, and samples", () => {
  const dir = newDir();
  const r = makemore([
    ...TINY_TRANSFORMER,
    '--work-dir',
    dir,
    '--max-steps',
    '4',
    '--eval-every',
    '2',
    '--num-samples',
    '3',
  ]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /model transformer: 1,\d{3} parameters/);
  assert.match(r.out, /step 4 train loss \d\.\d{4} test loss \d\.\d{4}/);
  const t = readSavedModelInfo(path.join(dir, 'latest/model')).topology;
  assert.equal(t.sequentia, 3);
  assert.equal(t.type, 'transformer');
  assert.deepEqual(t.config, {
    vocabSize: 27,
    blockSize: 11,
    nLayer: 1,
    nHead: 2,
    nEmbd: 8,
    nEmbd2: 64,
  });
  const s = makemore(['--work-dir', dir, '--sample-only', '--num-samples', '5']);
  assert.equal(s.code, 0, s.err);
  assert.match(s.out, /loaded transformer from .* \(step 4/);
  const counts = [...s.out.matchAll(/^(\d+) samples that are/gm)].map((m) => Number(m[1]));
  assert.equal(
    counts.reduce((a, b) => a + b, 0),
    5,
  );
});

test('--config: the defaults < the file < the flags given, as the checkpoint stores them', () => {
  const dir = newDir();
  const file = path.join(TMP, 'small.json');
  fs.writeFileSync(file, JSON.stringify({ 'n-embd': 12, 'batch-size': 6, 'learning-rate': 0.001, seed: 7 }));
  const r = makemore([
    ...['--input', NAMES, '--type', 'mlp', '--n-embd2', '16', '--num-samples', '0', '--eval-every', '3'],
    ...['--config', file, '--batch-size', '5', '--max-steps', '3', '--work-dir', dir],
  ]);
  assert.equal(r.code, 0, r.err);
  const s = settingsOf(dir);
  assert.equal(s.nEmbd, 12, 'the file');
  assert.equal(s.learningRate, 0.001, 'the file');
  assert.equal(s.seed, 7, 'the file');
  assert.equal(s.batchSize, 5, 'the flag over the file');
  assert.equal(s.nEmbd2, 16, 'a flag');
  assert.equal(s.weightDecay, 0.01, 'the default');
  assert.equal(s.beta2, 0.99, "makemore's β2");
  // a file's value counts as given: it contradicts a checkpoint as a flag does
  const again = makemore(['--work-dir', dir, '--resume', '--config', file, '--n-embd', '16']);
  assert.equal(again.code, 2);
  assert.match(again.err, /--n-embd 16, but the checkpoint's is 12/);
});

test('--june-2022 is configs/makemore-june-2022.json, read from the repository whatever the cwd; flags win', () => {
  const june = JSON.parse(fs.readFileSync(path.join(ROOT, 'configs/makemore-june-2022.json'), 'utf8')) as object;
  assert.deepEqual(june, {
    dropout: 0.1,
    'weight-decay': 0.1,
    decay: 'linear',
    'grad-clip': 1,
    init: 'gpt',
    seed: 1337,
  });
  const cwd = process.cwd();
  process.chdir(os.tmpdir());
  try {
    const p = parseOptions(MAKEMORE_TABLE, ['--june-2022', '--seed', '5'], () => {});
    const v = p.values;
    assert.deepEqual(
      [v.dropout, v.weightDecay, v.decay, v.gradClip, v.init, v.seed, v.learningRate],
      [0.1, 0.1, 'linear', 1, 'gpt', 5, 5e-4],
    );
    assert.equal(p.fromFile.get('dropout'), '--june-2022');
    assert.equal(p.fromFile.has('seed'), false, 'the flag given');
  } finally {
    process.chdir(cwd);
  }
  const book = JSON.parse(fs.readFileSync(path.join(ROOT, 'configs/novel-book.json'), 'utf8')) as object;
  const b = NOVEL_SETTINGS.book;
  assert.deepEqual(book, { 'n-embd': b.nEmbd, 'n-hidden': b.nHidden, 'batch-size': b.batch, 'max-steps': b.steps });
  const n = parseOptions(NOVEL_TABLE, ['--book'], () => {}).values;
  assert.deepEqual([n.nEmbd, n.nHidden, n.batch, n.steps], [b.nEmbd, b.nHidden, b.batch, b.steps]);
});

test('bad config files: exit 2 naming the file (and the key), before any work dir is created', () => {
  const bad = (name: string, content: string | null) => {
    const f = path.join(TMP, name);
    if (content !== null) fs.writeFileSync(f, content);
    return f;
  };
  const folder = path.join(TMP, 'a-folder.json');
  fs.mkdirSync(folder, { recursive: true });
  const fifo = path.join(TMP, 'fifo.json');
  spawnSync('mkfifo', [fifo]);
  const latin1 = path.join(TMP, 'latin1.json');
  fs.writeFileSync(latin1, Buffer.from('{"input": "caf\xe9"}', 'latin1'));
  const cases: [string, RegExp][] = [
    [bad('missing.json', null), /missing\.json not found/],
    [folder, /a-folder\.json is a directory, not a regular file/],
    [fifo, /fifo\.json is a named pipe \(FIFO\), not a regular file/],
    [bad('not.json', '{"n-embd": 8,'), /not\.json is not valid JSON/],
    [latin1, /latin1\.json is not UTF-8 text/],
    [bad('array.json', '[1, 2]'), /array\.json holds an array, not a JSON object/],
    [
      bad('unknown.json', '{"n_embd": 8}'),
      /unknown\.json: unknown key "n_embd" \(did you mean "n-embd"\?\): the keys are the flags' names .*n-embd/,
    ],
    [
      bad('switch.json', '{"resume": true}'),
      /switch\.json: unknown key "resume" \(not a setting a config file may hold\)/,
    ],
    [bad('type.json', '{"n-embd": "8"}'), /type\.json: "n-embd" must be an integer from 1 to 65,536, got "8"/],
    [bad('huge.json', '{"n-embd": 1e6}'), /huge\.json: "n-embd" must be an integer from 1 to 65,536, got 1000000/],
    [bad('twice.json', '{"n-embd": 16, "seed": 1, "n-embd": 32}'), /twice\.json gives "n-embd" twice in one object/],
    [bad('range.json', '{"dropout": 1.5}'), /range\.json: "dropout" must be in \[0, 1\), got 1\.5/],
    [bad('choice.json', '{"type": "cnn"}'), /choice\.json: "type" must be one of bigram, .* got "cnn"/],
  ];
  // Every case through the parser makemore runs first; the CLI itself for a problem with the file and one
  // with a key (the same UsageError, printed and exit 2, before the work dir exists).
  for (const [file, want] of cases)
    assert.throws(() => parseOptions(MAKEMORE_TABLE, ['--input', NAMES, '--config', file], () => {}), want, file);
  for (const [file, want] of [cases[0]!, cases[6]!]) {
    const dir = newDir();
    const r = makemore(['--input', NAMES, '--work-dir', dir, '--config', file]);
    assert.equal(r.code, 2, `${file}: ${r.err}`);
    assert.match(r.err, want, file);
    assert.equal(fs.existsSync(dir), false, `${file}: nothing created`);
  }
  const june = ['--june-2022', '--config', path.join(ROOT, 'configs/makemore-june-2022.json')];
  assert.throws(() => parseOptions(MAKEMORE_TABLE, june, () => {}), /--june-2022 and .*: give one config/);
  assert.throws(
    () => readConfigFile(NOVEL_TABLE, bad('novel.json', '{"dropout": 0.1}')),
    /novel\.json: unknown key "dropout"/,
  );
});

test('novel: the old flag names (--out, --steps, --log-every) still work, each with a note naming the new one', () => {
  const dir = newDir();
  const sizes = ['--n-embd', '8', '--n-hidden', '16', '--batch-size', '4'];
  const r = run('novel', [...sizes, '--out', dir, '--steps', '5', '--log-every', '5']);
  assert.equal(r.code, 0, r.err);
  for (const [old, now] of [
    ['--out', '--work-dir'],
    ['--steps', '--max-steps'],
    ['--log-every', '--eval-every'],
  ])
    assert.ok(
      r.err.includes(`novel: note: ${old} is now ${now}; the old name is accepted until the next release`),
      r.err,
    );
  const s = settingsOf(dir);
  assert.deepEqual([s.steps, s.logEvery, s.nEmbd], [5, 5, 8]);
  assert.equal(fs.readFileSync(path.join(dir, 'loss.jsonl'), 'utf8').trim().split('\n').length, 1);
  const twice = run('novel', ['--out', dir, '--work-dir', dir]);
  assert.equal(twice.code, 2);
  assert.match(twice.err, /--work-dir and --out are one flag: give it once/);
});

/** The lines --help prints for `flag` (its own and the continued ones). */
function helpBlock(help: string, flag: string): string {
  const lines = help.split('\n');
  const i = lines.findIndex((l) => l.startsWith(`  --${flag} `) || l === `  --${flag}`);
  assert.ok(i >= 0, `--help lists --${flag}`);
  const block = [lines[i]];
  for (const l of lines.slice(i + 1)) {
    if (!l.startsWith('    ')) break;
    block.push(l);
  }
  return block.join('\n');
}

test('--help lists every option of the table with its default', () => {
  for (const [script, table] of [
    ['makemore', MAKEMORE_TABLE],
    ['novel', NOVEL_TABLE],
  ] as ['makemore' | 'novel', Table][]) {
    const h = run(script, ['--help']);
    assert.equal(h.code, 0, h.err);
    for (const o of Object.values(table)) {
      const block = helpBlock(h.out, o.flag);
      const d = shownDefault(o);
      if (d !== undefined)
        assert.ok(block.replace(/\n\s+/g, ' ').includes(`(default ${d})`), `${script} --${o.flag}: ${block}`);
      for (const old of o.aliases ?? []) assert.ok(block.includes(`--${old}`), `${script} --${o.flag} names --${old}`);
    }
  }
  assert.equal(shownDefault(MAKEMORE_TABLE.learningRate), '0.0005');
  assert.equal(shownDefault(MAKEMORE_TABLE.nEmbd), '64; wavenet 24');
  assert.equal(shownDefault(NOVEL_TABLE.steps), String(NOVEL_SETTINGS.default.steps));
});

test("an older makemore checkpoint (model.json + weights.bin, its GRU's config a ZooConfig, no sizes in its settings) resumes exactly and is re-saved in the current form", async () => {
  await initTf();
  const args = ['--input', NAMES, '--type', 'gru', '--n-embd', '8', '--n-embd2', '16', '--batch-size', '4'];
  const quiet = ['--eval-every', '3', '--num-samples', '0'];
  const [old, straight] = [newDir(), newDir()];
  assert.equal(makemore([...args, ...quiet, '--work-dir', old, '--max-steps', '3']).code, 0);
  assert.equal(makemore([...args, ...quiet, '--work-dir', straight, '--max-steps', '6']).code, 0);
  for (const slot of ['latest', 'best']) {
    // rewritten as the older makemore wrote it
    const dir = path.join(old, slot);
    const c = await loadCheckpoint<Record<string, number>>(dir);
    for (const sub of ['model', 'optimizer', 'checkpoint.json'])
      fs.rmSync(path.join(dir, sub), { recursive: true, force: true });
    const config = {
      vocabSize: c.topology.config.vocabSize,
      blockSize: c.topology.config.blockSize,
      nLayer: 4,
      nHead: 4,
      nEmbd: 8,
      nEmbd2: 16,
    };
    const settings = { ...c.info.settings };
    for (const k of ['type', 'nLayer', 'nHead', 'nEmbd', 'nEmbd2', 'dropout', 'init', 'beta1', 'beta2'])
      delete settings[k];
    await saveLegacyCheckpoint(dir, {
      topology: { ...c.topology, sequentia: 1, config },
      weights: c.weights,
      optimizer: c.optimizer,
      info: { ...c.info, settings },
    });
    tf.dispose(Object.values(c.weights));
  }
  const s = makemore(['--work-dir', old, '--sample-only', '--num-samples', '2']);
  assert.equal(s.code, 0, s.err);
  assert.match(s.out, /loaded gru/);
  const conflict = makemore(['--work-dir', old, '--resume', '--n-embd2', '32']);
  assert.equal(conflict.code, 2);
  assert.match(conflict.err, /--n-embd2 32, but the checkpoint's is 16/);
  const r = makemore(['--work-dir', old, '--resume', '--max-steps', '6']);
  assert.equal(r.code, 0, r.err);
  const bytes = (d: string) => fs.readFileSync(path.join(d, 'latest/model/model.safetensors'));
  assert.ok(bytes(old).equals(bytes(straight)), 'the same weights as a run that was never stopped');
  assert.ok(!fs.existsSync(path.join(old, 'latest/model/model.json')), 'the older files are gone');
  const t = readSavedModelInfo(path.join(old, 'latest/model')).topology;
  assert.equal(t.sequentia, 3);
  assert.deepEqual(t.config, { cell: 'gru', vocabSize: 27, blockSize: 11, nEmbd: 8, nHidden: 16 });
  assert.equal(settingsOf(old).nEmbd2, 16);
});
