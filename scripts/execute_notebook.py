#!/usr/bin/env python3
"""Executes one notebook through Jupyter (nbclient) and reports each cell as a JSON line on stdout.

Called by scripts/run-notebooks.ts; not meant to be run by hand:
    python3 execute_notebook.py IN.ipynb OUT.ipynb --kernel sequentia-ts --cwd DIR [--timeout S]

Cells run one at a time so that the first failing cell is known exactly. tslab replies to a failed cell
with an empty error name and prints the real error on stderr, so the report carries the cell's stderr
text as well as any error output. The executed notebook is written even when a cell fails.
"""
import argparse
import json
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def emit(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def cell_error_text(cell, exc):
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            tb = out.get("traceback") or []
            parts.append("\n".join(tb) if tb else f"{out.get('ename', '')}: {out.get('evalue', '')}")
    text = "".join(parts).strip()
    if not text and exc is not None:
        text = str(exc).strip()
    return text or "(the kernel reported an error without any message)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--cwd", required=True)
    ap.add_argument("--timeout", type=int, default=3600)
    args = ap.parse_args()

    nb = nbformat.read(args.inp, as_version=4)
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    client = NotebookClient(
        nb,
        kernel_name=args.kernel,
        timeout=args.timeout,
        startup_timeout=120,
        allow_errors=False,
        record_timing=True,
        resources={"metadata": {"path": args.cwd}},
    )
    failed = None
    started = time.time()
    with client.setup_kernel():
        emit(event="kernel", seconds=round(time.time() - started, 3))
        for k, idx in enumerate(code_cells):
            cell = nb.cells[idx]
            t0 = time.time()
            try:
                client.execute_cell(cell, idx)
                emit(event="cell", index=idx, code_index=k, n=len(code_cells), ok=True, seconds=round(time.time() - t0, 3))
            except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
                kind = "timeout" if isinstance(exc, CellTimeoutError) else "dead kernel" if isinstance(exc, DeadKernelError) else "error"
                failed = {"index": idx, "code_index": k, "kind": kind, "error": cell_error_text(cell, exc), "source": cell.source}
                emit(event="cell", index=idx, code_index=k, n=len(code_cells), ok=False, seconds=round(time.time() - t0, 3))
                break
    nbformat.write(nb, args.out)
    emit(event="done", ok=failed is None, failed=failed, seconds=round(time.time() - started, 3))
    return 0 if failed is None else 1


if __name__ == "__main__":
    sys.exit(main())
