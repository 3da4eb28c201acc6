#!/usr/bin/env python3
"""Drives Sequentia's kernel through jupyter_client for the kernel tests (test/notebooks/kernel.test.ts).

    python3 kernel_client.py PLAN.json

PLAN is a list of cells: {"code": str, "interrupt_when": str (optional: send an interrupt once this
text has appeared in the cell's output), "timeout": seconds, "linger": seconds (optional: keep collecting
the cell's output that long after its reply, for output its timers print later)}. Prints one JSON line per cell:
status, stdout, stderr, display texts, the order outputs arrived in ("stdout", "stderr", "display";
repeats of a stream merged), seconds, for interrupted cells the seconds from the interrupt to the
kernel's reply, and "kernel_exit" (exit code, or -N for signal N) when the kernel died during the cell;
then it stops. Also prints the kernel's pid first, so a test can check it is gone, and then its
kernel_info_reply content ({"kernel_info": ...}).
"""
import json
import sys
import time

from jupyter_client.manager import KernelManager


def text_of(msg):
    c = msg["content"]
    if msg["msg_type"] == "stream":
        return c["text"]
    data = c.get("data", {})
    return data.get("text/plain", "")


def run_cell(kc, km, cell):
    msg_id = kc.execute(cell["code"])
    out = {"stdout": "", "stderr": "", "displays": [], "order": [], "status": None}
    t0 = time.time()
    t_interrupt = None
    deadline = t0 + cell.get("timeout", 60)
    reply = None
    idle = False
    linger_until = None
    while time.time() < deadline:
        if reply and idle:
            if linger_until is None:
                linger_until = time.time() + cell.get("linger", 0)
            if time.time() >= linger_until:
                break
        if reply is None:
            try:
                r = kc.get_shell_msg(timeout=0.02)
                if r["parent_header"].get("msg_id") == msg_id:
                    reply = r
            except Exception:
                pass
        try:
            msg = kc.get_iopub_msg(timeout=0.02)
        except Exception:
            msg = None
        if msg is not None and msg["parent_header"].get("msg_id") == msg_id:
            t = msg["msg_type"]
            if t == "stream":
                out[msg["content"]["name"]] += msg["content"]["text"]
                if not out["order"] or out["order"][-1] != msg["content"]["name"]:
                    out["order"].append(msg["content"]["name"])
            elif t in ("display_data", "update_display_data"):
                out["displays"].append(text_of(msg))
                out["order"].append("display")
            elif t == "status" and msg["content"]["execution_state"] == "idle":
                idle = True
        if msg is None and not km.is_alive():
            # A dead kernel sends nothing more: say so instead of waiting out the timeout.
            out["kernel_exit"] = km.provisioner.process.poll()
            break
        when = cell.get("interrupt_when")
        if when and t_interrupt is None and when in (out["stdout"] + out["stderr"] + "".join(out["displays"])):
            km.interrupt_kernel()
            t_interrupt = time.time()
    out["status"] = reply["content"]["status"] if reply else "no reply"
    out["seconds"] = round(time.time() - t0, 3)
    if t_interrupt is not None and reply is not None:
        out["interrupt_to_reply"] = round(time.time() - t_interrupt, 3)
    return out


def main():
    plan = json.load(open(sys.argv[1]))
    km = KernelManager(kernel_name="sequentia-ts")
    km.start_kernel()
    print(json.dumps({"kernel_pid": km.provisioner.process.pid}), flush=True)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        info = kc.kernel_info(reply=True, timeout=60)["content"]
        print(json.dumps({"kernel_info": info}), flush=True)
        for cell in plan:
            out = run_cell(kc, km, cell)
            print(json.dumps(out), flush=True)
            if "kernel_exit" in out:
                break
            if out["status"] != "ok":
                # tslab, like ipykernel, aborts requests that arrive within 200 ms of a failed cell.
                time.sleep(0.5)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
