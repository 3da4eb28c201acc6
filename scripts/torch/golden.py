#!/usr/bin/env python3
"""Writes test/fixtures/torch-random.json: golden values from PyTorch's CPU generator.

test/random.test.ts replays every case on Sequentia's TorchGenerator and compares to the last bit. Each
case is a sequence of operations on one generator, so state carried between calls is tested too. Floats
are float32 values written exactly (as Python floats); indices as integers.

Run from anywhere, with Debian's PyTorch 1.13 (apt-get install python3-torch):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/torch/golden.py [--out FILE|-] [--seeds 1,2,3]
"""
import os

import torch

import common

DEFAULT_SEEDS = [42, 3407, 2147483647, 0, 1, 7, 123456789, 2**32 + 5]


def program(seed):
    g = torch.Generator().manual_seed(seed)
    ops = []

    def rec(op, args, value):
        ops.append({"op": op, "args": args, "value": value.flatten().tolist()})

    for n in [1, 3, 15, 16, 17, 27 * 27, 1000]:
        rec("rand", [n], torch.rand(n, generator=g))
        rec("randn", [n], torch.randn(n, generator=g))
    rec("randn", [[27, 27]], torch.randn((27, 27), generator=g))
    rec("randn", [[5, 7]], torch.randn((5, 7), generator=g))
    rec("randint", [0, 10, [20]], torch.randint(0, 10, (20,), generator=g))
    rec("randint", [0, 228146, [32]], torch.randint(0, 228146, (32,), generator=g))
    rec("randperm", [50], torch.randperm(50, generator=g))
    rec("randperm", [1000], torch.randperm(1000, generator=g))
    # multinomial on weights drawn from the same generator (as in the lecture)
    p = torch.rand(3, generator=g)
    rec("rand", [3], p)
    p = p / p.sum()
    rec("multinomial", [p.tolist(), 1, True, 3], torch.multinomial(p, 1, replacement=True, generator=g))
    rec("multinomial", [p.tolist(), 100, True, 3], torch.multinomial(p, 100, replacement=True, generator=g))
    w = torch.rand(27, generator=g)
    rec("rand", [27], w)
    rec("multinomial", [w.tolist(), 1, False, 27], torch.multinomial(w, 1, replacement=False, generator=g))
    rec("multinomial", [w.tolist(), 10, False, 27], torch.multinomial(w, 10, replacement=False, generator=g))
    rec("multinomial", [w.tolist(), 200, True, 27], torch.multinomial(w, 200, replacement=True, generator=g))
    rows = torch.rand((4, 27), generator=g)
    rec("rand", [[4, 27]], rows)
    rec("multinomial", [rows.flatten().tolist(), 1, True, 27], torch.multinomial(rows, 1, replacement=True, generator=g))
    rec("multinomial", [rows.flatten().tolist(), 5, False, 27], torch.multinomial(rows, 5, replacement=False, generator=g))
    rec("multinomial", [rows.flatten().tolist(), 9, True, 27], torch.multinomial(rows, 9, replacement=True, generator=g))
    return {"seed": seed, "ops": ops}


def main():
    ap = common.parser(__doc__)
    ap.add_argument("--out", metavar="FILE", default=os.path.join(common.FIXTURES, "torch-random.json"), help="JSON file to write ('-': stdout)")
    ap.add_argument("--seeds", type=common.csv_list(int), default=DEFAULT_SEEDS, metavar="N,N,…", help="generator seeds, one case each")
    a = common.parse(ap)
    data = {"torch": torch.__version__, "cases": [program(s) for s in a.seeds]}
    common.write_json(a.out, data, separators=(",", ":"))
    if a.out != "-":
        print(f"wrote {a.out}: {len(a.seeds)} seeds, torch {torch.__version__}")


if __name__ == "__main__":
    main()
