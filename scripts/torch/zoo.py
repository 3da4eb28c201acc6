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


def _dropout(p):
    """nn.Dropout(p), or nothing at all for p = 0 (so no random numbers are drawn)."""
    return nn.Dropout(p) if p > 0 else nn.Identity()


class Block(nn.Module):
    """A transformer block: causal self-attention and a GELU (tanh approximation) MLP, both pre-norm.

    dropout > 0 (makemore's June 2022 version): on the attention weights, after the attention's output
    projection and after the MLP.
    """

    def __init__(self, E, H, T, dropout=0.0):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(E), nn.LayerNorm(E)
        self.c_attn, self.c_proj = nn.Linear(E, 3 * E), nn.Linear(E, E)
        self.c_fc, self.mlp_proj = nn.Linear(E, 4 * E), nn.Linear(4 * E, E)
        self.attn_drop, self.resid_drop, self.mlp_drop = _dropout(dropout), _dropout(dropout), _dropout(dropout)
        self.H = H
        self.register_buffer("bias", torch.tril(torch.ones(T, T)).view(1, 1, T, T))

    def attn(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = [t.view(B, T, self.H, C // self.H).transpose(1, 2) for t in (q, k, v)]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = self.attn_drop(F.softmax(att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf")), dim=-1))
        return self.resid_drop(self.c_proj((att @ v).transpose(1, 2).contiguous().view(B, T, C)))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        h = self.c_fc(self.ln_2(x))
        h = 0.5 * h * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * torch.pow(h, 3.0))))
        return x + self.mlp_drop(self.mlp_proj(h))


class Transformer(nn.Module):
    def __init__(self, V, T, E, E2, L, H, dropout=0.0):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, E), nn.Embedding(T, E)
        self.drop = _dropout(dropout)
        self.h = nn.ModuleList([Block(E, H, T, dropout) for _ in range(L)])
        self.ln_f = nn.LayerNorm(E)
        self.lm_head = nn.Linear(E, V, bias=False)

    def forward(self, idx):
        b, t = idx.size()
        x = self.drop(self.wte(idx) + self.wpe(torch.arange(t).unsqueeze(0)))
        for blk in self.h:
            x = blk(x)
        return self.lm_head(self.ln_f(x))


class WaveNet(nn.Module):
    """The WaveNet lecture's model on makemore's sequences (lib/models/zoo/wavenet.ts): at every position, the
    window of the last 2^L tokens (0 before the start) → Embedding → L levels of (fuse pairs → Linear without
    bias → BatchNorm over every row and step → tanh) → Linear. `loss` runs only the scored positions, so
    BatchNorm's batch statistics are over real windows."""

    def __init__(self, V, T, E=24, E2=128, L=3, H=None):
        super().__init__()
        self.n = 2 ** L
        self.wte = nn.Embedding(V, E)
        self.levels = nn.ModuleList()
        width = E
        for _ in range(L):
            self.levels.append(nn.ModuleList([nn.Linear(2 * width, E2, bias=False), nn.BatchNorm1d(E2)]))
            width = E2
        self.head = nn.Linear(E2, V)

    def windows(self, idx):
        B, T = idx.size()
        padded = torch.cat([torch.zeros(B, self.n - 1, dtype=idx.dtype), idx], dim=1)
        return padded.unfold(1, self.n, 1)  # [B, T, n]: the window ending at each position

    def net(self, w):
        x = self.wte(w)  # [N, n, E]
        for lin, bn in self.levels:
            N, t, C = x.shape
            x = x.reshape(N, t // 2, 2 * C) if t > 2 else x.reshape(N, 2 * C)
            x = lin(x)
            x = torch.tanh(bn(x.transpose(1, 2)).transpose(1, 2) if x.dim() == 3 else bn(x))
        return self.head(x)

    def forward(self, idx):
        B, T = idx.size()
        return self.net(self.windows(idx).reshape(B * T, self.n)).view(B, T, -1)

    def loss(self, idx, Y):
        keep = Y.view(-1) != -1
        return F.cross_entropy(self.net(self.windows(idx).reshape(-1, self.n)[keep]), Y.view(-1)[keep])


ZOO = {"bigram": Bigram, "mlp": MLP, "rnn": RNN, "gru": lambda *a: RNN(*a, kind="gru"),
       "lstm": lambda *a: RNN(*a, kind="lstm"), "bow": BoW, "transformer": Transformer,
       "wavenet": WaveNet}


def create(kind, V, T, E=64, E2=64, L=4, H=4, dropout=0.0, init="torch"):
    """A model of the zoo at makemore's defaults (n_embd 64, n_embd2 64, n_layer 4, n_head 4).

    The transformer also takes makemore's June 2022 settings: dropout, and init="gpt" (minGPT's: every
    Linear and Embedding weight ~ N(0, 0.02), biases 0; LayerNorm 1 and 0).
    """
    if kind not in ZOO:
        raise ValueError(f"unknown model type {kind!r} (one of {', '.join(ZOO)})")
    if kind == "wavenet":  # the lecture's sizes unless given: context 8 (3 levels), n_embd 24, n_hidden 128
        return WaveNet(V, T, *((24, 128, 3) if (E, E2, L) == (64, 64, 4) else (E, E2, L)))
    if kind != "transformer":
        if dropout or init != "torch":
            raise ValueError("dropout and init='gpt' are the transformer's only")
        return ZOO[kind](V, T, E, E2, L, H)
    model = Transformer(V, T, E, E2, L, H, dropout)
    if init == "gpt":
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, mean=0.0, std=0.02)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    nn.init.zeros_(m.bias)
    return model


def adamw(model, lr=5e-4, weight_decay=0.01, decay="all"):
    """makemore's optimizer: AdamW, betas 0.9/0.99, eps 1e-8; weight decay 0.01 on every parameter.

    decay="linear" is minGPT's grouping (makemore's June 2022 version): only Linear weights decay;
    biases, LayerNorm and embedding weights don't.
    """
    if decay == "all":
        groups = model.parameters()
    else:
        linear = {id(m.weight) for m in model.modules() if isinstance(m, nn.Linear)}
        groups = [
            {"params": [p for p in model.parameters() if id(p) in linear], "weight_decay": weight_decay},
            {"params": [p for p in model.parameters() if id(p) not in linear], "weight_decay": 0.0},
        ]
    return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay, betas=(0.9, 0.99), eps=1e-8)


def model_loss(model, X, Y):
    """A model's training loss on a batch: its own `loss` if it has one (WaveNet), else `loss` of its logits."""
    return model.loss(X, Y) if hasattr(model, "loss") else loss(model(X), Y)


def loss(logits, Y):
    """Cross-entropy over every position, positions with target -1 ignored (makemore's padding)."""
    return F.cross_entropy(logits.view(-1, logits.size(-1)), Y.view(-1), ignore_index=-1)
