#!/usr/bin/env python3
"""PyTorch reference run of makemore's transformer at its defaults on names.txt (or, with --june-2022, at
the settings of makemore's first version, for which its README quotes a test loss of ~1.92).

Same data pipeline as makemore.py (torch.manual_seed(3407); the last 1,000 names of torch.randperm are
the test set; batches drawn with replacement), the model from scripts/torch/zoo.py (--type, default
transformer; n_embd 64, n_embd2 64, n_layer 4, n_head 4), AdamW (lr 5e-4, weight decay 0.01, betas
0.9/0.99). Every --eval-every steps it writes one JSON line to stdout: the step, the train loss (10 batches
of 100, as makemore), the test loss (all test names) and the seconds since training started.
scripts/reference-curves.ts collects such logs for notebook 09.

Run from anywhere, with Debian's PyTorch 1.13 (apt-get install python3-torch):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/torch/makemore.py --max-steps 20000 > out/torch-transformer.jsonl
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/torch/makemore.py --june-2022 --max-steps 60000 > out/torch-june-2022.jsonl
"""
import json
import sys
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
    ap.add_argument("--learning-rate", metavar="X", type=float, default=5e-4, help="AdamW's learning rate")
    ap.add_argument("--weight-decay", metavar="X", type=float, default=0.01, help="AdamW's weight decay")
    ap.add_argument("--decay", choices=["all", "linear"], default="all", help="which parameters decay: all, or Linear weights only (minGPT)")
    ap.add_argument("--dropout", metavar="P", type=float, default=0.0, help="transformer dropout (embeddings, attention weights, residual branches)")
    ap.add_argument("--grad-clip", metavar="X", type=float, default=0.0, help="clip the gradients' global norm to X (0: no clipping)")
    ap.add_argument("--init", choices=["torch", "gpt"], default="torch", help="transformer initialisation: PyTorch's defaults, or N(0, 0.02) (minGPT)")
    ap.add_argument("--lr-drop", metavar="STEP", type=common.positive_int, default=None, help="from step STEP on, the learning rate is a tenth")
    ap.add_argument("--june-2022", action="store_true", help="makemore's first version's settings: dropout 0.1, weight decay 0.1 on Linear weights, grad clip 1, init gpt, seed 1337 (flags given explicitly win)")
    a = common.parse(ap, inputs=["input"])
    if a.june_2022:
        given = {arg.split("=")[0] for arg in sys.argv[1:]}
        for flag, key, value in [("--dropout", "dropout", 0.1), ("--weight-decay", "weight_decay", 0.1), ("--decay", "decay", "linear"),
                                 ("--grad-clip", "grad_clip", 1.0), ("--init", "init", "gpt"), ("--seed", "seed", 1337)]:
            if flag not in given:
                setattr(a, key, value)
    common.threads(a.threads)
    common.seed(a.seed)
    words = common.load_words(a.input)
    chars, stoi = common.vocabulary(words)
    T = common.block_size(words)
    train_words, test_words = common.split(words)
    train, test = common.encode(train_words, stoi, T), common.encode(test_words, stoi, T)
    if a.init_seed is not None:
        common.seed(a.init_seed)
    model = zoo.create(a.type, len(chars) + 1, T, dropout=a.dropout, init=a.init)
    opt = zoo.adamw(model, lr=a.learning_rate, weight_decay=a.weight_decay, decay=a.decay)

    @torch.no_grad()
    def evaluate(data, batches=None):
        model.eval()
        X, Y = data
        if batches is None:
            out = zoo.model_loss(model, X, Y).item()
        else:
            out = sum(zoo.model_loss(model, X[ix], Y[ix]).item() for ix in (torch.randint(0, len(X), (100,)) for _ in range(batches))) / batches
        model.train()
        return out

    t0 = time.perf_counter()
    for step in range(1, a.max_steps + 1):
        if a.lr_drop is not None and step == a.lr_drop + 1:
            for g in opt.param_groups:
                g["lr"] = a.learning_rate / 10
        ix = torch.randint(0, len(train[0]), (32,))
        loss = zoo.model_loss(model, train[0][ix], train[1][ix])
        model.zero_grad(set_to_none=True)
        loss.backward()
        if a.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip)
        opt.step()
        if step % a.eval_every == 0:
            print(json.dumps({"step": step, "train_loss": evaluate(train, 10), "test_loss": evaluate(test), "seconds": time.perf_counter() - t0}), flush=True)


if __name__ == "__main__":
    main()
