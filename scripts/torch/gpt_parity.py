#!/usr/bin/env python3
"""Writes test/fixtures/torch-gpt-steps.json: nanoGPT's GPT (nanogpt.py) and three AdamW steps in PyTorch.

Two small models — nanoGPT's options (tied head, no biases, exact GELU) and the lecture's (ReLU, biases,
an untied head with a bias, no bias on key/query/value) — each with its initial weights under nanoGPT's
names, the first batch's logits, the losses of three AdamW steps and the weights after the first, with
train.py's settings (betas 0.9/0.99, weight decay 0.1 on ≥2-D weights, gradients clipped, to norm 0.5 here so that the clip acts).
test/models/parity.test.ts loads the weights into lib/models/gpt.ts and compares.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/torch/gpt_parity.py
"""
import os

import torch

import common
import nanogpt

BASE = dict(vocab_size=65, block_size=16, n_layer=2, n_head=2, n_embd=16, dropout=0.0)
CONFIGS = {
    "nanogpt": dict(BASE, bias=False, activation="gelu", tie=True),
    "lecture": dict(BASE, bias=True, qkv_bias=False, head_bias=True, activation="relu", tie=False),
}
# the gradients' norm at the start is 0.78 and 0.96: a clip of 0.5 acts
B, STEPS, LR, CLIP = 4, 3, 1e-3, 0.5


def f32(t):
    """A tensor's values with 9 significant digits: enough for every float32 to read back exactly."""
    return [float("%.9g" % x) for x in t.detach().flatten().tolist()]


def run(c):
    model = nanogpt.GPT(c)
    weights = lambda: {k: f32(v) for k, v in model.named_parameters()}  # noqa: E731
    init = weights()
    shapes = {k: list(v.shape) for k, v in model.named_parameters()}
    opt = nanogpt.adamw(model, LR, 0.1, (0.9, 0.99))
    batches, losses = [], []
    for step in range(STEPS):
        X = torch.randint(0, c["vocab_size"], (B, c["block_size"]))
        Y = torch.randint(0, c["vocab_size"], (B, c["block_size"]))
        logits, loss = model(X, Y)
        if step == 0:
            first_logits = f32(logits)
        model.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        batches.append({"X": X.flatten().tolist(), "Y": Y.flatten().tolist()})
        losses.append(loss.item())
        if step == 0:
            after = weights()
    return {"config": c, "weights": init, "shapes": shapes, "logits": first_logits, "batches": batches,
            "losses": losses, "after": after}


def main():
    ap = common.parser(__doc__)
    ap.add_argument("--out", metavar="FILE", default=os.path.join(common.FIXTURES, "torch-gpt-steps.json"), help="JSON file to write")
    a = common.parse(ap)
    common.seed(1337)
    common.threads(1)
    out = {"torch": torch.__version__, "batch": B, "lr": LR, "clip": CLIP, "models": {k: run(c) for k, c in CONFIGS.items()}}
    common.write_json(a.out, out)
    for k, r in out["models"].items():
        print(f"{k}: losses {[round(x, 5) for x in r['losses']]}, {len(r['weights'])} tensors")


if __name__ == "__main__":
    main()
