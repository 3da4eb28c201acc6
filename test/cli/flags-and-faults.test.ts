/**
 * The makemore and novel CLIs as a user runs them (child processes, tiny models, a few steps): no lost
 * work (refusal, lock, atomic checkpoints, exact resume, Ctrl-C, SIGKILL) and bad input rejected before
 * any training.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { readCheckpoint, resolveCheckpoint, loadCheckpoint } from '../../lib/train/checkpoint';
import {
  interrupt,
  liveLock,
  makemore,
  newDir,
  NAMES,
  NOVEL_TINY,
  refusal,
  run,
  snapshot,
  TINY,
  TMP,
} from '../helpers/cli';
import { initTf, tf } from '../../lib/runtime/tf';
import { TABLE, validate } from '../../scripts/cli/makemore/args';

const bytes = (p: string) => fs.readFileSync(p);
/** log.jsonl rows without the wall-clock seconds. */
const logRows = (dir: string) =>
  fs
    .readFileSync(path.join(dir, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { seconds: _s, ...r } = JSON.parse(l) as Record<string, number>;
      return r;
    });
const stepOf = (dir: string) => readCheckpoint(path.join(dir, 'latest')).info.step;

test('makemore: a fresh run refuses a work dir that holds a run (nothing touched); --overwrite replaces it', () => {
  const dir = newDir();
  assert.equal(makemore([...TINY, '--work-dir', dir, '--max-steps', '5']).code, 0);
  const before = snapshot(dir);
  const r = makemore([...TINY, '--work-dir', dir, '--max-steps', '5']);
  assert.equal(r.code, 2);
  assert.ok(r.err.includes(dir) && r.err.includes('--resume') && r.err.includes('--overwrite'), r.err);
  assert.deepEqual(snapshot(dir), before);
  const o = makemore([...TINY, '--work-dir', dir, '--max-steps', '5', '--type', 'bigram', '--overwrite']);
  assert.equal(o.code, 0, o.err);
  assert.equal(readCheckpoint(path.join(dir, 'latest')).topology.type, 'bigram');
  assert.equal(logRows(dir).length, 1, 'the old log was replaced');
});

test('makemore: a live lock stops a second run (exit 2, lock and PID named); a stale one is recovered and removed at exit', async () => {
  const dir = newDir();
  assert.equal(makemore([...TINY, '--work-dir', dir, '--max-steps', '5']).code, 0);
  assert.equal(fs.existsSync(path.join(dir, '.lock')), false, 'lock removed after a normal run');
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  const lock = path.join(dir, '.lock');
  try {
    fs.writeFileSync(lock, liveLock(sleeper.pid as number));
    const before = snapshot(dir);
    const r = makemore(['--work-dir', dir, '--resume', '--max-steps', '10']);
    assert.equal(r.code, 2);
    assert.ok(r.err.includes(lock) && r.err.includes(`PID ${sleeper.pid}`), r.err);
    assert.deepEqual(snapshot(dir), before);
  } finally {
    sleeper.kill('SIGKILL');
    await new Promise((r) => sleeper.once('exit', r));
  }
  const r = makemore(['--work-dir', dir, '--resume', '--max-steps', '10']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`stale lock .*PID ${sleeper.pid} is not running`));
  assert.equal(stepOf(dir), 10);
  assert.equal(fs.existsSync(lock), false);
});

// the June 2022 transformer: dropout masks, clipping and minGPT's decay groups resume exactly too
const JUNE = [...TINY, '--type', 'transformer', '--n-layer', '1', '--n-head', '2', '--june-2022'];
for (const [workers, model, flags] of [
  ['1', 'mlp', TINY],
  ['2', 'mlp', TINY],
  ['1', 'transformer', JUNE],
  ['2', 'transformer', JUNE],
] as const) {
  test(`makemore: N steps straight == N/2 steps + --resume N/2 (weights, moments, generator, logged losses), ${model}, --workers ${workers}`, () => {
    const a = newDir();
    const b = newDir();
    const w = ['--workers', workers];
    const straight = makemore([...flags, ...w, '--work-dir', a, '--max-steps', '20']);
    assert.equal(straight.code, 0, straight.err);
    // dropout on one worker trains through the tfjs ops, and says so
    const notice = 'training through the tfjs ops, several times slower than the fused step: --dropout 0.1';
    assert.equal(straight.out.includes(notice), flags === JUNE && workers === '1', straight.out);
    assert.equal(makemore([...flags, ...w, '--work-dir', b, '--max-steps', '10']).code, 0);
    const r = makemore(['--work-dir', b, '--resume', '--max-steps', '20']); // every other flag from the checkpoint
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`loaded ${model} .*step 10`));
    for (const f of [
      'latest/model/model.safetensors',
      'latest/optimizer/optimizer.safetensors',
      'best/model/model.safetensors',
    ])
      assert.ok(bytes(path.join(a, f)).equals(bytes(path.join(b, f))), f);
    const ia = readCheckpoint(path.join(a, 'latest')).info;
    const ib = readCheckpoint(path.join(b, 'latest')).info;
    assert.equal(ib.step, 20);
    assert.deepEqual(ib.batchRng, ia.batchRng);
    assert.equal(ib.bestTestLoss, ia.bestTestLoss);
    assert.deepEqual(logRows(b), logRows(a));
    assert.deepEqual(
      logRows(a).map((x) => x.step),
      [5, 10, 15, 20],
    );
  });
}

test('makemore --lr-drop N: a tenth of the learning rate from step N + 1, the same as resuming at step N with it', () => {
  const a = newDir();
  const b = newDir();
  const tiny = [...TINY, '--learning-rate', '0.01', '--eval-every', '3'];
  assert.equal(makemore([...tiny, '--work-dir', a, '--max-steps', '6', '--lr-drop', '3']).code, 0);
  assert.equal(makemore([...tiny, '--work-dir', b, '--max-steps', '3']).code, 0);
  const r = makemore(['--work-dir', b, '--resume', '--max-steps', '6', '--learning-rate', '0.001']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /resuming with --learning-rate 0\.001 \(the run so far: 0\.01\)/);
  for (const f of ['latest/model/model.safetensors', 'latest/optimizer/optimizer.safetensors'])
    assert.ok(bytes(path.join(a, f)).equals(bytes(path.join(b, f))), f);
  const c = newDir();
  assert.equal(makemore([...tiny, '--work-dir', c, '--max-steps', '6', '--lr-drop', '4']).code, 0);
  assert.ok(
    !bytes(path.join(a, 'latest/model/model.safetensors')).equals(
      bytes(path.join(c, 'latest/model/model.safetensors')),
    ),
  );
});

test('makemore: Ctrl-C during --max-steps -1 saves the latest state (exit 130, lock gone); resuming from it is exact', async () => {
  const dir = newDir();
  const rare = [...TINY, '--eval-every', '100000']; // evaluations (and saves) at the end only, in both runs
  const r = await interrupt(
    'makemore',
    [...rare, '--work-dir', dir, '--max-steps', '-1'],
    'training steps',
    800,
    'SIGINT',
  );
  assert.equal(r.code, 130, r.out);
  assert.match(r.out, /stopped at step \d+: continue with --resume/);
  assert.equal(fs.existsSync(path.join(dir, '.lock')), false);
  const s = stepOf(dir);
  assert.ok(s > 0);
  // the saved state is exactly that of a run of s steps, and continuing it equals a run of s + 7 steps
  const straight = newDir();
  assert.equal(makemore([...rare, '--work-dir', straight, '--max-steps', String(s)]).code, 0);
  assert.ok(
    bytes(path.join(dir, 'latest/model/model.safetensors')).equals(
      bytes(path.join(straight, 'latest/model/model.safetensors')),
    ),
  );
  assert.equal(makemore(['--work-dir', dir, '--resume', '--max-steps', String(s + 7)]).code, 0);
  assert.equal(makemore(['--work-dir', straight, '--resume', '--max-steps', String(s + 7)]).code, 0);
  assert.ok(
    bytes(path.join(dir, 'latest/model/model.safetensors')).equals(
      bytes(path.join(straight, 'latest/model/model.safetensors')),
    ),
  );
  assert.ok(
    bytes(path.join(dir, 'latest/optimizer/optimizer.safetensors')).equals(
      bytes(path.join(straight, 'latest/optimizer/optimizer.safetensors')),
    ),
  );
});

test('makemore: SIGKILL while saving every step leaves the last complete checkpoint loadable and resumable', async () => {
  const dir = newDir();
  const r = await interrupt(
    'makemore',
    [...TINY, '--work-dir', dir, '--max-steps', '-1', '--eval-every', '1'],
    'step 3 ',
    500,
    'SIGKILL',
  );
  assert.equal(r.code, null);
  const from = resolveCheckpoint(path.join(dir, 'latest'));
  assert.ok(from);
  await initTf();
  const c = await loadCheckpoint(from);
  assert.ok(
    c.info.step >= 3 && c.optimizer?.step === c.info.step,
    `step ${c.info.step}, AdamW step ${c.optimizer?.step}`,
  );
  tf.dispose(Object.values(c.weights));
  const res = makemore(['--work-dir', dir, '--resume', '--max-steps', String(c.info.step + 2), '--eval-every', '1000']);
  assert.equal(res.code, 0, res.err);
  assert.match(res.out, /stale lock/);
  assert.equal(stepOf(dir), c.info.step + 2);
  assert.deepEqual(
    logRows(dir).map((x) => x.step),
    Array.from({ length: c.info.step }, (_, i) => i + 1).concat(c.info.step + 2),
    'log rows after the checkpoint were dropped, then continued',
  );
});

test('makemore --resume: flags that contradict the checkpoint are errors naming both values, before any work', () => {
  const dir = newDir();
  assert.equal(makemore([...TINY, '--work-dir', dir, '--max-steps', '5']).code, 0);
  const before = snapshot(dir);
  const t = makemore(['--work-dir', dir, '--resume', '--type', 'lstm', '--n-embd', '16']);
  assert.equal(t.code, 2);
  assert.ok(
    t.err.includes("--type lstm, but the checkpoint's is mlp") &&
      t.err.includes("--n-embd 16, but the checkpoint's is 8"),
    t.err,
  );
  const upper = path.join(TMP, 'upper.txt');
  fs.writeFileSync(upper, Array.from({ length: 30 }, (_, i) => `Name${'abcdefghij'[i % 10]}`).join('\n'));
  const v = makemore(['--work-dir', dir, '--resume', '--input', upper]);
  assert.equal(v.code, 2);
  assert.ok(
    v.err.includes(upper) &&
      v.err.includes('".Nabcdefghijm" (13 symbols)') &&
      v.err.includes('".abcdefghijklmnopqrstuvwxyz" (27 symbols)'),
    v.err,
  );
  const s = makemore(['--work-dir', dir, '--resume', '--seed', '1']);
  assert.equal(s.code, 2);
  assert.match(s.err, /--seed 1, but the checkpoint's is 3407/);
  const d = makemore(['--work-dir', dir, '--resume', '--june-2022']);
  assert.equal(d.code, 2);
  assert.ok(d.err.includes("--seed 1337 (from --june-2022), but the checkpoint's is 3407"), d.err);
  assert.deepEqual(snapshot(dir), before);
});

test('makemore: corrupt, truncated or mismatched checkpoint files are errors naming the file, before any training', () => {
  const dir = newDir();
  assert.equal(makemore([...TINY, '--work-dir', dir, '--max-steps', '5']).code, 0);
  const cases: [string, (d: string) => void, RegExp][] = [
    [
      'random bytes',
      (d) => {
        const f = path.join(d, 'latest/model/model.safetensors');
        const b = fs.readFileSync(f);
        b.fill(7, 8 + Number(b.readBigUInt64LE(0))); // the data, not the header
        fs.writeFileSync(f, b);
      },
      /latest\/model\/model.safetensors is corrupt: its SHA-256 does not match/,
    ],
    [
      'truncated',
      (d) => fs.truncateSync(path.join(d, 'latest/model/model.safetensors'), 10),
      /latest\/model\/model.safetensors: header length \d+ runs past the end of the file \(10 bytes\)/,
    ],
    [
      'config.json not JSON',
      (d) => fs.writeFileSync(path.join(d, 'latest/model/config.json'), 'not json'),
      /latest\/model\/config.json is not valid JSON/,
    ],
    [
      'shapes',
      (d) => {
        const f = path.join(d, 'latest/model/config.json');
        fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('"n_embd2": 16', '"n_embd2": 17'));
      },
      /latest\/model\/config\.json .* disagrees with the config in .*model\.safetensors's metadata/,
    ],
  ];
  for (const [name, edit, want] of cases) {
    const d = newDir();
    fs.cpSync(dir, d, { recursive: true });
    edit(d);
    const before = snapshot(d);
    const r = makemore(['--work-dir', d, '--resume', '--max-steps', '10']);
    assert.equal(r.code, 1, `${name}: ${r.err}`);
    assert.match(r.err, want, name);
    assert.ok(!r.out.includes('steps in'), `${name}: no training`);
    const after = snapshot(d);
    assert.deepEqual(after, before, `${name}: nothing written`);
  }
});

test('makemore: data and flag problems are clear errors before training (exit 1 files, 2 flags)', () => {
  const dir = newDir();
  const missing = path.join(TMP, 'nope.txt');
  const m = makemore(['--input', missing, '--work-dir', dir]);
  assert.equal(m.code, 1);
  assert.ok(m.err.includes(missing), m.err);
  const empty = path.join(TMP, 'empty.txt');
  fs.writeFileSync(empty, '\n \n');
  assert.match(makemore(['--input', empty, '--work-dir', dir]).err, /empty\.txt/);
  const few = path.join(TMP, 'few.txt');
  fs.writeFileSync(few, 'emma\nolivia\nava\nisabella\nsophia\ncharlotte\nmia\n');
  const f = makemore(['--input', few, '--work-dir', dir, '--type', 'bigram']);
  assert.equal(f.code, 1);
  assert.ok(f.err.includes(few) && f.err.includes('has 7 words') && f.err.includes('at least 10'), f.err);
  const w = makemore([...TINY, '--work-dir', dir, '--workers', '2', '--batch-size', '1']);
  assert.equal(w.code, 2);
  assert.match(w.err, /--workers 2 .* needs --batch-size ≥ 2, got 1/);
  // Each flag problem through the parser and check makemore runs before anything else; the CLI itself for
  // two of them (the message, where the flags are listed, exit 2, nothing created).
  for (const [bad, message] of [
    [['--max-steps', 'abc'], "--max-steps must be an integer ≥ 1 (or -1), got 'abc'"],
    [['--max-steps', '-2'], "--max-steps must be an integer ≥ 1 (or -1), got '-2'"],
    [['--bogus'], "Unknown option '--bogus'"],
    [['--max-step', '5'], "Unknown option '--max-step' (did you mean --max-steps?)"],
    [['--type', 'cnn'], "--type must be one of bigram, mlp, rnn, gru, lstm, bow, transformer or wavenet, got 'cnn'"],
    [['positional'], "Unexpected argument 'positional'"],
    [['--type', 'transformer', '--dropout', '1'], "--dropout must be in [0, 1), got '1'"],
    [['--type', 'transformer', '--dropout=-0.1'], "--dropout must be a number ≥ 0, got '-0.1'"],
    [['--type', 'transformer', '--init', 'xavier'], "--init must be torch or gpt, got 'xavier'"],
    [['--decay', 'biases'], "--decay must be all or linear, got 'biases'"],
    [['--grad-clip=-1'], "--grad-clip must be a number ≥ 0, got '-1'"],
    [['--dropout', '0.1'], "--dropout is the transformer's only (--type mlp)"],
    [['--june-2022'], "--dropout is the transformer's only (--type mlp) (set by --june-2022)"],
  ] as const) {
    const got = refusal(TABLE, validate, [...TINY, '--work-dir', dir, ...bad]);
    assert.ok(got?.includes(message), `${bad.join(' ')}: ${got}`);
  }
  const heads = path.join(TMP, 'heads.json');
  fs.writeFileSync(heads, JSON.stringify({ 'n-head': 3 }));
  const help = '(npm run makemore -- --help lists the flags)\n';
  for (const [bad, message] of [
    [['--bogus'], `makemore: Unknown option '--bogus'\n${help}`],
    [['--dropout', '0.1'], `makemore: --dropout is the transformer's only (--type mlp)\n${help}`],
    // a check across two settings names the file that set one of them
    [
      ['--type', 'transformer', '--config', heads],
      `makemore: the transformer needs --n-embd 8 divisible by --n-head 3 (from ${heads})\n`,
    ],
  ] as const) {
    const r = makemore([...TINY, '--work-dir', dir, ...bad]);
    assert.equal(r.code, 2, bad.join(' '));
    assert.equal(r.err, message, bad.join(' '));
  }
  assert.equal(fs.existsSync(dir), false, 'nothing was created');
  // a word longer than the checkpoint's model takes
  assert.equal(makemore([...TINY, '--work-dir', dir, '--max-steps', '5']).code, 0);
  const long = path.join(TMP, 'long.txt');
  fs.writeFileSync(long, fs.readFileSync(NAMES, 'utf8') + 'abcdefghijklmnopqrstuvwxyz\n');
  const l = makemore(['--work-dir', dir, '--resume', '--input', long, '--max-steps', '10']);
  assert.equal(l.code, 1);
  assert.match(l.err, /'abcdefghijklmnopqrstuvwxyz' \(word 301\) has 26 characters, but the model .* takes at most 10/);
  const h = makemore(['--help']);
  assert.equal(h.code, 0);
  assert.match(h.out, /exit codes: 0 done · 1 [\s\S]* · 2 bad/);
});

test('novel: --help, strict flags and the seed text checked before any work', () => {
  const h = run('novel', ['--help']);
  assert.equal(h.code, 0);
  assert.match(h.out, /usage: npm run novel/);
  const dir = newDir();
  for (const bad of [['--max-steps', '0'], ['--scale', 'x'], ['--bogus'], ['--seed-text', '']]) {
    const r = run('novel', ['--work-dir', dir, ...bad]);
    assert.equal(r.code, 2, bad.join(' '));
    assert.match(r.err, /\n\(npm run novel -- --help lists the flags\)\n$/);
  }
  const s = run('novel', ['--work-dir', dir, '--seed-text', 'The ☃']);
  assert.equal(s.code, 2);
  assert.match(s.err, /character "☃" \(U\+2603\) at position 5 does not occur in the book/);
  assert.equal(fs.existsSync(dir), false, 'nothing created, nothing trained');
});

test('novel: --resume is exact; a second fresh run is refused; Ctrl-C saves the latest state and still prints the sample', async () => {
  const a = newDir();
  const b = newDir();
  assert.equal(run('novel', [...NOVEL_TINY, '--work-dir', a, '--max-steps', '20']).code, 0);
  assert.equal(run('novel', [...NOVEL_TINY, '--work-dir', b, '--max-steps', '10']).code, 0);
  const r = run('novel', ['--work-dir', b, '--resume', '--max-steps', '20']);
  assert.equal(r.code, 0, r.err);
  for (const f of ['latest/model/model.safetensors', 'latest/optimizer/optimizer.safetensors'])
    assert.ok(bytes(path.join(a, f)).equals(bytes(path.join(b, f))), f);
  const rows = (d: string) =>
    fs
      .readFileSync(path.join(d, 'loss.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => {
        const x = JSON.parse(l) as { iteration: number; loss: number };
        return [x.iteration, x.loss];
      });
  assert.deepEqual(rows(b), rows(a));
  const before = snapshot(a);
  const refused = run('novel', [...NOVEL_TINY, '--work-dir', a]);
  assert.equal(refused.code, 2);
  assert.ok(refused.err.includes(a) && refused.err.includes('--resume') && refused.err.includes('--overwrite'));
  assert.deepEqual(snapshot(a), before);
  const c = run('novel', ['--work-dir', a, '--resume', '--n-hidden', '32']);
  assert.equal(c.code, 2);
  assert.match(c.err, /--n-hidden 32, but the checkpoint's is 16/);

  const dir = newDir();
  const i = await interrupt(
    'novel',
    [...NOVEL_TINY, '--work-dir', dir, '--max-steps', '100000', '--eval-every', '100000'],
    'parameters',
    800,
    'SIGINT',
  );
  assert.equal(i.code, 130, i.out);
  assert.match(i.out, /\nThe island/, 'the sample was printed');
  assert.equal(fs.existsSync(path.join(dir, '.lock')), false);
  const s = stepOf(dir);
  assert.ok(s > 0);
  const straight = newDir();
  assert.equal(
    run('novel', [...NOVEL_TINY, '--work-dir', straight, '--max-steps', String(s), '--eval-every', '100000']).code,
    0,
  );
  assert.ok(
    bytes(path.join(dir, 'latest/model/model.safetensors')).equals(
      bytes(path.join(straight, 'latest/model/model.safetensors')),
    ),
    'the state saved at Ctrl-C is that of a run of that many iterations',
  );
});
