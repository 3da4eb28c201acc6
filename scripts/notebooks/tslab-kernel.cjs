#!/usr/bin/env node
// Sequentia's kernel: tslab, started with the project root as its working directory, plus what a
// notebook user needs from a kernel that tslab does not do itself:
//   - interrupts that stop lib's loops cleanly (lib/runtime/interrupt.ts) instead of abandoning a running cell;
//   - asynchronous errors reported against the cell that caused them;
//   - no orphan: the kernel exits when the process that started it is gone;
//   - output that cannot kill it: sends never collide on a socket, and a cell's stream output is
//     coalesced and rate-limited (scripts/notebooks/output-limits.cjs).
const fs = require('node:fs');
const path = require('node:path');
const { AsyncLocalStorage } = require('node:async_hooks');
process.chdir(path.resolve(__dirname, '..', '..'));

// tslab compiles local .ts imports only from under its working directory (its rootDir), so running
// from the root lets every notebook import lib's sources (`./lib/...`) fresh, and `data/...` means the
// same whichever folder the client launched the kernel from.
//
// tslab's TypeScript watcher reacts to a lib/ file edited while the kernel runs by scheduling a
// rebuild that its own timer stub rejects ("Unexpected pending rebuildTimer"), which kills the kernel
// or fails the next cell. Without file watching, an edit to lib/ simply takes effect after a kernel
// restart — the same contract as a Python module without autoreload.
const tslabDir = path.dirname(require.resolve('tslab/package.json'));
const ts = require(require.resolve('@tslab/typescript-for-tslab', { paths: [tslabDir] }));
const noWatch = () => ({ close() {} });
ts.sys.watchFile = noWatch;
ts.sys.watchDirectory = noWatch;

// zeromq 6 sends up to ~512 messages synchronously, then has one send in flight and throws EBUSY
// ("Socket is busy writing") on the next; tslab sends without waiting (every stdout write, status,
// replies). So each socket's sends go through a queue: in order, one at a time, never thrown. The
// queue stays short because stream output is bounded (output-limits.cjs). A send that fails (the socket
// closed at shutdown) goes to the process's own stderr: the socket is what failed.
const zmq = require(require.resolve('zeromq', { paths: [tslabDir] }));
const nativeSend = zmq.Socket.prototype.send;
const sendQueues = new WeakMap();
function queuedSend(message, ...rest) {
  let queue = sendQueues.get(this);
  if (!queue) sendQueues.set(this, (queue = { busy: false, items: [] }));
  return new Promise((resolve) => {
    queue.items.push({ message, rest, resolve });
    if (!queue.busy) void drain(this, queue);
  });
}
// `send` is a read-only (but configurable) property of the native class: a plain assignment is ignored.
Object.defineProperty(zmq.Socket.prototype, 'send', { value: queuedSend, writable: true, configurable: true });
if (zmq.Publisher.prototype.send !== queuedSend || zmq.Router.prototype.send !== queuedSend)
  throw new Error('sequentia kernel: could not install the queued send on zeromq sockets');
async function drain(socket, queue) {
  queue.busy = true;
  while (queue.items.length > 0) {
    const { message, rest, resolve } = queue.items.shift();
    try {
      await nativeSend.call(socket, message, ...rest);
    } catch (e) {
      try {
        fs.writeSync(2, `[sequentia] kernel: a message could not be sent: ${e && e.message}\n`);
      } catch {
        /* no stderr either */
      }
    }
    resolve();
  }
  queue.busy = false;
}

const { amendConverter } = require('./tslab-amendments.cjs');
const converterFile = require.resolve('tslab/dist/converter.js');
const Module = require('node:module');
const compile = Module.prototype._compile;
Module.prototype._compile = function (content, filename) {
  if (filename === converterFile) {
    Module.prototype._compile = compile;
    const { text, lost } = amendConverter(content);
    for (const what of lost) process.stderr.write(`[sequentia] kernel: tslab's converter changed; ${what}\n`);
    content = text;
  }
  return compile.call(this, content, filename);
};

/** Shared with lib/runtime/interrupt.ts (which documents each field). */
const state = { cells: new AsyncLocalStorage(), dead: new Set(), requested: 0, loops: 0, stopped: new Set() };
globalThis.__sequentiaKernel = state;

/** How long an interrupt waits for a registered lib loop to stop (one training step) or for any loop. */
const LOOP_GRACE_MS = 15000;
const IDLE_GRACE_MS = 1000;

let executing = 0; // execution count of the running cell, 0 when idle
let count = 0;
let failRunningCell = null;

const jupyter = require('tslab/dist/jupyter.js');
const { createCellOutput } = require('./output-limits.cjs');
// kernel_info's language_info: tslab's, with the version of the TypeScript that compiles the cells instead
// of its hard-coded "3.7.2" (kernel-info.cjs; the committed notebooks hold exactly this).
const { languageInfo } = require('./kernel-info.cjs');
const handleKernel = jupyter.JupyterHandlerImpl.prototype.handleKernel;
jupyter.JupyterHandlerImpl.prototype.handleKernel = function () {
  return { ...handleKernel.call(this), language_info: languageInfo() };
};
// tslab's ZmqServer sends the execute_reply as soon as this resolves: the cell's buffered output (and
// the note on what was dropped) is sent first.
const handleExecute = jupyter.JupyterHandlerImpl.prototype.handleExecute;
jupyter.JupyterHandlerImpl.prototype.handleExecute = async function (req, writeStream, writeDisplayData) {
  const output = createCellOutput(writeStream, writeDisplayData);
  try {
    return await handleExecute.call(this, req, output.writeStream, output.writeDisplayData);
  } finally {
    output.finish();
  }
};
const executorModule = require('tslab/dist/executor.js');
const createExecutor = executorModule.createExecutor;
executorModule.createExecutor = (...args) => {
  const executor = createExecutor(...args);
  const execute = executor.execute;
  const hardInterrupt = executor.interrupt;
  let failRunning = null;

  // tslab counts execute requests from 1 just before calling execute; so do we.
  executor.execute = async (src) => {
    const cell = ++count;
    executing = cell;
    state.requested = 0;
    // tslab points stdout, stderr and display at this cell just before calling execute. Whatever a
    // cut-off cell left running must not write under this one.
    for (const name of ['stdout', 'stderr']) {
      const write = process[name].write;
      process[name].write = (chunk, ...rest) => (inDeadCell() ? true : write.call(process[name], chunk, ...rest));
    }
    const writeDisplay = jupyter.lastWriteDisplayData;
    if (writeDisplay) jupyter.lastWriteDisplayData = (...a) => (inDeadCell() ? undefined : writeDisplay(...a));
    const failed = new Promise((resolve) => {
      failRunning = (message) => {
        console.error(message);
        state.dead.add(cell);
        resolve(false);
      };
    });
    try {
      return await state.cells.run({ cell }, () => Promise.race([execute(src), failed]));
    } finally {
      failRunning = null;
      executing = 0;
      state.requested = 0;
    }
  };

  // Known limit (Node's, not ours): tslab runs a cell's synchronous start in vm.runInThisContext with
  // breakOnSigint, so a SIGINT arriving in that window belongs to Node's watchdog; one that lands just as
  // that part ends can be lost (measured: ~4 in 10 under load when ■ follows the cell's first output
  // within microseconds). A second ■ always works; test/notebooks/kernel.test.ts interrupts after it.
  let waiting = null;
  executor.interrupt = () => {
    const cell = executing;
    if (!cell) return;
    if (waiting && waiting.cell === cell) {
      // A second interrupt while the first is pending: the user insists.
      cutOff(cell);
      return;
    }
    state.requested = cell;
    const started = Date.now();
    const poll = setInterval(() => {
      const done = executing !== cell || state.requested !== cell;
      const limit = state.loops > 0 ? LOOP_GRACE_MS : IDLE_GRACE_MS;
      if (done) finish();
      else if (Date.now() - started > limit) cutOff(cell);
    }, 25);
    const finish = () => {
      clearInterval(poll);
      if (waiting && waiting.cell === cell) waiting = null;
    };
    waiting = { cell, finish };
  };

  function cutOff(cell) {
    if (waiting && waiting.cell === cell) waiting.finish();
    state.dead.add(cell);
    if (state.requested === cell) state.requested = 0;
    hardInterrupt();
  }

  failRunningCell = (message) => failRunning && failRunning(message);
  return executor;
};

function inDeadCell() {
  const store = state.cells.getStore();
  return store !== undefined && state.dead.has(store.cell);
}

// tslab prints asynchronous errors to whatever cell runs next and carries on; we name the cell whose
// code caused them (the runner fails on this line) and fail that cell if it is still running.
const originalOn = process.on.bind(process);
process.on = (event, listener) => {
  if (event === 'uncaughtException' || event === 'unhandledRejection') return process;
  return originalOn(event, listener);
};
function reportAsync(kind, err) {
  const store = state.cells.getStore();
  const cell = store ? store.cell : 0;
  const text = err instanceof Error ? err.stack || String(err) : String(err);
  const where = cell ? `cell [${cell}]` : 'the kernel';
  if (cell && state.dead.has(cell)) return; // leftovers of a cell the user cut off
  const line = `[sequentia] asynchronous error from ${where}: ${kind}: ${text}\n`;
  try {
    process.stderr.write(line);
  } catch {
    // Reporting must not throw from inside the uncaughtException handler: Node would exit (code 7).
    try {
      fs.writeSync(2, line);
    } catch {
      /* nowhere left to say it */
    }
  }
  if (cell && cell === executing && failRunningCell) failRunningCell(`this cell failed: ${kind} (above)`);
}
originalOn('uncaughtException', (err) => reportAsync('uncaught exception', err));
originalOn('unhandledRejection', (reason) => reportAsync('unhandled rejection', reason));

// No orphans: exit when the process that started us (Jupyter's kernel manager, the runner's executor,
// the notebook server) is gone, however it died.
const parents = [process.ppid, Number(process.env.JPY_PARENT_PID) || 0].filter((p) => p > 1);
setInterval(() => {
  for (const pid of parents) {
    try {
      process.kill(pid, 0);
    } catch (e) {
      if (e.code === 'ESRCH') process.exit(1);
    }
  }
}, 1000).unref();

require('tslab/dist/main.js').main();
process.on = originalOn;
