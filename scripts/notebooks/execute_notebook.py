#!/usr/bin/env python3
"""Executes one notebook through Jupyter (nbclient) and reports each cell as a JSON line on stdout.

Called by the runner (scripts/notebooks/executor.ts); not meant to be run by hand:
    python3 execute_notebook.py IN.ipynb OUT.ipynb --kernel sequentia-ts --cwd DIR [--timeout S]
        [--startup-timeout S] [--watch-stdin [--wait-go]]

Cells run one at a time so that the first failing cell is known exactly. tslab replies to a failed cell
with an empty error name and prints the real error on stderr, so the report carries the cell's stderr
text as well as any error output. The executed notebook is written even when a cell fails.

Events (one JSON object a line): kernel-started {pid, pgid} as soon as the kernel process exists,
kernel {seconds} when it answers, cell-start / cell per code cell, done {ok, failed, seconds}.
With --wait-go the first cell waits for a line `go` on stdin (the runner starts the next notebook's
kernel while the one before runs); done's seconds then count from `go`.

Faults:
  - a kernel that does not answer within --startup-timeout (default 120 s) is shut down and a second
    one started (a kernel start can stall on a busy machine); a second silence, or a kernel that
    crashes on start, is kind "kernel startup" with the client's error and the kernel's exit;
  - the kernel dies mid-cell: reported as kind "dead kernel" with the cause (signal or exit code);
  - a cell runs past --timeout: the kernel is interrupted (our loops stop within a second) and the
    cell fails with kind "timeout";
  - an asynchronous error (the kernel launcher prints `[sequentia] asynchronous error from cell [N]: `
    under whichever cell runs when it happens) fails the run naming cell N, kind "asynchronous error";
    after the last cell a silent no-op cell gives late errors a place to show up;
  - SIGTERM/SIGINT/SIGHUP, or the runner disappearing (stdin reaches EOF with --watch-stdin, or our
    parent PID changes): the kernel's process group is killed and we exit at once.
Exit codes: 0 ok, 1 a cell failed, 2 unreadable notebook, 128+N killed by signal N.
"""
import argparse
import json
import os
import re
import signal
import sys
import threading
import time
import warnings

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async

MARKER = re.compile(r"^\[sequentia\] asynchronous error from (?:cell \[(\d+)\]|the kernel): ?(.*)$")
FLUSH_WAIT_S = 0.5  # how long the last cell's timers get to fail before the final check
TIMEOUT_ENAME = "SequentiaCellTimeout"

# The kernel process, once started: the signal handlers and the watchdog kill its group.
_kernel = {"proc": None, "pgid": None, "connection_file": None}
_kill_lock = threading.RLock()  # re-entrant: a signal handler may interrupt the main thread inside kill_kernel
_go = threading.Event()  # the runner's `go` arrived (--wait-go)


def emit(**event):
    try:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        pass  # the runner is gone; the watchdog ends us


def kill_kernel():
    """SIGKILLs the kernel's process group (jupyter_client starts it in its own session)."""
    with _kill_lock:
        proc, pgid = _kernel["proc"], _kernel["pgid"]
        if proc is None:
            return
        try:
            if pgid:
                os.killpg(pgid, signal.SIGKILL)
            else:
                proc.kill()
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=2)
        except Exception:
            pass
        cf = _kernel["connection_file"]
        if cf:
            try:
                os.unlink(cf)
            except OSError:
                pass
        _kernel["proc"] = None


def die(code):
    kill_kernel()
    os._exit(code)


def on_signal(signum, _frame):
    # No graceful shutdown: the runner asked us to stop now, and a busy kernel would not answer anyway.
    die(128 + signum)


def start_watchdog(watch_stdin):
    """Ends us (and the kernel) when the runner is gone, even if it was SIGKILLed and could not tell us."""
    parent = os.getppid()

    def poll_parent():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                die(1)

    def read_stdin():
        # The runner holds the write end of our stdin and writes only `go`: EOF means it is gone.
        seen = b""
        try:
            while True:
                chunk = os.read(0, 65536)
                if not chunk:
                    break
                seen = (seen + chunk)[-16:]
                if b"go\n" in seen:
                    _go.set()
        except OSError:
            pass
        die(1)

    threading.Thread(target=poll_parent, daemon=True).start()
    if watch_stdin:
        threading.Thread(target=read_stdin, daemon=True).start()


class Client(NotebookClient):
    """NotebookClient that also keeps stderr the kernel sent outside the running cell (an asynchronous
    error printed while no cell ran carries the previous cell's header, which nbclient drops) and
    remembers whether a reply was replaced because of the timeout."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stray_stderr = []
        self.timed_out = False

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        assert self.kc is not None
        while True:
            msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
            if msg["parent_header"].get("msg_id") == parent_msg_id:
                try:
                    self.process_message(msg, cell, cell_index)
                except CellExecutionComplete:
                    return
            elif msg.get("msg_type") == "stream" and msg["content"].get("name") == "stderr":
                self.stray_stderr.append(msg["content"].get("text", ""))

    async def _async_handle_timeout(self, timeout, cell=None):
        self.timed_out = True
        return await super()._async_handle_timeout(timeout, cell)


def stderr_text(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr")


def cell_error_text(cell, exc, placeholder=True):
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error" and out.get("ename") != TIMEOUT_ENAME:
            tb = out.get("traceback") or []
            parts.append("\n".join(tb) if tb else f"{out.get('ename', '')}: {out.get('evalue', '')}")
    text = "".join(parts).strip()
    if not text and exc is not None:
        text = str(exc).strip()
    return text or ("(the kernel reported an error without any message)" if placeholder else "")


def async_errors(text):
    """(execution count or None, error text) for each asynchronous-error marker in `text`."""
    found = []
    lines = text.split("\n")
    for i, line in enumerate(lines):
        m = MARKER.match(line)
        if not m:
            continue
        body = [m.group(2)]
        for nxt in lines[i + 1:i + 40]:
            if not nxt.strip() or MARKER.match(nxt):
                break
            body.append(nxt)
        found.append((int(m.group(1)) if m.group(1) else None, "\n".join(body).rstrip()))
    return found


def kernel_cause():
    """Why the kernel process ended: its signal or exit code."""
    proc = _kernel["proc"]
    if proc is None:
        return "the kernel died"
    try:
        rc = proc.wait(timeout=2)
    except Exception:
        return "the kernel stopped answering (its process is still there)"
    if rc < 0:
        name = signal.Signals(-rc).name
        hint = " (out of memory, or killed by hand)" if -rc == signal.SIGKILL else ""
        return f"kernel killed by {name}{hint}"
    return f"kernel exited with code {rc}"


def read_notebook(path):
    """The notebook, or exit 2 with one line naming the file (the runner checks first; this is a backstop)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.read(path, as_version=4)
            nbformat.validate(nb)
        return nb
    except Exception as exc:  # JSON, schema or I/O: one line, no traceback
        msg = " ".join(str(exc).split())[:300]
        sys.stderr.write(f"{path}: not a valid notebook: {type(exc).__name__}: {msg}\n")
        sys.exit(2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--cwd", required=True)
    ap.add_argument("--timeout", type=int, default=3600)
    ap.add_argument("--watch-stdin", action="store_true", help="exit (killing the kernel) when stdin reaches EOF")
    ap.add_argument("--wait-go", action="store_true", help="with --watch-stdin: start the kernel, run cells after a line `go`")
    ap.add_argument("--startup-timeout", type=int, default=120, help="seconds for a kernel to answer (it gets two tries)")
    args = ap.parse_args()
    if args.wait_go and not args.watch_stdin:
        ap.error("--wait-go needs --watch-stdin (the line comes on stdin)")

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    start_watchdog(args.watch_stdin)

    nb = read_notebook(args.inp)
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    client = Client(
        nb,
        kernel_name=args.kernel,
        timeout=args.timeout,
        startup_timeout=args.startup_timeout,
        allow_errors=False,
        # No execution timestamps in the executed copy's cell metadata: two runs of a notebook diff only
        # where an output changed (the runner times cells itself, from the events below).
        record_timing=False,
        # On timeout: interrupt the kernel (lib's loops stop within a second), give it iopub_timeout to
        # show what it did, and fail the cell with this reply instead of waiting another full timeout.
        interrupt_on_timeout=True,
        error_on_timeout={"ename": TIMEOUT_ENAME, "evalue": f"cell timed out after {args.timeout} s", "traceback": []},
        resources={"metadata": {"path": args.cwd}},
    )
    failed = None
    started = time.time()
    by_count = {}  # kernel execution count -> (cell index, code cell index)
    replies = {}  # cell index -> execution_count of its execute_reply
    sent = 0  # execute requests so far: tslab's count when a reply carries none (timeout, dead kernel)

    # tslab sends no execute_input/execute_result counts, so nbclient leaves cell.execution_count
    # empty; the reply has it.
    def on_cell_executed(cell, cell_index, execute_reply):
        count = (execute_reply or {}).get("content", {}).get("execution_count")
        if isinstance(count, int):
            replies[cell_index] = count

    client.on_cell_executed = on_cell_executed

    def failure(idx, k, kind, error, reported_in=None):
        return {"index": idx, "code_index": k, "kind": kind, "error": error, "source": nb.cells[idx].source if idx is not None else "", "reported_in": reported_in}

    def check_async(text, idx, k):
        """A failure for the first asynchronous-error marker in text (reported while cell idx ran)."""
        for count, err in async_errors(text):
            origin = by_count.get(count) if count is not None else None
            where = {"index": idx, "code_index": k} if idx is not None else None
            if origin is None:
                # Unknown origin (the kernel itself, or a count we never saw): blame where it showed up.
                if idx is None:
                    return {"index": None, "code_index": None, "kind": "asynchronous error", "error": err, "source": "", "reported_in": None}
                return failure(idx, k, "asynchronous error", f"(from {'the kernel' if count is None else f'execution [{count}]'})\n{err}")
            return failure(origin[0], origin[1], "asynchronous error", err, where if origin[0] != idx else None)
        return None

    def start_kernel():
        """Starts the kernel and its client; None when it answers, else why not."""
        client.km = client.create_kernel_manager()
        client.start_new_kernel()
        proc = getattr(client.km.provisioner, "process", None) or getattr(client.km, "kernel", None)
        pgid = getattr(client.km.provisioner, "pgid", None)
        if proc is not None and not pgid:
            try:
                pgid = os.getpgid(proc.pid)
            except OSError:
                pgid = None
        with _kill_lock:
            _kernel.update(proc=proc, pgid=pgid, connection_file=getattr(client.km, "connection_file", None))
        emit(event="kernel-started", pid=proc.pid if proc is not None else None, pgid=pgid, connection_file=_kernel["connection_file"])
        try:
            client.start_new_kernel_client()
            return None
        except Exception as exc:
            said = f"{type(exc).__name__}: {exc}"
            return f"{said}; {kernel_cause()}" if proc is not None and proc.poll() is not None else said

    try:
        cause = start_kernel()
        if cause is not None and "respond" in cause:
            # A kernel that never answered (rather than one that crashed): one more start before failing.
            print(f"[sequentia] the kernel did not answer ({cause}); starting another", file=sys.stderr, flush=True)
            try:
                client.km.shutdown_kernel(now=True)
            except Exception:
                pass
            cause = start_kernel()
        if cause is not None:
            failed = {"index": None, "code_index": None, "kind": "kernel startup", "error": cause, "source": "", "reported_in": None}
        if failed is None:
            emit(event="kernel", seconds=round(time.time() - started, 3))
            if args.wait_go:
                _go.wait()
                started = time.time()
        for k, idx in enumerate(code_cells if failed is None else []):
            cell = nb.cells[idx]
            t0 = time.time()
            emit(event="cell-start", index=idx, code_index=k, n=len(code_cells))
            if cell.source.strip():  # nbclient sends no request for an empty cell
                sent += 1
            try:
                client.execute_cell(cell, idx)
            except CellExecutionError as exc:
                if client.timed_out or exc.ename == TIMEOUT_ENAME:
                    failed = failure(idx, k, "timeout", f"the cell ran longer than --timeout {args.timeout} s; the kernel was interrupted\n{cell_error_text(cell, None, placeholder=False)}".rstrip())
                else:
                    failed = failure(idx, k, "error", cell_error_text(cell, exc))
            except CellTimeoutError as exc:
                failed = failure(idx, k, "timeout", f"the cell ran longer than --timeout {args.timeout} s\n{cell_error_text(cell, exc)}")
            except DeadKernelError as exc:
                text = stderr_text(cell).strip()
                failed = failure(idx, k, "dead kernel", f"{kernel_cause()} while this cell ran" + (f"\n{text}" if text else ""))
            except Exception as exc:  # zmq, protocol or nbclient trouble: still report the cell
                failed = failure(idx, k, "executor error", f"{type(exc).__name__}: {exc}")
            count = replies.get(idx) or cell.get("execution_count") or sent
            by_count[count] = (idx, k)
            if cell.source.strip():
                # The executed copy shows "In [n]:" as a notebook run by hand does (nbconvert HTML too).
                cell.execution_count = count
            # An asynchronous error outranks the cell's own outcome: it is the earlier cause.
            stray, client.stray_stderr = "".join(client.stray_stderr), []
            found = check_async(stray + "\n" + stderr_text(cell), idx, k)
            if found is not None and (failed is None or failed["kind"] in ("error", "asynchronous error")):
                failed = found
            emit(event="cell", index=idx, code_index=k, n=len(code_cells), ok=failed is None, seconds=round(time.time() - t0, 3))
            if failed is not None:
                break
        if failed is None and code_cells:
            # Late asynchronous errors (a timer the last cell left behind) need a cell to be printed under.
            time.sleep(FLUSH_WAIT_S)
            flush = nbformat.v4.new_code_cell("undefined;")
            nb.cells.append(flush)
            try:
                client.execute_cell(flush, len(nb.cells) - 1, store_history=False)
            except Exception:
                pass  # an error here is reported through the marker, or not at all
            finally:
                nb.cells.pop()
            stray, client.stray_stderr = "".join(client.stray_stderr), []
            failed = check_async(stray + "\n" + stderr_text(flush), None, None)
    finally:
        if failed is not None:
            client.shutdown_kernel = "immediate"  # a failed or stuck kernel gets no graceful shutdown
        try:
            client._cleanup_kernel()
        except Exception:
            pass
        if _kernel["proc"] is not None and _kernel["proc"].poll() is None:
            kill_kernel()
        with _kill_lock:
            _kernel["proc"] = None
    nbformat.write(nb, args.out)
    emit(event="done", ok=failed is None, failed=failed, seconds=round(time.time() - started, 3))
    return 0 if failed is None else 1


if __name__ == "__main__":
    sys.exit(main())
