// scripts/cli/gpt.ts end to end on a tiny GPT: nanoGPT's evaluations and checkpoints, --resume bit for bit
// (2N iterations in one run = N, then --resume to 2N: the same weight and AdamW bytes), streaming samples,
// Ctrl-C keeping the model, and every bad input refused before any work, naming the flag, file or key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { interrupt, newDir, refusal, ROOT, run, TMP } from '../helpers/cli';
import { settingsProblem, TABLE, validate } from '../../scripts/cli/gpt/args';

const gpt = (args: string[]) => run('gpt', args);
const TEXT = path.join(TMP, 'shakespeare-head.txt');
fs.writeFileSync(TEXT, fs.readFileSync(path.join(ROOT, 'data/tinyshakespeare.txt'), 'utf8').slice(0, 20_000));
const TINY = [
  '--input',
  TEXT,
  '--n-layer',
  '1',
  '--n-head',
  '2',
  '--n-embd',
  '16',
  '--block-size',
  '8',
  '--batch-size',
  '4',
  '--dropout',
  '0',
  '--eval-iters',
  '2',
  '--eval-interval',
  '3',
  '--learning-rate',
  '0.01',
  '--warmup-iters',
  '2',
  '--lr-decay-iters',
  '6',
];

test('gpt: evaluations at 0, every N and the end; best and latest; --resume continues bit for bit', () => {
  const [whole, halves] = [newDir(), newDir()];
  const a = gpt([...TINY, '--work-dir', whole, '--max-iters', '6']);
  assert.equal(a.code, 0, a.err);
  assert.match(a.out, /20,000 characters, \d+ distinct; train 18,000, val 2,000/);
  assert.match(a.out, /step 0: train loss \d\.\d{4}, val loss \d\.\d{4}/);
  assert.match(a.out, /step 6: train loss/);
  for (const f of ['latest/model/model.safetensors', 'latest/optimizer', 'best/model/model.safetensors', 'log.jsonl'])
    assert.ok(fs.existsSync(path.join(whole, f)), f);
  const rows = (dir: string) =>
    fs
      .readFileSync(path.join(dir, 'log.csv'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(',').slice(0, 4).join(',')); // without the seconds
  assert.deepEqual(
    rows(whole).map((r) => r.split(',')[0]),
    ['step', '0', '3', '6'],
  );
  const b1 = gpt([...TINY, '--work-dir', halves, '--max-iters', '3']);
  assert.equal(b1.code, 0, b1.err);
  const b2 = gpt(['--work-dir', halves, '--resume', '--max-iters', '6']);
  assert.equal(b2.code, 0, b2.err);
  assert.match(b2.out, /loaded the GPT from .*latest \(iteration 3/);
  const bytes = (dir: string, f: string) => fs.readFileSync(path.join(dir, 'latest', f));
  assert.ok(
    bytes(whole, 'model/model.safetensors').equals(bytes(halves, 'model/model.safetensors')),
    'the same weights, bit for bit',
  );
  for (const f of fs.readdirSync(path.join(whole, 'latest/optimizer')))
    assert.ok(bytes(whole, `optimizer/${f}`).equals(bytes(halves, `optimizer/${f}`)), `optimizer/${f}`);
  assert.deepEqual(rows(halves), rows(whole), 'the same evaluations');
  // a model flag that contradicts the checkpoint; text the checkpoint's vocabulary lacks
  const contra = gpt(['--work-dir', halves, '--resume', '--max-iters', '9', '--n-embd', '32']);
  assert.equal(contra.code, 2);
  assert.match(contra.err, /--n-embd 32, but the checkpoint's is 16/);
  const other = path.join(TMP, 'other.txt');
  fs.writeFileSync(other, 'x'.repeat(100) + '€' + 'y'.repeat(100));
  const strange = gpt(['--work-dir', halves, '--resume', '--max-iters', '9', '--input', other]);
  assert.equal(strange.code, 2);
  assert.match(strange.err, /character '€' \(U\+20AC\) at position 100 is not in the vocabulary of the checkpoint/);

  // samples: streamed, --start first, the same seed the same text
  const args = ['sample', '--work-dir', halves, '--start', 'ROMEO:', '--num-samples', '2', '--max-new-tokens', '30'];
  const s1 = gpt([...args, '--seed', '1']);
  assert.equal(s1.code, 0, s1.err);
  const samples = s1.out.split('\n---------------\n').filter((x) => x.includes('ROMEO:'));
  assert.equal(samples.length, 2);
  for (const x of samples) assert.equal([...x.slice(x.indexOf('ROMEO:'))].length, 6 + 30);
  assert.equal(gpt([...args, '--seed', '1']).out, s1.out);
  assert.notEqual(gpt([...args, '--seed', '2']).out, s1.out);
  const unknown = gpt(['sample', '--work-dir', halves, '--start', 'Ω']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /--start "Ω": character 'Ω' \(U\+03A9\) at position 1 is not in the model's vocabulary/);
});

test('gpt: bad flags, config keys and files are refused before any work, naming them', () => {
  const dir = newDir();
  const config = path.join(TMP, 'bad-config.json');
  fs.writeFileSync(config, JSON.stringify({ n_layer: 4 }));
  const minLr = path.join(TMP, 'min-lr.json');
  fs.writeFileSync(minLr, JSON.stringify({ 'min-lr': 0.5 }));
  // Each flag and config problem through the parser and the checks gpt runs before anything else; the CLI
  // itself for two of them (the message, where the flags are listed, exit 2, nothing created) and the files.
  for (const [args, message] of [
    [
      ['--config', config],
      /config file .*bad-config\.json: unknown key "n_layer" \(did you mean "n-layer"\?\): the keys/,
    ],
    // a check across two settings names the file that set one of them
    [['--config', minLr], /^--min-lr 0\.5 \(from .*min-lr\.json\) is above --learning-rate 0\.01: /],
    [['--max-steps', '5'], /^Unknown option '--max-steps' \(did you mean --max-iters\?\)$/],
    [['--seed-text', 'ROMEO:'], /^Unknown option '--seed-text' \(did you mean --start\?\)$/],
    [['--n-embd'], /^--n-embd needs a value$/],
    [['--dropout', '1'], /--dropout must be in \[0, 1\), got '1'/],
    [['--n-embd', '30', '--n-head', '4'], /^--n-embd 30 must be divisible by --n-head 4$/],
    [['--activation', 'swish'], /--activation must be one of gelu, gelu-tanh or relu, got 'swish'/],
    [['--min-lr', '0.1'], /^--min-lr 0\.1 is above --learning-rate 0\.01/],
  ] as const) {
    const got = refusal(TABLE, (a) => validate(a) ?? settingsProblem(a), [...TINY, '--work-dir', dir, ...args]);
    assert.match(got ?? 'accepted', message, args.join(' '));
  }
  const cases: [string[], number, RegExp][] = [
    [['--config', minLr], 2, /^gpt: --min-lr 0\.5 \(from .*min-lr\.json\) is above --learning-rate 0\.01: /],
    [
      ['--n-emb', '16'],
      2,
      /^gpt: Unknown option '--n-emb' \(did you mean --n-embd\?\)\n\(npm run gpt -- --help lists the flags\)\n$/,
    ],
  ];
  const empty = path.join(TMP, 'empty.txt');
  fs.writeFileSync(empty, '   \n');
  const binary = path.join(TMP, 'binary.bin');
  fs.writeFileSync(binary, Buffer.from([0x41, 0x42, 0x00, 0x43]));
  const short = path.join(TMP, 'short.txt');
  fs.writeFileSync(short, 'To be, or not to be, that is the question.');
  cases.push(
    [['--input', empty], 1, /data file is empty: .*empty\.txt/],
    [['--input', binary], 1, /binary\.bin is not text: a NUL byte at byte offset 2/],
    [
      ['--input', short, '--block-size', '8'],
      2,
      /has 42 characters: its last 10 % \(the validation split, 5\) is shorter than --block-size 8 \+ 1/,
    ],
  );
  for (const [args, code, message] of cases) {
    const r = gpt([...TINY, '--work-dir', dir, ...args]);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message);
    assert.equal(fs.existsSync(dir), false, `${args.join(' ')}: nothing written`);
  }
  const typo = gpt(['samples', '--work-dir', dir]);
  assert.equal(typo.code, 2);
  assert.match(typo.err, /^gpt: unknown command 'samples' \(did you mean 'sample'\?\)/);
  const h = gpt(['-h']);
  assert.equal(h.code, 0, h.err);
  assert.match(h.out, /^usage: npm run gpt -- \[options\]/);
});

test('gpt: a model the fused step does not take says so before the first evaluation', () => {
  for (const [flags, why] of [
    [['--dropout', '0.1'], '--dropout 0.1 (the fused step has none)'],
    [['--block-size', '65'], '--block-size 65 (the fused attention takes ≤ 64)'],
  ] as const) {
    const r = gpt([...TINY, '--work-dir', newDir(), '--max-iters', '1', '--eval-iters', '1', ...flags]);
    assert.equal(r.code, 0, r.err);
    const notice = r.out.indexOf(`training through the tfjs ops, several times slower than the fused step: ${why}\n`);
    assert.ok(notice > 0 && notice < r.out.indexOf('step 0:'), r.out);
  }
});

test('gpt: Ctrl-C in an evaluation or in sampling is heard at once; --resume evaluates first and ends as if never stopped', async () => {
  const run = [...TINY, '--max-iters', '10', '--eval-interval', '5'];
  const straight = newDir();
  assert.equal(gpt([...run, '--work-dir', straight]).code, 0);
  const files = (dir: string) =>
    ['latest/model/model.safetensors', 'best/model/model.safetensors', 'log.csv'].map((f) =>
      f === 'log.csv'
        ? fs.readFileSync(path.join(dir, f), 'utf8').replace(/,[^,\n]*\n/g, '\n') // without the seconds
        : fs.readFileSync(path.join(dir, f)),
    );
  // a million batches at iteration 0 (about a minute): the signal lands in that evaluation
  const dir = newDir();
  const r = await interrupt('gpt', [...run, '--work-dir', dir, '--eval-iters', '1000000'], 'GPT:', 300, 'SIGINT');
  assert.equal(r.code, 130, r.out);
  assert.match(r.out, /\nstep 0: evaluation cut short by the signal\n/);
  assert.match(r.out, /no iterations \(at 0\), .*; best val loss none yet; checkpoints \(latest\/\)/);
  assert.equal(fs.readFileSync(path.join(dir, 'log.jsonl'), 'utf8'), '');
  const resumed = gpt([...run, '--work-dir', dir, '--resume', '--eval-iters', '2']);
  assert.equal(resumed.code, 0, resumed.err);
  assert.deepEqual(files(dir), files(straight));
  // the state a signal in the evaluation at iteration 5 leaves (latest/ at 5, no log row for it): a run
  // stopped at 5 whose row is dropped; --resume evaluates 5 before it trains on
  const cut = newDir();
  assert.equal(gpt([...run, '--work-dir', cut, '--max-iters', '5']).code, 0);
  const log = path.join(cut, 'log.jsonl');
  fs.writeFileSync(log, fs.readFileSync(log, 'utf8').split('\n').slice(0, 1).join('\n') + '\n');
  const csv = path.join(cut, 'log.csv');
  fs.writeFileSync(csv, fs.readFileSync(csv, 'utf8').split('\n').slice(0, 2).join('\n') + '\n');
  const on = gpt([...run, '--work-dir', cut, '--resume']);
  assert.equal(on.code, 0, on.err);
  assert.match(on.out, /iteration 5, [^\n]*\n[^]*\nstep 5: train loss [^\n]*\ntraining iterations 6…10\n/);
  assert.deepEqual(files(cut), files(straight));
  // sampling hears it too: 100,000 samples would take over an hour
  const t0 = Date.now();
  const sampling = ['sample', '--work-dir', straight, '--num-samples', '100000', '--max-new-tokens', '500'];
  const s = await interrupt('gpt', sampling, '---------------', 200, 'SIGINT');
  assert.equal(s.code, 130, s.out);
  assert.ok(Date.now() - t0 < 30_000, `sampling stopped ${Date.now() - t0} ms after it started`);
});

test('gpt: Ctrl-C stops after the iteration, saves latest/ and exits 130; --resume goes on from there', async () => {
  const dir = newDir();
  const r = await interrupt(
    'gpt',
    [...TINY, '--work-dir', dir, '--max-iters', '100000', '--eval-interval', '100000'],
    'training iterations',
    1500,
    'SIGINT',
  );
  assert.equal(r.code, 130, r.out);
  const stopped = /stopped at iteration (\d+)/.exec(r.out);
  assert.ok(stopped, r.out);
  const info = JSON.parse(fs.readFileSync(path.join(dir, 'latest/checkpoint.json'), 'utf8')) as { step: number };
  assert.equal(info.step, Number(stopped[1]));
  // no evaluation after iteration 0 ran, so there is no best/, and the last line does not promise one
  assert.equal(fs.existsSync(path.join(dir, 'best')), false);
  assert.match(r.out, /; checkpoints \(latest\/\) and logs in /);
  const more = gpt(['--work-dir', dir, '--resume', '--max-iters', String(info.step + 2)]);
  assert.equal(more.code, 0, more.err);
  assert.match(more.out, new RegExp(`iteration ${info.step}\\b`));
});
