#!/usr/bin/env python3
"""Writes test/fixtures/torch-transformer-steps.json: a small makemore transformer trained by PyTorch.

The fixture holds the initial weights (torch names), 40 minibatches of names.txt (makemore's X/Y with −1
padding) and the loss PyTorch computes at every AdamW step (lr 5e-4 × 10, weight decay 0.01, betas
0.9/0.99). test/models.test.ts loads the same weights into Sequentia's Transformer, trains on the same
batches and compares every step's loss: forward, backward (the fused attention, layer norm and GELU) and
the optimizer all have to agree for the losses to track.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/torch_parity.py
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from bench_torch import Transformer, load_words  # noqa: E402

torch.manual_seed(1234)
torch.set_num_threads(1)
V, T, E, L, H, B, STEPS, LR = 27, 16, 16, 2, 2, 8, 40, 5e-3
root = os.path.join(os.path.dirname(__file__), "..")
words = load_words(os.path.join(root, "data", "names.txt"))
stoi = {c: i + 1 for i, c in enumerate(sorted(set("".join(words))))}
model = Transformer(V, T, E, E, L, H)
init = {k: v.detach().flatten().tolist() for k, v in model.named_parameters()}  # parameters only: not the mask buffers
shapes = {k: list(v.shape) for k, v in model.named_parameters()}
opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01, betas=(0.9, 0.99), eps=1e-8)
batches, losses = [], []
for step in range(STEPS):
    ix = torch.randint(0, len(words), (B,))
    X = torch.zeros((B, T), dtype=torch.long)
    Y = torch.full((B, T), -1, dtype=torch.long)
    for r, i in enumerate(ix.tolist()):
        w = [stoi[c] for c in words[i]]
        X[r, 1:1 + len(w)] = torch.tensor(w)
        Y[r, :len(w)] = torch.tensor(w)
        Y[r, len(w)] = 0
    logits = model(X)
    loss = F.cross_entropy(logits.view(-1, V), Y.view(-1), ignore_index=-1)
    model.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    batches.append({"X": X.flatten().tolist(), "Y": Y.flatten().tolist()})
    losses.append(loss.item())
out = {"torch": torch.__version__, "config": {"vocabSize": V, "blockSize": T, "nEmbd": E, "nEmbd2": E, "nLayer": L, "nHead": H},
       "batch": B, "lr": LR, "weights": init, "shapes": shapes, "batches": batches, "losses": losses}
path = os.path.join(root, "test", "fixtures", "torch-transformer-steps.json")
with open(path, "w") as fh:
    json.dump(out, fh)
print(f"{path}: {STEPS} steps, loss {losses[0]:.4f} → {losses[-1]:.4f}; weights {sorted(init)}")
