/**
 * lib/data/files, corpus, sequences and read-checked against hostile inputs: every one is an error
 * naming the file (and line or byte offset) within a second, never a blocked read or gigabytes read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadWords, readText } from '../../lib/data/files';
import { loadCorpus } from '../../lib/data/corpus';
import { buildSequences } from '../../lib/data/sequences';
import { Vocab } from '../../lib/data/vocab';
import { firstInvalidUtf8, readJsonLines, resolveInside } from '../../lib/data/read-checked';
import { readLossLog } from '../../lib/train/curves';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sequentia-hostile-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string | Buffer) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
};
/** Runs `f`, which must throw within `ms`; returns the message. */
function refused(f: () => unknown, ms = 2000): string {
  const t0 = Date.now();
  let message = '';
  assert.throws(f, (e: Error) => ((message = e.message), true));
  assert.ok(Date.now() - t0 < ms, `took ${Date.now() - t0} ms`);
  return message;
}
const mkfifo = (name: string) => {
  const p = path.join(dir, name);
  assert.equal(spawnSync('mkfifo', [p]).status, 0);
  return p;
};

test('/dev/zero as input is refused as a character device, without reading it', () => {
  const m = refused(() => loadWords('/dev/zero'));
  assert.match(m, /\/dev\/zero is a character device, not a regular file/);
});

test('a named pipe as input is refused at once (no writer: opening it must not block)', () => {
  const fifo = mkfifo('names.fifo');
  assert.match(refused(() => loadWords(fifo)), /names\.fifo is a named pipe \(FIFO\), not a regular file/);
  assert.match(refused(() => loadCorpus(fifo)), /names\.fifo is a named pipe/);
});

test('a symlink to /dev/zero as input is refused, naming the link', () => {
  const link = path.join(dir, 'zero-link.txt');
  fs.symlinkSync('/dev/zero', link);
  assert.match(refused(() => readText(link)), /zero-link\.txt is a character device/);
});

test('a file larger than the limit is refused naming the file, its size and the limit', () => {
  const p = file('big.txt', 'anna\n'.repeat(40));
  const m = refused(() => loadWords(p, { maxBytes: 100 }));
  assert.match(m, /big\.txt is 200 bytes \(200 bytes\), more than the limit of 100 bytes/);
  assert.equal(loadWords(p, { maxBytes: 200 }).length, 40);
  assert.match(refused(() => loadCorpus(p, { maxBytes: 10 })), /big\.txt is 200 bytes .* limit of 10 bytes/);
});

test('/bin/ls as input: not UTF-8, naming the file and the byte offset', () => {
  const m = refused(() => loadWords('/bin/ls'));
  assert.match(m, /\/bin\/ls is not UTF-8 text: invalid byte 0x[0-9a-f]{2} at byte offset \d+ \(line \d+\); is it a binary file\?/);
});

test('Latin-1 text is refused at its first invalid byte, with the line', () => {
  const p = file('latin1.txt', Buffer.concat([Buffer.from('anna\nbob\nzo'), Buffer.from([0xeb]), Buffer.from('\n')]));
  assert.match(refused(() => loadWords(p)), /latin1\.txt is not UTF-8 text: invalid byte 0xeb at byte offset 11 \(line 3\)/);
});

test('a NUL byte (valid UTF-8, but binary) is refused naming the offset', () => {
  const p = file('nul.txt', 'anna\nb\u0000b\n');
  assert.match(refused(() => loadWords(p)), /nul\.txt is not text: a NUL byte at byte offset 6 \(line 2\)/);
});

test('a 10,000-character line is refused naming file:line and the length; maxWordLength raises the limit', () => {
  const p = file('long.txt', `anna\nbob\n${'x'.repeat(10_000)}\ncarl\n`);
  const m = refused(() => loadWords(p));
  assert.match(m, /long\.txt:3: a word of 10000 characters .* longer than the limit of 256 \(--max-word-length raises it\)/);
  assert.equal(loadWords(p, { maxWordLength: 10_000 }).length, 4);
  // characters are code points: 256 emoji are 512 UTF-16 units but 256 characters
  assert.equal(loadWords(file('emoji.txt', '😀'.repeat(256)))[0]?.length, 512);
});

test('a directory and an empty file keep their messages; a BOM and CRLF are accepted', () => {
  assert.match(refused(() => loadWords(dir)), /data file is a directory/);
  assert.match(refused(() => loadWords(file('zero.txt', ''))), /data file is empty/);
  assert.deepEqual(loadWords(file('bom.txt', '\ufeffanna\r\nbob\r\n')), ['anna', 'bob']);
});

test('a huge block size is a clear error, not "Invalid typed array length"', () => {
  const v = Vocab.fromWords(['ab']);
  const words = Array.from({ length: 1000 }, () => 'ab');
  assert.match(refused(() => buildSequences(words, v, 1_000_000)), /1000 words × block size 1000000 = 1000000000 positions/);
  assert.match(refused(() => buildSequences(words, v, 0)), /block size must be a whole number ≥ 1, got 0/);
});

test('log.jsonl: a bad line is named file:line with the JSON error; CRLF and a BOM are accepted', () => {
  const p = file('log.jsonl', '\ufeff{"step":1,"train_loss":2,"test_loss":3}\r\n\r\n{"step":2,"train_loss":2,"test_loss":3}\r\n');
  assert.deepEqual(
    readJsonLines(p).map((l) => [l.line, l.text]),
    [
      [1, '{"step":1,"train_loss":2,"test_loss":3}'],
      [3, '{"step":2,"train_loss":2,"test_loss":3}'],
    ],
  );
  assert.equal(readLossLog(p).length, 2);
  const bad = file('bad.jsonl', '{"step":1,"train_loss":2,"test_loss":3}\n{"step":2}\n{"step":3,"tra\n');
  assert.match(refused(() => readJsonLines(bad)), /bad\.jsonl:3 is not valid JSON \(.+\)/);
  assert.match(refused(() => readLossLog(bad)), /bad\.jsonl:3 is not valid JSON/);
  assert.match(refused(() => readJsonLines(mkfifo('log.fifo'))), /log\.fifo is a named pipe/);
  // a last line cut short by a kill: an error naming it, or left out with dropTornTail
  const torn = file('torn.jsonl', '{"step":1}\n{"step":2}\n{"st');
  assert.match(refused(() => readJsonLines(torn)), /torn\.jsonl:3 is not valid JSON/);
  assert.deepEqual(
    readJsonLines(torn, { dropTornTail: true }).map((l) => l.value),
    [{ step: 1 }, { step: 2 }],
  );
  // only the very last line may be torn: a bad line before it is still an error
  assert.match(refused(() => readJsonLines(bad, { dropTornTail: true })), /bad\.jsonl:3 is not valid JSON/);
});

test('paths from a manifest: relative, no .., no absolute path, no symlink out of the folder', () => {
  const d = fs.mkdtempSync(path.join(dir, 'ck-'));
  fs.writeFileSync(path.join(d, 'weights.bin'), '');
  assert.equal(resolveInside(d, 'weights.bin', 'f'), path.join(d, 'weights.bin'));
  assert.match(refused(() => resolveInside(d, '../../etc/passwd', 'm.json: paths[0]')), /m\.json: paths\[0\] "\.\.\/\.\.\/etc\/passwd" leaves/);
  assert.match(refused(() => resolveInside(d, '/etc/passwd', 'f')), /is an absolute path/);
  assert.match(refused(() => resolveInside(d, 7, 'f')), /f must be a non-empty file name, got 7/);
  fs.symlinkSync('/etc/passwd', path.join(d, 'link.bin'));
  assert.match(refused(() => resolveInside(d, 'link.bin', 'f')), /"link\.bin" is a link to \/etc\/passwd, outside/);
  assert.match(refused(() => resolveInside(d, 'nope.bin', 'f')), /nope\.bin is missing \(f\)/);
});

test('firstInvalidUtf8 finds overlong forms, surrogates and truncated sequences', () => {
  assert.equal(firstInvalidUtf8(Buffer.from('aé😀')), -1);
  assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0xc0, 0x80])), 1); // overlong NUL
  assert.equal(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80])), 0); // a surrogate
  assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0x62, 0xe2, 0x82])), 2); // cut short
  assert.equal(firstInvalidUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80])), 0); // > U+10FFFF
});
