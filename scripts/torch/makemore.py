#!/usr/bin/env python3
"""PyTorch reference run of makemore's transformer at its defaults on names.txt.

Same data pipeline as makemore.py (torch.manual_seed(3407); the last 1,000 names of torch.randperm are
the test set; batches drawn with replacement), the model from scripts/torch/zoo.py (--type, default
transformer; n_embd 64, n_embd2 64, n_layer 4, n_head 4), AdamW (lr 5e-4, weight decay 0.01, betas
0.9/0.99). Every --eval-every steps it writes one JSON line to stdout: the step, the train loss (10 batches
of 100, as makemore), the test loss (all test names) and the seconds since training started.
scripts/reference-curves.ts collects such logs for notebook 09.

Run from anywhere, with Debian's PyTorch 1.13 (apt-get install python3-torch):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/torch/makemore.py --max-steps 20000 > out/torch-transformer.jsonl
"""
import json
import time

import torch

import common
import zoo


def main():
    ap = common.parser(__doc__)
    ap.add_argument("--input", metavar="FILE", default=common.NAMES, help="one word per line")
    ap.add_argument("--type", default="transformer", choices=list(zoo.ZOO), help="model of the zoo")
    ap.add_argument("--max-steps", metavar="N", type=common.positive_int, default=20000, help="training steps")
    ap.add_argument("--eval-every", metavar="N", type=common.positive_int, default=1000, help="steps between evaluations")
    ap.add_argument("--seed", metavar="N", type=int, default=3407, help="seeds the split, the initialisation and the batches")
    ap.add_argument("--threads", metavar="N", type=common.positive_int, default=1, help="torch.set_num_threads")
    ap.add_argument("--init-seed", metavar="N", type=int, default=None, help="reseed after the split: same test set, another initialisation and batch order")
    a = common.parse(ap, inputs=["input"])
    common.threads(a.threads)
    common.seed(a.seed)
    words = common.load_words(a.input)
    chars, stoi = common.vocabulary(words)
    T = common.block_size(words)
    train_words, test_words = common.split(words)
    train, test = common.encode(train_words, stoi, T), common.encode(test_words, stoi, T)
    if a.init_seed is not None:
        common.seed(a.init_seed)
    model = zoo.create(a.type, len(chars) + 1, T)
    opt = zoo.adamw(model)

    @torch.no_grad()
    def evaluate(data, batches=None):
        model.eval()
        X, Y = data
        if batches is None:
            out = zoo.loss(model(X), Y).item()
        else:
            out = sum(zoo.loss(model(X[ix]), Y[ix]).item() for ix in (torch.randint(0, len(X), (100,)) for _ in range(batches))) / batches
        model.train()
        return out

    t0 = time.perf_counter()
    for step in range(1, a.max_steps + 1):
        ix = torch.randint(0, len(train[0]), (32,))
        loss = zoo.loss(model(train[0][ix]), train[1][ix])
        model.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % a.eval_every == 0:
            print(json.dumps({"step": step, "train_loss": evaluate(train, 10), "test_loss": evaluate(test), "seconds": time.perf_counter() - t0}), flush=True)


if __name__ == "__main__":
    main()
