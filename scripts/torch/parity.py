#!/usr/bin/env python3
"""Writes test/fixtures/torch-transformer-steps.json: a small makemore transformer trained by PyTorch.

The fixture holds the initial weights (torch names), 40 minibatches of names.txt (makemore's X/Y with −1
padding) and the loss PyTorch computes at every AdamW step (lr 5e-4 × 10, weight decay 0.01, betas
0.9/0.99). test/models.test.ts loads the same weights into Sequentia's Transformer, trains on the same
batches and compares every step's loss: forward, backward (the fused attention, layer norm and GELU) and
the optimizer all have to agree for the losses to track.

Run from anywhere, with Debian's PyTorch 1.13 (apt-get install python3-torch):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/torch/parity.py [--out FILE]

The losses' last bits depend on the BLAS kernels OpenBLAS picks for the CPU. The committed fixture was
made with its SkylakeX kernels: OPENBLAS_CORETYPE=SkylakeX reproduces it byte for byte on a CPU with AVX-512; with
other kernels (an AMD EPYC gets Haswell's) weights and batches are identical and the losses differ by up to
4.8e-7 (the test allows 2e-5).
"""
import os

import torch

import common
import zoo

V, T, E, L, H, B, STEPS, LR = 27, 16, 16, 2, 2, 8, 40, 5e-3


def main():
    ap = common.parser(__doc__)
    ap.add_argument("--out", metavar="FILE", default=os.path.join(common.FIXTURES, "torch-transformer-steps.json"), help="JSON file to write")
    ap.add_argument("--names", metavar="FILE", default=common.NAMES, help="one word per line")
    a = common.parse(ap, inputs=["names"])
    common.seed(1234)
    common.threads(1)
    words = common.load_words(a.names)
    _, stoi = common.vocabulary(words)
    model = zoo.Transformer(V, T, E, E, L, H)
    init = {k: v.detach().flatten().tolist() for k, v in model.named_parameters()}  # parameters only: not the mask buffers
    shapes = {k: list(v.shape) for k, v in model.named_parameters()}
    opt = zoo.adamw(model, lr=LR)
    batches, losses = [], []
    for _ in range(STEPS):
        ix = torch.randint(0, len(words), (B,))
        X, Y = common.encode([words[i] for i in ix.tolist()], stoi, T)
        loss = zoo.loss(model(X), Y)
        model.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        batches.append({"X": X.flatten().tolist(), "Y": Y.flatten().tolist()})
        losses.append(loss.item())
    out = {"torch": torch.__version__, "config": {"vocabSize": V, "blockSize": T, "nEmbd": E, "nEmbd2": E, "nLayer": L, "nHead": H},
           "batch": B, "lr": LR, "weights": init, "shapes": shapes, "batches": batches, "losses": losses}
    common.write_json(a.out, out)
    print(f"{a.out}: {STEPS} steps, loss {losses[0]:.4f} → {losses[-1]:.4f}; weights {sorted(init)}")


if __name__ == "__main__":
    main()
