#!/usr/bin/env python3
"""PyTorch reference for scripts/benchmark.ts: the same training steps, timed the same way.

Run by the benchmark when Debian's python3-torch is installed (with OPENBLAS_NUM_THREADS=1 and
torch.set_num_threads(2), as a fair reference on a 2-core machine). Prints one JSON object:
{"torch": version, "threads": n, "cases": {name: {"median_ms": …, "steps": n}}}.
"""
import json
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(2)


def load_words(path):
    with open(path) as fh:
        return [w.strip() for w in fh.read().splitlines() if w.strip()]


def windows(words, stoi, block):
    X, Y = [], []
    for w in words:
        ctx = [0] * block
        for ch in w + ".":
            ix = stoi[ch]
            X.append(ctx)
            Y.append(ix)
            ctx = ctx[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y)


def timed(step, warmup, steps):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"median_ms": times[len(times) // 2], "steps": steps}


def bigram_case(words, stoi):
    X, Y = windows(words, stoi, 1)
    xs, ys = X[:, 0], Y
    g = torch.Generator().manual_seed(2147483647)
    W = torch.randn((27, 27), generator=g, requires_grad=True)
    xenc = F.one_hot(xs, 27).float()
    n = xs.nelement()

    def step():
        logits = xenc @ W
        counts = logits.exp()
        probs = counts / counts.sum(1, keepdim=True)
        loss = -probs[torch.arange(n), ys].log().mean() + 0.01 * (W ** 2).mean()
        W.grad = None
        loss.backward()
        W.data += -50 * W.grad
        return loss.item()
    return step


def mlp_case(words, stoi, batch_norm=False):
    X, Y = windows(words, stoi, 3)
    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((27, 10), generator=g)
    W1 = torch.randn((30, 200), generator=g) * ((5 / 3) / 30 ** 0.5 if batch_norm else 1)
    b1 = torch.randn(200, generator=g)
    W2 = torch.randn((200, 27), generator=g) * (0.01 if batch_norm else 1)
    b2 = torch.randn(27, generator=g) * (0 if batch_norm else 1)
    gain, bias = torch.ones((1, 200)), torch.zeros((1, 200))
    mean_running, std_running = torch.zeros((1, 200)), torch.ones((1, 200))
    params = [C, W1, W2, b2, gain, bias] if batch_norm else [C, W1, b1, W2, b2]
    for p in params:
        p.requires_grad = True

    def step():
        nonlocal mean_running, std_running
        ix = torch.randint(0, X.shape[0], (32,), generator=g)
        emb = C[X[ix]].view(-1, 30)
        if batch_norm:
            pre = emb @ W1
            m, s = pre.mean(0, keepdim=True), pre.std(0, keepdim=True)
            pre = gain * (pre - m) / s + bias
            with torch.no_grad():
                mean_running = 0.999 * mean_running + 0.001 * m
                std_running = 0.999 * std_running + 0.001 * s
        else:
            pre = emb @ W1 + b1
        logits = torch.tanh(pre) @ W2 + b2
        loss = F.cross_entropy(logits, Y[ix])
        for p in params:
            p.grad = None
        loss.backward()
        for p in params:
            p.data += -0.1 * p.grad
        return loss.item()
    return step


def lstm_case(text_path, embed, hidden, batch=64, seq=40):
    with open(text_path, encoding="utf-8-sig") as fh:
        text = fh.read()
    text = text[text.index("THE MYSTERIOUS ISLAND"):text.index("End of the Project Gutenberg")]
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    enc = torch.tensor([stoi[c] for c in text])
    g = torch.Generator().manual_seed(1)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(len(chars), embed)
            self.rnn = torch.nn.LSTM(embed, hidden, batch_first=True)
            self.fc = torch.nn.Linear(hidden, len(chars))

        def forward(self, x):
            out, _ = self.rnn(self.emb(x))
            return self.fc(out)

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=0.005)

    def step():
        starts = torch.randint(0, len(enc) - seq - 1, (batch,), generator=g)
        idx = starts[:, None] + torch.arange(seq + 1)[None, :]
        chunk = enc[idx]
        x, y = chunk[:, :-1], chunk[:, 1:]
        logits = net(x)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()
    return step


# --- makemore's models (same structure and sizes as lib/models/makemore.ts) ---------------------------
import math
import torch.nn as nn


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


def zoo_case(words, stoi, kind):
    T = max(len(w) for w in words) + 1
    X = torch.zeros((len(words), T), dtype=torch.long)
    Y = torch.full((len(words), T), -1, dtype=torch.long)
    for i, w in enumerate(words):
        ix = [stoi[c] for c in w]
        X[i, 1:1 + len(ix)] = torch.tensor(ix)
        Y[i, :len(ix)] = torch.tensor(ix)
        Y[i, len(ix)] = 0
    torch.manual_seed(3407)
    model = ZOO[kind](27, T, 64, 64, 4, 4)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.01, betas=(0.9, 0.99), eps=1e-8)
    g = torch.Generator().manual_seed(1)

    def step():
        ix = torch.randint(0, len(words), (32,), generator=g)
        logits = model(X[ix])
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), Y[ix].view(-1), ignore_index=-1)
        model.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def main():
    names = sys.argv[1] if len(sys.argv) > 1 else "data/names.txt"
    only = set(sys.argv[2].split(",")) if len(sys.argv) > 2 and sys.argv[2] else None
    novel = sys.argv[3] if len(sys.argv) > 3 else "data/mysterious-island.txt"
    words = load_words(names)
    chars = sorted(set("".join(words)))
    stoi = {c: i + 1 for i, c in enumerate(chars)}
    stoi["."] = 0
    cases = {
        "bigram-full-batch": (lambda: bigram_case(words, stoi), 3, 50),
        "mlp-batch32": (lambda: mlp_case(words, stoi), 50, 1000),
        "mlp-batchnorm-batch32": (lambda: mlp_case(words, stoi, True), 50, 1000),
        "lstm-e64-h128": (lambda: lstm_case(novel, 64, 128), 5, 50),
        "lstm-e256-h512": (lambda: lstm_case(novel, 256, 512), 3, 50),
    }
    for kind in ZOO:
        cases[f"zoo-{kind}"] = ((lambda k: lambda: zoo_case(words, stoi, k))(kind), 10, 100)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "cases": {}}
    for name, (make, warmup, steps) in cases.items():
        if only and name not in only:
            continue
        out["cases"][name] = timed(make(), warmup, steps)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
