#!/usr/bin/env python3
"""nanoGPT's train.py for a character-level GPT in PyTorch 1.13, on the same text and split as `npm run gpt`.

The reference beside Sequentia's trainer: the text's sorted characters as the vocabulary, the first 90 %
of the encoded text to train and the last 10 % to validate, get_batch's random windows, the warm-up and
cosine schedule, AdamW with decay on ≥2-D weights, gradients clipped, train and val loss every
--eval-interval iterations over --eval-iters batches (from iteration 0 to --max-iters, as train.py), and
the training time: the whole loop (evaluations included) and ms per iteration without them.
The defaults are configs/shakespeare-char-cpu.json (nanoGPT's README command for a CPU: its 20 evaluation
batches leave the val loss ±0.014; train.py's default of 200, --eval-iters 200, ±0.004); bias False,
nanoGPT's exact GELU unless --activation gelu-tanh (the config's choice).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/torch/gpt.py [--seed 1337]
"""
import os
import time

import torch

import common
import nanogpt

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = common.parser(__doc__)
    ap.add_argument("--input", metavar="FILE", default=os.path.join(ROOT, "data", "tinyshakespeare.txt"), help="UTF-8 text")
    ap.add_argument("--seed", type=int, default=1337, help="torch.manual_seed (train.py: 1337)")
    ap.add_argument("--threads", type=common.positive_int, default=1, help="torch.set_num_threads")
    ap.add_argument("--max-iters", type=common.positive_int, default=2000)
    ap.add_argument("--eval-interval", type=common.positive_int, default=250)
    ap.add_argument("--eval-iters", type=common.positive_int, default=20, help="batches per split in an evaluation (its README CPU command: 20; train.py: 200)")
    ap.add_argument("--batch-size", type=common.positive_int, default=12)
    ap.add_argument("--block-size", type=common.positive_int, default=64)
    ap.add_argument("--n-layer", type=common.positive_int, default=4)
    ap.add_argument("--n-head", type=common.positive_int, default=4)
    ap.add_argument("--n-embd", type=common.positive_int, default=128)
    ap.add_argument("--activation", choices=["gelu", "gelu-tanh", "relu"], default="gelu")
    ap.add_argument("--learning-rate", type=float, default=1e-3)
    ap.add_argument("--min-lr", type=float, default=1e-4)
    ap.add_argument("--warmup-iters", type=int, default=100)
    ap.add_argument("--lr-decay-iters", type=common.positive_int, default=2000)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--beta2", type=float, default=0.99)
    ap.add_argument("--grad-clip", type=float, default=1.0)
    a = common.parse(ap, inputs=["input"])
    common.threads(a.threads)
    common.seed(a.seed)
    with open(a.input, encoding="utf-8") as fh:
        text = fh.read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(len(data) * 0.9)
    splits = {"train": data[:n], "val": data[n:]}
    T, B = a.block_size, a.batch_size

    def get_batch(split):
        d = splits[split]
        ix = torch.randint(len(d) - T, (B,))
        return torch.stack([d[i:i + T] for i in ix]), torch.stack([d[i + 1:i + 1 + T] for i in ix])

    model = nanogpt.GPT(dict(vocab_size=len(chars), block_size=T, n_layer=a.n_layer, n_head=a.n_head,
                             n_embd=a.n_embd, dropout=0.0, bias=False, activation=a.activation, tie=True))
    print(f"{a.input}: {len(text):,} characters, {len(chars)} distinct; train {n:,}, val {len(data) - n:,}")
    print(f"number of parameters: {model.num_params() / 1e6:.2f}M; torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    opt = nanogpt.adamw(model, a.learning_rate, a.weight_decay, (0.9, a.beta2))

    @torch.no_grad()
    def estimate_loss():
        model.eval()
        out = {}
        for split in ("train", "val"):
            out[split] = sum(model(*get_batch(split))[1].item() for _ in range(a.eval_iters)) / a.eval_iters
        model.train()
        return out

    evals = 0.0
    t0 = time.perf_counter()
    X, Y = get_batch("train")
    it = 0
    while True:
        lr = nanogpt.get_lr(it, a.learning_rate, a.min_lr, a.warmup_iters, a.lr_decay_iters)
        for g in opt.param_groups:
            g["lr"] = lr
        if it % a.eval_interval == 0 or it == a.max_iters:
            e0 = time.perf_counter()
            losses = estimate_loss()
            evals += time.perf_counter() - e0
            print(f"step {it}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f} ({time.perf_counter() - t0:.1f} s)", flush=True)
        if it == a.max_iters:
            break
        _, loss = model(X, Y)
        X, Y = get_batch("train")
        loss.backward()
        if a.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        it += 1
    total = time.perf_counter() - t0
    print(f"{a.max_iters} iterations in {total:.1f} s with the evaluations; "
          f"{1000 * (total - evals) / a.max_iters:.1f} ms/iteration without them (evaluations {evals:.1f} s)")


if __name__ == "__main__":
    main()
