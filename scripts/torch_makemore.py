#!/usr/bin/env python3
"""PyTorch reference run for issue 6's target: makemore's transformer at its defaults on names.txt.

Same data pipeline as makemore.py (torch.manual_seed(3407); the last 1,000 names of torch.randperm are
the test set; batches drawn with replacement), the same model as scripts/bench_torch.py, AdamW
(lr 5e-4, weight decay 0.01, betas 0.9/0.99). Every --eval-every steps it prints one JSON line with the
train loss (10 batches of 100, as makemore) and the test loss (all 1,000 test names).

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/torch_makemore.py --max-steps 20000 > out/torch-transformer.jsonl
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

from bench_torch import Transformer, load_words


def encode(words, stoi, T):
    X = torch.zeros((len(words), T), dtype=torch.long)
    Y = torch.full((len(words), T), -1, dtype=torch.long)
    for i, w in enumerate(words):
        ix = torch.tensor([stoi[c] for c in w])
        X[i, 1:1 + len(ix)] = ix
        Y[i, :len(ix)] = ix
        Y[i, len(ix)] = 0
    return X, Y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", default="data/names.txt")
    ap.add_argument("--max-steps", type=int, default=20000)
    ap.add_argument("--eval-every", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=3407)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--init-seed", type=int, default=None, help="reseed after the split: same test set, another initialisation and batch order")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    words = load_words(a.input)
    chars = sorted(set("".join(words)))
    stoi = {c: i + 1 for i, c in enumerate(chars)}
    T = max(len(w) for w in words) + 1
    n_test = min(1000, int(len(words) * 0.1))
    rp = torch.randperm(len(words)).tolist()
    train = encode([words[i] for i in rp[:-n_test]], stoi, T)
    test = encode([words[i] for i in rp[-n_test:]], stoi, T)
    if a.init_seed is not None:
        torch.manual_seed(a.init_seed)
    model = Transformer(len(chars) + 1, T, 64, 64, 4, 4)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.01, betas=(0.9, 0.99), eps=1e-8)

    def loss_of(X, Y):
        logits = model(X)
        return F.cross_entropy(logits.view(-1, logits.size(-1)), Y.view(-1), ignore_index=-1)

    @torch.no_grad()
    def evaluate(data, batches=None):
        model.eval()
        X, Y = data
        if batches is None:
            out = loss_of(X, Y).item()
        else:
            out = sum(loss_of(X[ix], Y[ix]).item() for ix in (torch.randint(0, len(X), (100,)) for _ in range(batches))) / batches
        model.train()
        return out

    t0 = time.perf_counter()
    for step in range(1, a.max_steps + 1):
        ix = torch.randint(0, len(train[0]), (32,))
        loss = loss_of(train[0][ix], train[1][ix])
        model.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % a.eval_every == 0:
            print(json.dumps({"step": step, "train_loss": evaluate(train, 10), "test_loss": evaluate(test), "seconds": time.perf_counter() - t0}), flush=True)


if __name__ == "__main__":
    main()
