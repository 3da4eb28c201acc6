"""makemore's model zoo in PyTorch: bigram, MLP, RNN/GRU/LSTM cells, bag of words, transformer.

Not a script: bench.py, parity.py and makemore.py import it (`import zoo`). The models have the same
structure and sizes as lib/models/zoo/ (test/models/parity.test.ts maps the transformer's parameter names
to Sequentia's). Every constructor takes (V vocabulary size, T block size, E n_embd, E2 n_embd2,
L n_layer, H n_head).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Bigram(nn.Module):
    def __init__(self, V, T, E, E2, L, H):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros((V, V)))

    def forward(self, idx):
        return self.logits[idx]


class MLP(nn.Module):
    def __init__(self, V, T, E, E2, L, H):
        super().__init__()
        self.T, self.V = T, V
        self.wte = nn.Embedding(V + 1, E)
        self.mlp = nn.Sequential(nn.Linear(T * E, E2), nn.Tanh(), nn.Linear(E2, V))

    def forward(self, idx):
        embs = []
        for _ in range(self.T):
            embs.append(self.wte(idx))
            idx = torch.roll(idx, 1, 1)
            idx[:, 0] = self.V
        return self.mlp(torch.cat(embs, -1))


class Cell(nn.Module):
    """One recurrent step: kind "rnn" (tanh), "gru" or "lstm" (c is the LSTM's cell state, unused otherwise)."""

    def __init__(self, E, E2, kind):
        super().__init__()
        self.kind = kind
        if kind == "rnn":
            self.xh_to_h = nn.Linear(E + E2, E2)
        elif kind == "gru":
            self.xh_to_z = nn.Linear(E + E2, E2)
            self.xh_to_r = nn.Linear(E + E2, E2)
            self.xh_to_hbar = nn.Linear(E + E2, E2)
        else:
            self.xh_to_gates = nn.Linear(E + E2, 4 * E2)

    def forward(self, x, h, c):
        xh = torch.cat([x, h], 1)
        if self.kind == "rnn":
            return torch.tanh(self.xh_to_h(xh)), c
        if self.kind == "gru":
            r = torch.sigmoid(self.xh_to_r(xh))
            hbar = torch.tanh(self.xh_to_hbar(torch.cat([x, r * h], 1)))
            z = torch.sigmoid(self.xh_to_z(xh))
            return (1 - z) * h + z * hbar, c
        i, f, o, g = self.xh_to_gates(xh).chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


class RNN(nn.Module):
    def __init__(self, V, T, E, E2, L, H, kind="rnn"):
        super().__init__()
        self.start = nn.Parameter(torch.zeros(1, E2))
        self.wte = nn.Embedding(V, E)
        self.cell = Cell(E, E2, kind)
        self.lm_head = nn.Linear(E2, V)

    def forward(self, idx):
        b, t = idx.size()
        emb = self.wte(idx)
        h = self.start.expand((b, -1))
        c = torch.zeros_like(h)
        hs = []
        for i in range(t):
            h, c = self.cell(emb[:, i, :], h, c)
            hs.append(h)
        return self.lm_head(torch.stack(hs, 1))


class BoW(nn.Module):
    def __init__(self, V, T, E, E2, L, H):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, E), nn.Embedding(T, E)
        self.c_fc, self.c_proj = nn.Linear(E, E2), nn.Linear(E2, E)
        self.lm_head = nn.Linear(E, V)
        self.register_buffer("bias", torch.tril(torch.ones(T, T)).view(1, T, T))

    def forward(self, idx):
        b, t = idx.size()
        x = self.wte(idx) + self.wpe(torch.arange(t).unsqueeze(0))
        att = torch.zeros((b, t, t)).masked_fill(self.bias[:, :t, :t] == 0, float("-inf"))
        x = x + F.softmax(att, dim=-1) @ x
        x = x + self.c_proj(torch.tanh(self.c_fc(x)))
        return self.lm_head(x)


class Block(nn.Module):
    """A transformer block: causal self-attention and a GELU (tanh approximation) MLP, both pre-norm."""

    def __init__(self, E, H, T):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(E), nn.LayerNorm(E)
        self.c_attn, self.c_proj = nn.Linear(E, 3 * E), nn.Linear(E, E)
        self.c_fc, self.mlp_proj = nn.Linear(E, 4 * E), nn.Linear(4 * E, E)
        self.H = H
        self.register_buffer("bias", torch.tril(torch.ones(T, T)).view(1, 1, T, T))

    def attn(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = [t.view(B, T, self.H, C // self.H).transpose(1, 2) for t in (q, k, v)]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = F.softmax(att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf")), dim=-1)
        return self.c_proj((att @ v).transpose(1, 2).contiguous().view(B, T, C))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        h = self.c_fc(self.ln_2(x))
        h = 0.5 * h * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * torch.pow(h, 3.0))))
        return x + self.mlp_proj(h)


class Transformer(nn.Module):
    def __init__(self, V, T, E, E2, L, H):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, E), nn.Embedding(T, E)
        self.h = nn.ModuleList([Block(E, H, T) for _ in range(L)])
        self.ln_f = nn.LayerNorm(E)
        self.lm_head = nn.Linear(E, V, bias=False)

    def forward(self, idx):
        b, t = idx.size()
        x = self.wte(idx) + self.wpe(torch.arange(t).unsqueeze(0))
        for blk in self.h:
            x = blk(x)
        return self.lm_head(self.ln_f(x))


ZOO = {"bigram": Bigram, "mlp": MLP, "rnn": RNN, "gru": lambda *a: RNN(*a, kind="gru"),
       "lstm": lambda *a: RNN(*a, kind="lstm"), "bow": BoW, "transformer": Transformer}


def create(kind, V, T, E=64, E2=64, L=4, H=4):
    """A model of the zoo at makemore's defaults (n_embd 64, n_embd2 64, n_layer 4, n_head 4)."""
    if kind not in ZOO:
        raise ValueError(f"unknown model type {kind!r} (one of {', '.join(ZOO)})")
    return ZOO[kind](V, T, E, E2, L, H)


def adamw(model, lr=5e-4):
    """makemore's optimizer: AdamW, weight decay 0.01, betas 0.9/0.99, eps 1e-8."""
    return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.99), eps=1e-8)


def loss(logits, Y):
    """Cross-entropy over every position, positions with target -1 ignored (makemore's padding)."""
    return F.cross_entropy(logits.view(-1, logits.size(-1)), Y.view(-1), ignore_index=-1)
