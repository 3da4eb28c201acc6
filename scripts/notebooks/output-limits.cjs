// A cell's stream output on its way to Jupyter: coalesced and bounded.
//
// tslab sends one iopub message per stdout/stderr write. A cell printing in a loop then floods the
// socket (zeromq refuses a send while one is in flight), the notebook server (its own
// iopub_data_rate_limit, 1 MB/s by default, silences the whole kernel) and the browser. So:
//   - writes are buffered per cell and sent as one stream message every FLUSH_MS, and at once before
//     any display of that cell and before its execute_reply, which keeps the notebook's order;
//   - a cell delivers at most MAX_LINES lines or MAX_BYTES bytes per INTERVAL_MS (a tenth of Jupyter's
//     default rate, so the server's limiter never trips). What goes beyond is counted, not kept, and
//     once the cell's output calms down (or the cell ends) ONE line on the same stream says how much
//     was left out, followed by the last TAIL_LINES lines dropped (a loop's final summary is usually
//     what matters). Memory stays bounded whatever a cell prints.
'use strict';

const FLUSH_MS = 50;
const INTERVAL_MS = 100;
const MAX_LINES = 1000;
const MAX_BYTES = 100_000;
const TAIL_LINES = 10;
const TAIL_BYTES = 4000;

const grouped = (n) => n.toLocaleString('en-US');

function sizeText(bytes) {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} kB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

function newlines(text) {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** The line that stands for what was dropped. */
function notice(lines, bytes, tailLines) {
  const what = lines > 0 ? `${grouped(lines)} line${lines === 1 ? '' : 's'} (${sizeText(bytes)})` : sizeText(bytes);
  const tail = tailLines > 0 ? `; the last ${tailLines === 1 ? 'line follows' : `${tailLines} lines follow`}` : '';
  return (
    `[sequentia] ${what} of output not shown: a cell sends at most ${grouped(MAX_LINES)} lines or ` +
    `${MAX_BYTES / 1000} kB per ${INTERVAL_MS / 1000} s to the notebook (see docs/jupyter.md, "Printing a lot"; ` +
    `write long logs to a file instead)${tail}`
  );
}

/** The end of `text`: at most TAIL_LINES lines and TAIL_BYTES characters, starting at a line. */
function trimTail(text) {
  let start = text.length > TAIL_BYTES ? text.length - TAIL_BYTES : 0;
  let seen = 0;
  for (let i = text.lastIndexOf('\n', text.length - 2); i >= start; i = text.lastIndexOf('\n', i - 1)) {
    if (++seen === TAIL_LINES) {
      start = i + 1;
      break;
    }
    if (i === 0) break;
  }
  if (start > 0 && text[start - 1] !== '\n') {
    const nl = text.indexOf('\n', start);
    start = nl === -1 ? text.length : nl + 1;
  }
  return text.slice(start);
}

/**
 * The longest start of `text` that fits `lines` newlines and `bytes` UTF-8 bytes, cut after a newline
 * when it has one.
 */
function fittingHead(text, lines, bytes) {
  let cut = text.length;
  if (lines <= 0) cut = 0;
  else {
    let seen = 0;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) {
      if (++seen === lines) {
        cut = i + 1;
        break;
      }
    }
  }
  let head = text.slice(0, cut);
  if (Buffer.byteLength(head) > bytes) {
    head = Buffer.from(head).subarray(0, Math.max(0, bytes)).toString('utf8');
    // a multi-byte character cut in two decodes as U+FFFD, which may be longer than what it replaces
    while (Buffer.byteLength(head) > bytes) head = head.slice(0, -1);
    const nl = head.lastIndexOf('\n');
    if (nl !== -1) head = head.slice(0, nl + 1);
  }
  return head;
}

/**
 * Wraps tslab's writeStream(name, text) and writeDisplayData(data, update) for one cell. `finish()`
 * (before the execute_reply) sends what is buffered and the note on anything dropped; writes that come
 * later (timers the cell left) still arrive, through the same limits.
 */
function createCellOutput(writeStream, writeDisplayData, now = Date.now) {
  /** @type {{ name: string, text: string }[]} */
  const pending = [];
  const endsLine = { stdout: true, stderr: true };
  let timer = null;
  // Lines and bytes written in the current interval: delivered, plus attempted while dropping.
  let window = { start: now(), lines: 0, bytes: 0 };
  /** Dropped per stream while the cell is over its limit; null when it is not. */
  let dropped = null;

  function push(name, text) {
    if (text === '') return;
    const last = pending[pending.length - 1];
    if (last && last.name === name) last.text += text;
    else pending.push({ name, text });
    endsLine[name] = text.endsWith('\n');
    arm();
  }

  function arm() {
    if (timer === null) timer = setTimeout(tick, FLUSH_MS);
  }

  function tick() {
    timer = null;
    roll();
    flush();
    if (dropped) arm(); // keep looking for the moment the output calms down
  }

  function endDropping() {
    if (!dropped) return;
    const d = dropped;
    dropped = null;
    for (const name of Object.keys(d)) {
      const tail = trimTail(d[name].tail);
      const tailLines = newlines(tail) + (tail === '' || tail.endsWith('\n') ? 0 : 1);
      const lines = d[name].lines - newlines(tail);
      const bytes = d[name].bytes - Buffer.byteLength(tail);
      const before = endsLine[name] ? '' : '\n';
      if (lines > 0 || bytes > 0) push(name, `${before}${notice(lines, bytes, tailLines)}\n${tail}`);
      else push(name, tail);
    }
  }

  /**
   * Starts a new interval when the current one is over. Dropping ends after an interval in which the
   * cell wrote at most half its limit: a loop printing near the limit, or one the OS paused for a
   * while (the machine is busy), stays one episode with one note. A silent cell's intervals are
   * rolled by the timer, so its next output after a pause is shown.
   */
  function roll() {
    const t = now();
    if (t - window.start < INTERVAL_MS) return;
    if (window.lines <= MAX_LINES / 2 && window.bytes <= MAX_BYTES / 2) endDropping();
    window = { start: t, lines: 0, bytes: 0 };
  }

  function drop(name, text, lines, bytes) {
    if (!dropped) dropped = {};
    const d = (dropped[name] ??= { lines: 0, bytes: 0, tail: '', midLine: false });
    d.lines += lines;
    d.bytes += bytes;
    let rest = text;
    if (d.midLine) {
      // the tail was cut inside a line too long to keep: skip to that line's end
      const nl = rest.indexOf('\n');
      if (nl === -1) rest = '';
      else [rest, d.midLine] = [rest.slice(nl + 1), false];
    }
    d.tail += rest;
    if (d.tail.length > 4 * TAIL_BYTES) {
      const trimmed = trimTail(d.tail);
      d.midLine = trimmed === '' && !d.tail.endsWith('\n');
      d.tail = trimmed;
    }
    window.lines += lines;
    window.bytes += bytes;
    arm();
  }

  function write(name, text) {
    if (typeof text !== 'string' || text === '') return;
    roll();
    const lines = newlines(text);
    const bytes = Buffer.byteLength(text);
    if (dropped) return drop(name, text, lines, bytes);
    const roomLines = MAX_LINES - window.lines;
    const roomBytes = MAX_BYTES - window.bytes;
    if (lines <= roomLines && bytes <= roomBytes) {
      window.lines += lines;
      window.bytes += bytes;
      return push(name, text);
    }
    const head = fittingHead(text, roomLines, roomBytes);
    const headLines = newlines(head);
    const headBytes = Buffer.byteLength(head);
    window.lines += headLines;
    window.bytes += headBytes;
    push(name, head);
    drop(name, text.slice(head.length), lines - headLines, bytes - headBytes);
  }

  function flush() {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    while (pending.length > 0) {
      const { name, text } = pending.shift();
      writeStream(name, text);
    }
    if (dropped) arm();
  }

  return {
    writeStream: write,
    writeDisplayData(data, update) {
      flush();
      return writeDisplayData(data, update);
    },
    /** The cell is done: what it printed, and the note on what was not shown, go before its reply. */
    finish() {
      roll();
      endDropping();
      flush();
    },
  };
}

module.exports = { createCellOutput, notice, FLUSH_MS, INTERVAL_MS, MAX_LINES, MAX_BYTES };
