/**
 * The kernel's stream output policy (scripts/notebooks/output-limits.cjs) on a fake clock: writes are
 * coalesced, displays and the cell's end flush them in order, and beyond 1,000 lines or 100 kB per
 * 0.1 s output is dropped with one note and the last lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

interface CellOutput {
  writeStream(name: string, text: string): void;
  writeDisplayData(data: unknown, update: boolean): void;
  finish(): void;
}
const limits = createRequire(__filename)('../../scripts/notebooks/output-limits.cjs') as {
  createCellOutput(
    writeStream: (name: string, text: string) => void,
    writeDisplayData: (data: unknown, update: boolean) => void,
    now?: () => number,
  ): CellOutput;
  FLUSH_MS: number;
};

function harness() {
  let t = 1000;
  const sent: [string, string][] = [];
  const out = limits.createCellOutput(
    (name, text) => sent.push([name, text]),
    (data) => sent.push(['display', String(data)]),
    () => t,
  );
  return { out, sent, advance: (ms: number) => (t += ms) };
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const lines = (from: number, n: number, word = 'line'): string =>
  Array.from({ length: n }, (_, i) => `${word} ${from + i}\n`).join('');

test('writes are coalesced into one message per stream run, sent within the flush interval', async () => {
  const { out, sent } = harness();
  for (let i = 0; i < 100; i++) out.writeStream('stdout', `a${i}\n`);
  out.writeStream('stderr', 'warning\n');
  out.writeStream('stdout', 'b\n');
  assert.equal(sent.length, 0, 'nothing is sent synchronously');
  await sleep(limits.FLUSH_MS + 30);
  assert.deepEqual(sent, [
    ['stdout', lines(0, 100, 'a').replace(/a (\d+)/g, 'a$1')],
    ['stderr', 'warning\n'],
    ['stdout', 'b\n'],
  ]);
});

test('a display flushes the text before it; finish() sends the rest at once', () => {
  const { out, sent } = harness();
  out.writeStream('stdout', 'before\n');
  out.writeDisplayData('figure', false);
  out.writeStream('stdout', 'after\n');
  out.finish();
  assert.deepEqual(sent, [
    ['stdout', 'before\n'],
    ['display', 'figure'],
    ['stdout', 'after\n'],
  ]);
});

test('beyond 1,000 lines in 0.1 s: the first lines, one note with the count, the last 10 lines', () => {
  const { out, sent } = harness();
  for (let i = 0; i < 5000; i++) out.writeStream('stdout', `line ${i}\n`);
  out.finish();
  const text = sent.map(([, t]) => t).join('');
  const dropped = 5000 - 1000 - 10;
  const bytes = Buffer.byteLength(lines(1000, dropped));
  assert.equal(
    text,
    lines(0, 1000) +
      `[sequentia] 3,990 lines (${(bytes / 1000).toFixed(1)} kB) of output not shown: a cell sends at most 1,000 lines ` +
      'or 100 kB per 0.1 s to the notebook (see docs/jupyter.md, "Printing a lot"; write long logs to a file ' +
      'instead); the last 10 lines follow\n' +
      lines(4990, 10),
  );
  assert.ok(sent.every(([name]) => name === 'stdout'));
});

test('dropping ends once the output calms down: the note comes before what is shown again', () => {
  const { out, sent, advance } = harness();
  out.writeStream('stdout', lines(0, 1500));
  advance(50);
  out.writeStream('stdout', lines(1500, 1000)); // still too fast: dropped
  advance(100);
  out.writeStream('stdout', 'calm 1\n'); // a new interval; the last one was over the limit
  advance(100);
  out.writeStream('stdout', 'calm 2\n'); // the interval before had one line: dropping ends
  out.finish();
  const text = sent.map(([, t]) => t).join('');
  const notes = text.match(/^\[sequentia\] .*$/gm) ?? [];
  assert.equal(notes.length, 1, text.slice(-600));
  // dropped: 500 + 1,000 + 'calm 1'; the last 10 of them are shown after the note
  assert.match(notes[0]!, /^\[sequentia\] 1,491 lines \(.*; the last 10 lines follow$/);
  assert.equal(text, `${lines(0, 1000)}${notes[0]}\n${lines(2491, 9)}calm 1\ncalm 2\n`);
});

test('a single huge line is cut at 100 kB, and the note starts on a line of its own', () => {
  const { out, sent } = harness();
  out.writeStream('stderr', 'x'.repeat(300_000));
  out.writeStream('stderr', '\n');
  out.finish();
  const text = sent.map(([, t]) => t).join('');
  assert.ok(text.startsWith('x'.repeat(100_000) + '\n[sequentia] 1 line (200.0 kB) of output not shown'), text.slice(99_990, 100_100));
  assert.ok(sent.every(([name]) => name === 'stderr'));
  assert.ok(text.length < 110_000, `bounded: ${text.length} characters sent`);
});

test('memory stays bounded: two million dropped lines keep only the last few', () => {
  const { out, sent } = harness();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 2_000_000; i++) out.writeStream('stdout', `line ${i}\n`);
  const grown = process.memoryUsage().heapUsed - before;
  out.finish();
  const text = sent.map(([, t]) => t).join('');
  assert.ok(text.length < 20_000, `${text.length} characters sent`);
  assert.ok(grown < 50e6, `heap grew ${(grown / 1e6).toFixed(1)} MB`);
  assert.match(text, /\[sequentia\] 1,998,990 lines \(/);
  assert.ok(text.endsWith(lines(1_999_990, 10)));
});
