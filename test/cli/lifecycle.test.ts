/**
 * The run lifecycle both CLIs share, as a user meets it: blank paths, a work dir holding someone
 * else's files, a closed terminal, SIGTERM, a full disk — nothing already saved is lost, and every
 * refusal names the flag or file before any work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { readCheckpoint, loadCheckpoint } from '../../lib/train/checkpoint';
import { initTf } from '../../lib/runtime/tf';
import { failureText } from '../../scripts/cli/exit';
import { interrupt, makemore, NAMES, newDir, NOVEL_TINY, ROOT, run, snapshot, TINY } from '../helpers/cli';
import { TSX } from '../../scripts/node-tsx';

const CLI = (script: string) => path.join(ROOT, 'scripts', 'cli', `${script}.ts`);

test("makemore/novel: a blank path flag is refused (exit 2, the flag named); --overwrite never removes a user's files", () => {
  // the case: `--work-dir ""` run from a folder holding the user's model/notes.txt
  const home = newDir();
  fs.mkdirSync(path.join(home, 'model'), { recursive: true });
  fs.writeFileSync(path.join(home, 'model', 'notes.txt'), 'keep');
  fs.writeFileSync(path.join(home, 'log.csv'), 'my numbers');
  const before = snapshot(home);
  const inHome = (script: string, args: string[]) =>
    spawnSync(process.execPath, [...TSX, CLI(script), ...args], {
      cwd: home,
      encoding: 'utf8',
      timeout: 120_000,
    });
  for (const [script, args, flag] of [
    ['makemore', [...TINY, '--type', 'bigram', '--work-dir', '', '--overwrite', '--max-steps', '5'], '--work-dir'],
    ['makemore', [...TINY, '--work-dir=   ', '--overwrite', '--max-steps', '5'], '--work-dir'],
    ['makemore', ['--input', '', '--work-dir', 'x'], '--input'],
    ['makemore', ['--input-file=', '--work-dir', 'x'], '--input-file'],
    ['novel', ['--work-dir=', '--overwrite', ...NOVEL_TINY], '--work-dir'],
    ['novel', ['--work-dir', ' ', '--overwrite', ...NOVEL_TINY], '--work-dir'],
  ] as const) {
    const r = inHome(script, [...args]);
    assert.equal(r.status, 2, `${script} ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`${flag} is empty`), r.stderr);
  }
  // the same folder named explicitly: --overwrite refuses, naming what is not ours
  for (const [script, args] of [
    ['makemore', [...TINY, '--work-dir', '.', '--overwrite', '--max-steps', '5']],
    ['novel', [...NOVEL_TINY, '--work-dir', '.', '--overwrite', '--max-steps', '5']],
  ] as const) {
    const r = inHome(script, [...args]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--overwrite removes only what a (makemore|novel) run wrote/);
    assert.match(r.stderr, /\bmodel\b/);
  }
  assert.deepEqual(snapshot(home), before, 'nothing of the user’s was touched');
  assert.equal(fs.existsSync(path.join(home, '.lock')), false);
});

test('makemore: --overwrite replaces its own run but not a file added under a name it never wrote; novel likewise', () => {
  const dir = newDir();
  assert.equal(makemore([...TINY, '--work-dir', dir, '--max-steps', '5']).code, 0);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, '.sequentia-run.json'), 'utf8')).tool, 'makemore');
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
  const o = makemore([...TINY, '--work-dir', dir, '--max-steps', '5', '--overwrite']);
  assert.equal(o.code, 0, o.err);
  assert.match(o.out, /--overwrite: removed latest, best, log\.jsonl, log\.csv, loss\.html, plotly\.min\.js/);
  assert.equal(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8'), 'mine');
  // a novel run must not --overwrite a makemore run's directory
  const n = run('novel', [...NOVEL_TINY, '--work-dir', dir, '--overwrite', '--max-steps', '5']);
  assert.equal(n.code, 2, n.err);
  assert.match(n.err, /holds a makemore run/);
  assert.equal(readCheckpoint(path.join(dir, 'latest')).info.step, 5);
});

test('makemore/novel: a work dir that is a file, or lies under one, is a usage error before any work', () => {
  const dir = newDir();
  fs.mkdirSync(dir);
  const file = path.join(dir, 'f');
  fs.writeFileSync(file, 'x');
  for (const [script, args, flag] of [
    ['makemore', [...TINY, '--work-dir', file], '--work-dir'],
    ['makemore', [...TINY, '--work-dir', path.join(file, 'sub')], '--work-dir'],
    ['novel', [...NOVEL_TINY, '--work-dir', file], '--work-dir'],
  ] as const) {
    const r = run(script, [...args]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, new RegExp(`${flag} .*(is a file, not a directory|is a file)`));
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
    assert.doesNotMatch(r.out, /training steps|LSTM E/, 'no work started');
  }
  assert.equal(fs.readFileSync(file, 'utf8'), 'x');
});

for (const [signal, code] of [
  ['SIGHUP', 129],
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const) {
  test(`makemore: ${signal} during training saves latest/ at the step it stopped, frees the lock, exits ${code}`, async () => {
    const dir = newDir();
    const r = await interrupt(
      'makemore',
      [...TINY, '--work-dir', dir, '--max-steps', '-1', '--eval-every', '1000000'],
      'training steps',
      1500,
      signal,
    );
    assert.equal(r.code, code, r.out);
    const stopped = Number(/stopped at step (\d+)/.exec(r.out)?.[1]);
    assert.ok(stopped > 0, r.out);
    assert.equal(readCheckpoint(path.join(dir, 'latest')).info.step, stopped);
    assert.equal(fs.existsSync(path.join(dir, '.lock')), false);
  });
}

test('novel: SIGHUP saves latest/ and exits 129', async () => {
  const dir = newDir();
  const r = await interrupt(
    'novel',
    [...NOVEL_TINY, '--work-dir', dir, '--max-steps', '100000'],
    'LSTM E',
    1500,
    'SIGHUP',
  );
  assert.equal(r.code, 129, r.out);
  assert.ok(readCheckpoint(path.join(dir, 'latest')).info.step > 0);
  assert.equal(fs.existsSync(path.join(dir, '.lock')), false);
});

/** A tmpfs of `kb` KiB (root only): the full disk of the tests below. Null where it cannot be mounted. */
function smallDisk(kb: number): { dir: string; done: () => void } | null {
  const dir = newDir();
  fs.mkdirSync(dir);
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${kb}k`, 'tmpfs', dir]).status !== 0) return null;
  return { dir, done: () => void spawnSync('umount', [dir]) };
}

test('makemore on a full disk: the failed save names the slot and the step, and the last checkpoint stays loadable', async (t) => {
  const disk = smallDisk(600);
  if (!disk) return t.skip('needs root to mount a small tmpfs');
  try {
    const work = path.join(disk.dir, 'run');
    // ~360 KB a latest/ (weights and AdamW moments): the second save's temporary copy does not fit
    const r = makemore([...TINY, '--n-embd2', '200', '--work-dir', work, '--max-steps', '-1']);
    assert.equal(r.code, 1, r.err);
    const m = /step (\d+): could not (save|write) (\S+?):? .*ENOSPC/.exec(r.err);
    assert.ok(m, r.err);
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
    const latest = readCheckpoint(path.join(work, 'latest'));
    assert.ok(latest.info.step > 0 && latest.info.step < Number(m[1]), `${latest.info.step} < ${m[1]}`);
    await initTf();
    const c = await loadCheckpoint(path.join(work, 'latest'));
    assert.ok(Object.keys(c.weights).length > 0);
    for (const w of Object.values(c.weights)) w.dispose();
    assert.equal(fs.existsSync(path.join(work, '.lock')), false);
  } finally {
    disk.done();
  }
});

test('makemore: a loss chart that does not fit on the disk is a warning; the run and its checkpoints are kept (exit 0)', async (t) => {
  const disk = smallDisk(2048); // the checkpoints fit; plotly.min.js (4.6 MB) does not
  if (!disk) return t.skip('needs root to mount a small tmpfs');
  try {
    const work = path.join(disk.dir, 'run');
    const r = makemore([...TINY, '--work-dir', work, '--max-steps', '5']);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.err,
      /warning: the loss chart \(loss\.html\) could not be written: .*ENOSPC.*checkpoints and logs are saved/,
    );
    assert.equal(readCheckpoint(path.join(work, 'latest')).info.step, 5);
  } finally {
    disk.done();
  }
});

test('figures and writeup: a blank --from or --out is a usage error naming the flag (exit 2)', () => {
  for (const [script, args, flag] of [
    ['figures', ['--from', ''], '--from'],
    ['figures', ['--out=  '], '--out'],
    ['writeup', ['--from='], '--from'],
    ['writeup', ['--out', ' '], '--out'],
  ] as const) {
    const r = spawnSync(process.execPath, [...TSX, CLI(script), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 2, `${script} ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`${flag} is empty`));
  }
});

test('makemore: a work dir on a read-only disk is refused before any work (exit 2, EROFS named)', (t) => {
  const dir = newDir();
  fs.mkdirSync(dir);
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', dir]).status !== 0)
    return t.skip('needs root to mount a read-only tmpfs');
  try {
    for (const work of [dir, path.join(dir, 'new')]) {
      const r = makemore([...TINY, '--work-dir', work, '--max-steps', '5']);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /--work-dir .* (is not writable \(EROFS\)|cannot be created: .* is not writable)/);
      assert.doesNotMatch(r.out, /training steps/);
    }
  } finally {
    spawnSync('umount', [dir]);
  }
});

test('makemore: a closed stdout (| head) does not end the run before it saves: it trains to the end (exit 0)', async () => {
  const dir = newDir();
  const p = spawn(process.execPath, [...TSX, CLI('makemore'), ...TINY, '--work-dir', dir, '--max-steps', '300'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  p.stderr.resume();
  // read the first line, then close our end, as `head -1` does
  await new Promise<void>((resolve) => p.stdout.once('data', () => resolve()));
  p.stdout.destroy();
  const code = await new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
  assert.equal(code, 0);
  assert.equal(readCheckpoint(path.join(dir, 'latest')).info.step, 300);
});

test('makemore: inputs that never end, never arrive, are binary or absurd are refused in seconds naming file, line or flag', () => {
  const dir = newDir();
  fs.mkdirSync(dir);
  const fifo = path.join(dir, 'names.fifo');
  spawnSync('mkfifo', [fifo]);
  const long = path.join(dir, 'long.txt');
  fs.writeFileSync(long, 'emma\nolivia\n' + 'x'.repeat(300) + '\n' + 'ava\n'.repeat(20));
  const work = path.join(dir, 'work');
  for (const [args, code, want] of [
    [['--input', '/dev/zero'], 1, /\/dev\/zero is a character device, not a regular file/],
    [['--input', fifo], 1, /names\.fifo is a named pipe \(FIFO\), not a regular file/],
    [['--input', '/bin/ls'], 1, /\/bin\/ls is not UTF-8 text: invalid byte 0x[0-9a-f]{2} at byte offset \d+/],
    [['--input', long], 1, /long\.txt:3: a word of 300 characters .*--max-word-length/],
    [
      ['--type', 'transformer', '--n-embd', '100000000'],
      2,
      /--n-embd must be an integer from 1 to 65,536, got '100000000'/,
    ],
    [
      ['--type', 'mlp', '--n-embd', '60000', '--n-embd2', '60000'],
      2,
      /has 39,603,360,027 parameters, more than the 100,000,000/,
    ],
  ] as const) {
    const t0 = Date.now();
    const r = makemore([...TINY, '--work-dir', work, '--max-steps', '1', ...args]);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, want);
    assert.ok(Date.now() - t0 < 20_000, `${args.join(' ')} took ${Date.now() - t0} ms`);
  }
  assert.equal(fs.existsSync(work), false, 'nothing was created');
  // the limit is a flag: raised, the same file trains
  const ok = makemore([
    ...TINY,
    '--type',
    'bigram',
    '--work-dir',
    work,
    '--max-steps',
    '1',
    '--input',
    long,
    '--max-word-length',
    '400',
  ]);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /block size 301/);
});

test('makemore --resume: a damaged log.jsonl line is an error naming file and line; a line torn by a kill is dropped', () => {
  const dir = newDir();
  assert.equal(makemore([...TINY, '--work-dir', dir, '--max-steps', '10']).code, 0);
  const log = path.join(dir, 'log.jsonl');
  const good = fs.readFileSync(log, 'utf8');
  fs.writeFileSync(log, good + '{"step": 15, "train_lo'); // a write cut short by SIGKILL
  const r = makemore(['--work-dir', dir, '--resume', '--max-steps', '15']);
  assert.equal(r.code, 0, r.err);
  assert.equal(fs.readFileSync(log, 'utf8').trim().split('\n').length, 3);
  const lines = fs.readFileSync(log, 'utf8').split('\n');
  lines[1] = '{"step": oops}';
  fs.writeFileSync(log, lines.join('\n'));
  const bad = makemore(['--work-dir', dir, '--resume', '--max-steps', '20']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /log\.jsonl:2 is not valid JSON/);
});

test("a wasm abort (the tfjs backend's out-of-memory, which says nothing) is said as memory and what to lower", () => {
  // `npm run gpt` at its defaults (the lecture's GPT, batch 64 × block 256, through the tfjs ops) aborted so
  // at its first training step: "gpt: Aborted(). Build with -sASSERTIONS for more info."
  const text = failureText('gpt', new Error('Aborted(). Build with -sASSERTIONS for more info.'));
  assert.match(text, /^gpt: the wasm backend aborted \(Aborted\(\)\), most likely out of memory: .* 4 GB/);
  assert.match(text, /A smaller --batch-size or --block-size \(or model\) fits; the last checkpoint saved is kept\.$/);
  assert.equal(failureText('makemore', new Error('disk full')), 'makemore: disk full');
});

test('makemore/novel: sizes and counts beyond what memory or a double can hold are usage errors before any work', () => {
  const work = path.join(newDir(), 'w');
  for (const [script, args, want] of [
    ['makemore', ['--batch-size', '1000000000'], /--batch-size must be an integer from 1 to 65,536, got '1000000000'/],
    ['makemore', ['--seed', '1e20'], /--seed must be an integer ≥ 0 \(at most 2\^53 - 1\), got '1e20'/],
    ['makemore', ['--eval-every', '1e300'], /--eval-every must be an integer ≥ 1 \(at most 2\^53 - 1\)/],
    ['makemore', ['--max-steps', '1e400'], /--max-steps must be an integer ≥ 1 \(or -1\), got '1e400'/],
    ['novel', ['--batch-size', '1e9'], /--batch-size must be an integer from 1 to 65,536, got '1e9'/],
    ['novel', ['--n-hidden', '60000'], /an LSTM with --n-embd 64 --n-hidden 60000 has 14,420,465,200 parameters/],
  ] as const) {
    const r = run(script, ['--work-dir', work, ...args]);
    assert.equal(r.code, 2, `${script} ${args.join(' ')}: ${r.err}`);
    assert.match(r.err, want);
  }
  assert.equal(fs.existsSync(work), false, 'nothing was created');
});

test('makemore --sample-only: any --num-samples in flat memory, Ctrl-C heard at once; temperature 0 and 1e-40 are greedy', async () => {
  const dir = newDir();
  const tiny = ['--type', 'transformer', '--n-layer', '1', '--n-embd', '16', '--n-head', '2', '--num-samples', '0'];
  assert.equal(makemore(['--input', NAMES, ...tiny, '--work-dir', dir, '--max-steps', '20']).code, 0);
  const peak = (n: number) => {
    const r = spawnSync(
      '/usr/bin/time',
      [
        '-f',
        'maxrss %M',
        process.execPath,
        ...TSX,
        CLI('makemore'),
        '--work-dir',
        dir,
        '--sample-only',
        '--num-samples',
        String(n),
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
    );
    assert.equal(r.status, 0, r.stderr);
    const tally = /(\d+) in train, (\d+) in test, (\d+) new/.exec(r.stdout);
    assert.ok(tally, r.stdout.slice(-300));
    assert.equal(Number(tally[1]) + Number(tally[2]) + Number(tally[3]), n);
    return Number(/maxrss (\d+)/.exec(r.stderr)?.[1]) / 1024;
  };
  const small = peak(2_000);
  const large = peak(20_000);
  assert.ok(large < small + 60, `20,000 samples peaked at ${large.toFixed(0)} MB, 2,000 at ${small.toFixed(0)} MB`);
  // ten million samples take hours: Ctrl-C ends them between two batches of 1,000
  const t0 = Date.now();
  const many = ['--work-dir', dir, '--sample-only', '--num-samples', '10000000'];
  const stopped = await interrupt('makemore', many, '(new)', 200, 'SIGINT');
  assert.equal(stopped.code, 130, stopped.out.slice(-300));
  assert.ok(Date.now() - t0 < 30_000, `sampling stopped ${Date.now() - t0} ms after it started`);
  const words = (t: string) => {
    const r = makemore(['--work-dir', dir, '--sample-only', '--num-samples', '4', '--temperature', t]);
    assert.equal(r.code, 0, r.err);
    return r.out.split('\n').filter((l) => l.startsWith('  '));
  };
  const greedy = words('0');
  assert.equal(new Set(greedy).size, 1, 'greedy decoding draws the same word every time');
  assert.deepEqual(words('1e-40'), greedy);
  const bad = makemore(['--work-dir', dir, '--sample-only', '--temperature', '-1']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--temperature must be ≥ 0 \(0: greedy\), got '-1'/);
});

test('every command answers --help (exit 0, its flags) and refuses an unknown flag naming it (exit 2)', () => {
  for (const [script, flag] of [
    ['scripts/cli/makemore.ts', '--max-word-length'],
    ['scripts/cli/novel.ts', '--eval-every'],
    ['scripts/cli/figures.ts', '--from'],
    ['scripts/cli/writeup.ts', '--hide-code'],
    ['scripts/cli/benchmark.ts', '--no-torch'],
    ['scripts/cli/soak.ts', '--workers'],
    ['scripts/notebooks/run.ts', '--quick'],
  ] as const) {
    const cmd = (arg: string) =>
      spawnSync(process.execPath, [...TSX, path.join(ROOT, script), arg], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 60_000,
      });
    const help = cmd('--help');
    assert.equal(help.status, 0, `${script} --help: ${help.stderr}`);
    assert.ok(help.stdout.includes(flag), `${script} --help lists ${flag}`);
    const bogus = cmd('--bogus');
    assert.equal(bogus.status, 2, `${script} --bogus`);
    assert.match(bogus.stderr, /--bogus/);
  }
});

test("--overwrite never removes a learner's file saved inside latest/ or best/ (makemore, novel)", () => {
  const dir = newDir();
  assert.equal(makemore([...TINY, '--work-dir', dir, '--max-steps', '5']).code, 0);
  fs.writeFileSync(path.join(dir, 'latest', 'notes.txt'), 'mine');
  fs.mkdirSync(path.join(dir, 'best', 'model', 'extra'));
  const before = snapshot(dir);
  const r = makemore([...TINY, '--work-dir', dir, '--max-steps', '5', '--overwrite']);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /latest\/notes\.txt, best\/model\/extra\/ .*makemore does not write them/);
  assert.deepEqual(snapshot(dir), before, 'nothing removed');
  const out = newDir();
  assert.equal(run('novel', [...NOVEL_TINY, '--work-dir', out, '--max-steps', '5']).code, 0);
  fs.writeFileSync(path.join(out, 'latest', 'model', 'my-notes.md'), 'mine');
  const n = run('novel', [...NOVEL_TINY, '--work-dir', out, '--max-steps', '5', '--overwrite']);
  assert.equal(n.code, 2, n.err);
  assert.match(n.err, /latest\/model\/my-notes\.md/);
  assert.equal(fs.readFileSync(path.join(out, 'latest', 'model', 'my-notes.md'), 'utf8'), 'mine');
});

test('a work dir that is a dangling symlink, a .lock that is a directory, a hex number: usage errors naming them', () => {
  const dir = newDir();
  fs.mkdirSync(dir);
  const link = path.join(dir, 'link');
  fs.symlinkSync(path.join(dir, 'nowhere'), link);
  const l = makemore([...TINY, '--work-dir', link, '--max-steps', '1']);
  assert.equal(l.code, 2, l.err);
  assert.match(l.err, /link is a symbolic link to .*nowhere, which does not exist/);
  const work = newDir();
  assert.equal(makemore([...TINY, '--work-dir', work, '--max-steps', '5']).code, 0);
  fs.mkdirSync(path.join(work, '.lock'));
  const d = makemore(['--work-dir', work, '--resume', '--max-steps', '10']);
  assert.equal(d.code, 2, d.err);
  assert.match(d.err, /\.lock is a directory, not a lock this tool wrote: remove it/);
  const h = makemore([...TINY, '--work-dir', newDir(), '--learning-rate', '0x10']);
  assert.equal(h.code, 2);
  assert.match(h.err, /--learning-rate must be a number ≥ 0, got '0x10'/);
});

test('a folder holding files named as a run writes them, but unmarked, is not offered --overwrite', () => {
  const dir = newDir();
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'log.csv'), 'mine');
  const r = makemore([...TINY, '--work-dir', dir, '--max-steps', '1']);
  assert.equal(r.code, 2);
  assert.match(r.err, /holds log\.csv, names a run writes, but no run marked the folder as its own/);
  assert.doesNotMatch(r.err, /--overwrite/);
});
