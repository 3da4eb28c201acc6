/**
 * The work directory a training CLI owns (lib/train/run-dir.ts): blank paths refused, a file or an
 * unwritable place refused before any work, --overwrite clearing only what the marker proves ours,
 * and a lock that tells a live run from a dead one and from a reused PID.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import {
  acquireLock,
  checkPathValue,
  checkRunDir,
  checkWorkDir,
  claimRunDir,
  clearRun,
  LockError,
  markRun,
  MARKER,
  WorkDirError,
  type RunIntent,
} from '../../lib/train/run-dir';
import { liveLock } from '../helpers/cli';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-rundir-'));
const INTENT: RunIntent = {
  tool: 'makemore',
  flag: '--work-dir',
  entries: ['latest', 'best', 'log.csv'],
  older: ['model'],
  resume: false,
  overwrite: true,
};

test('empty, blank and NUL path values are refused naming the flag', () => {
  for (const v of ['', ' ', '\t\n', 'a\0b'])
    assert.throws(
      () => checkPathValue('--work-dir', v),
      (e: Error) => e instanceof WorkDirError && e.message.startsWith('--work-dir '),
    );
  assert.equal(checkPathValue('--out', 'out/x'), 'out/x');
});

test('checkWorkDir: a file, a path under a file and a read-only mount are refused before any work', () => {
  const dir = tmp();
  const file = path.join(dir, 'plain.txt');
  fs.writeFileSync(file, 'x');
  assert.throws(() => checkWorkDir('--out', file), /--out .*plain\.txt is a file, not a directory/);
  assert.throws(() => checkWorkDir('--out', path.join(file, 'sub')), /cannot be created: .*plain\.txt is a file/);
  assert.equal(checkWorkDir('--out', path.join(dir, 'new', 'deeper')), path.join(dir, 'new', 'deeper'));
  assert.equal(fs.existsSync(path.join(dir, 'new')), false, 'checking creates nothing');
  assert.deepEqual(fs.readdirSync(dir), ['plain.txt'], 'the probe is removed');
  const ro = path.join(dir, 'ro');
  fs.mkdirSync(ro);
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro]).status === 0) {
    try {
      assert.throws(() => checkWorkDir('--work-dir', ro), /--work-dir .*ro is not writable \(EROFS\)/);
      assert.throws(() => checkWorkDir('--work-dir', path.join(ro, 'x')), /cannot be created: .*ro is not writable/);
    } finally {
      spawnSync('umount', [ro]);
    }
  }
  fs.rmSync(dir, { recursive: true });
});

test('--overwrite removes only entries the marker lists as this tool’s, and otherwise names the others and touches nothing', () => {
  const dir = tmp();
  // the case: a user's model/ with notes, no marker
  fs.mkdirSync(path.join(dir, 'model'));
  fs.writeFileSync(path.join(dir, 'model', 'notes.txt'), 'keep');
  fs.writeFileSync(path.join(dir, 'log.csv'), 'mine');
  assert.throws(
    () => clearRun(dir, 'makemore', ['model', 'log.csv', 'latest']),
    (e: Error) => e.message.includes('model, log.csv') && e.message.includes(`has no ${MARKER}`),
  );
  assert.throws(() => checkRunDir(dir, INTENT), /model, log\.csv|log\.csv, model/);
  assert.equal(fs.readFileSync(path.join(dir, 'model', 'notes.txt'), 'utf8'), 'keep');
  // marked: log.csv is ours now, model/ (an older version's name) never is
  markRun(dir, 'makemore', INTENT.entries);
  assert.throws(
    () => checkRunDir(dir, INTENT),
    (e: Error) => /\bmodel\b/.test(e.message) && !/log\.csv/.test(e.message),
  );
  fs.rmSync(path.join(dir, 'model'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'latest'));
  assert.deepEqual(clearRun(dir, 'makemore', ['latest', 'best', 'log.csv', 'model']), ['latest', 'log.csv']);
  assert.deepEqual(fs.readdirSync(dir), [MARKER]);
  // another tool's marker proves nothing for this one
  fs.writeFileSync(path.join(dir, 'latest'), '');
  assert.throws(() => clearRun(dir, 'novel', ['latest']), /holds a makemore run/);
  // a marker that is not one (garbage, a FIFO) proves nothing either, and is not read past its size
  fs.writeFileSync(path.join(dir, MARKER), '{"sequentiaRun": 2}');
  assert.throws(() => clearRun(dir, 'makemore', ['latest']), /is not a Sequentia run marker/);
  fs.rmSync(path.join(dir, MARKER));
  spawnSync('mkfifo', [path.join(dir, MARKER)]);
  assert.throws(() => clearRun(dir, 'makemore', ['latest']), /is not a regular file/);
  assert.ok(fs.existsSync(path.join(dir, 'latest')));
  fs.rmSync(dir, { recursive: true });
});

test('checkRunDir: a fresh run without --overwrite is refused; --resume is not; claimRunDir marks and locks', () => {
  const dir = tmp();
  assert.doesNotThrow(() => checkRunDir(dir, { ...INTENT, overwrite: false }), 'an empty dir');
  fs.writeFileSync(path.join(dir, 'log.csv'), '');
  assert.throws(
    () => checkRunDir(dir, { ...INTENT, overwrite: false }),
    /holds log\.csv, names a run writes, but no run marked/,
  );
  markRun(dir, 'makemore', INTENT.entries);
  assert.throws(
    () => checkRunDir(dir, { ...INTENT, overwrite: false }),
    /already holds a run \(log\.csv\).*--work-dir/,
  );
  fs.rmSync(path.join(dir, MARKER));
  assert.doesNotThrow(() => checkRunDir(dir, { ...INTENT, resume: true }));
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'a name we never write is never looked at');
  fs.rmSync(path.join(dir, 'log.csv'));
  const { lock, removed } = claimRunDir(dir, INTENT);
  assert.deepEqual(removed, []);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, MARKER), 'utf8')), {
    sequentiaRun: 1,
    tool: 'makemore',
    entries: ['latest', 'best', 'log.csv'],
  });
  assert.equal(fs.readFileSync(path.join(dir, '.lock'), 'utf8').split('\n')[0], String(process.pid));
  lock.release();
  assert.equal(fs.existsSync(path.join(dir, '.lock')), false);
  assert.equal(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8'), 'a name we never write is never looked at');
  fs.rmSync(dir, { recursive: true });
});

/** A process that lives until killed. */
async function sleeper(): Promise<{ pid: number; stop: () => Promise<void> }> {
  const p = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
  await new Promise((r) => setTimeout(r, 50));
  return {
    pid: p.pid as number,
    stop: async () => {
      p.kill('SIGKILL');
      await new Promise((r) => p.once('exit', r));
    },
  };
}

test('the lock: a live run stops a second one (naming PID and how to clear it); a dead PID or a reused one is stale', async () => {
  const dir = tmp();
  const file = path.join(dir, '.lock');
  const s = await sleeper();
  try {
    // the run that holds it: its PID and start time match
    const held = liveLock(s.pid);
    fs.writeFileSync(file, held);
    assert.throws(
      () => acquireLock(dir),
      (e: Error) =>
        e instanceof LockError &&
        e.message.includes(`PID ${s.pid}`) &&
        e.message.includes(`kill ${s.pid}`) &&
        e.message.includes(`rm ${file}`),
    );
    assert.equal(fs.readFileSync(file, 'utf8'), held, "the other run's lock is untouched");
    // the same PID, started at another time: the PID was reused by an unrelated process
    fs.writeFileSync(file, `${s.pid}\n${os.hostname()}\n2026-01-01T00:00:00Z\nstart=1\ncommand=node makemore\n`);
    const reused = acquireLock(dir);
    assert.match(reused.stale ?? '', new RegExp(`PID ${s.pid} is now another process`));
    reused.release();
    // an older lock without a start time, whose PID runs something that is not a Sequentia CLI
    fs.writeFileSync(file, `${s.pid}\n`);
    const old = acquireLock(dir);
    assert.match(old.stale ?? '', /is now another process \(.*setTimeout/);
    old.release();
    // another host's lock cannot be checked from here: held
    fs.writeFileSync(file, `${s.pid}\nsome-other-host\n2026-01-01T00:00:00Z\n`);
    assert.throws(() => acquireLock(dir), /on host some-other-host/);
  } finally {
    await s.stop();
  }
  fs.writeFileSync(file, `${s.pid}\n${os.hostname()}\n`);
  const lock = acquireLock(dir);
  assert.equal(lock.stale, `PID ${s.pid} is not running`);
  const mine = fs.readFileSync(file, 'utf8').split('\n');
  assert.equal(mine[0], String(process.pid));
  assert.ok(
    mine.some((l) => /^start=\d+$/.test(l)),
    'the start time is recorded',
  );
  lock.release();
  assert.equal(fs.existsSync(file), false);
  // a lock that is a FIFO or huge is not read (a crafted one must not block): stale
  spawnSync('mkfifo', [file]);
  const again = acquireLock(dir);
  assert.equal(again.stale, 'it names no PID');
  again.release();
  fs.rmSync(dir, { recursive: true });
});
