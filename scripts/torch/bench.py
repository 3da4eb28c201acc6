#!/usr/bin/env python3
"""PyTorch reference for scripts/cli/benchmark.ts: the same training steps, timed the same way.

Prints one JSON object to stdout:
    {"torch": version, "threads": n, "blas": {"library": path, "core": name, "config": text},
     "cases": {name: {"median_ms": …, "steps": n}}}
Each case runs its warm-up steps, then times its steps one by one and reports the median. npm run
benchmark runs it when Debian's python3-torch is installed, once with one torch thread and once with two,
OPENBLAS_NUM_THREADS=1, and OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (PyTorch at its best here: those
two variables pin OpenBLAS to an older kernel). By hand, from anywhere:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \
        /usr/bin/python3 scripts/torch/bench.py [--threads 1] [--only zoo-bigram,mlp-batch32] [--list]
With --products '[["nn", M, N, K], …]' it times torch.mm on those shapes instead and prints
"products_gflops" (one rate per shape) in place of the cases.
"""
import ctypes
import json
import time

import torch
import torch.nn.functional as F

import common
import nanogpt
import zoo


def blas():
    """The BLAS library torch's products run on, and OpenBLAS's kernel and build (its core name)."""
    torch.ones(8, 8) @ torch.ones(8, 8)  # loads the library
    with open("/proc/self/maps") as maps:
        libs = sorted({line.split()[-1] for line in maps if "blas" in line.split()[-1]})
    for lib in libs:
        try:
            so = ctypes.CDLL(lib)
            core, config = so.openblas_get_corename, so.openblas_get_config
        except (OSError, AttributeError):
            continue
        core.restype = config.restype = ctypes.c_char_p
        return {"library": lib, "core": core().decode(), "config": config().decode().strip()}
    return {"library": ", ".join(libs) or "unknown", "core": "not OpenBLAS", "config": ""}


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
    X, Y = common.windows(words, stoi, 1)
    xs, ys = X[:, 0], Y
    g = common.generator(2147483647)
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
    X, Y = common.windows(words, stoi, 3)
    g = common.generator(2147483647)
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
    text, chars, stoi = common.load_novel(text_path)
    enc = torch.tensor([stoi[c] for c in text])
    g = common.generator(1)

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


def zoo_case(words, stoi, kind):
    T = common.block_size(words)
    X, Y = common.encode(words, stoi, T)
    common.seed(3407)
    model = zoo.create(kind, 27, T)
    opt = zoo.adamw(model)
    g = common.generator(1)

    def step():
        ix = torch.randint(0, len(words), (32,), generator=g)
        loss = zoo.model_loss(model, X[ix], Y[ix])
        model.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def gpt_case(text_path):
    """nanoGPT's CPU recipe for tiny Shakespeare (configs/shakespeare-char-cpu.json): one train.py iteration."""
    with open(text_path, encoding="utf-8") as fh:
        text = fh.read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text[:int(len(text) * 0.9)]])
    common.seed(1337)
    model = nanogpt.GPT(dict(vocab_size=len(chars), block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0,
                             bias=False, activation="gelu", tie=True))
    opt = nanogpt.adamw(model, 1e-3, 0.1, (0.9, 0.99))
    g = common.generator(1)

    def step():
        ix = torch.randint(len(data) - 64, (12,), generator=g)
        x = torch.stack([data[i:i + 64] for i in ix])
        y = torch.stack([data[i + 1:i + 65] for i in ix])
        _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    return step


def product_rates(shapes):
    """GFLOP/s of torch.mm for each [form, M, N, K] (nn: A B; tn: A stored [K, M], Aᵀ B; nt: B stored
    [N, K], A Bᵀ): the best of 5 rounds of at least 1e8 floating-point operations each."""
    rates = []
    for form, M, N, K in shapes:
        A = torch.randn(K, M).t() if form == "tn" else torch.randn(M, K)
        B = torch.randn(N, K).t() if form == "nt" else torch.randn(K, N)
        flops = 2 * M * N * K
        reps = max(1, -(-100_000_000 // flops))
        for _ in range(reps):
            torch.mm(A, B)
        best = 0.0
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(reps):
                torch.mm(A, B)
            best = max(best, reps * flops / (time.perf_counter() - t0) / 1e9)
        rates.append(best)
    return rates


def cases(names, novel):
    """name → (make the step, warm-up steps, timed steps); the data is loaded when a case is made."""
    words = common.load_words(names)
    _, stoi = common.vocabulary(words)
    out = {
        "bigram-full-batch": (lambda: bigram_case(words, stoi), 3, 50),
        "mlp-batch32": (lambda: mlp_case(words, stoi), 50, 1000),
        "mlp-batchnorm-batch32": (lambda: mlp_case(words, stoi, True), 50, 1000),
        "lstm-e64-h128": (lambda: lstm_case(novel, 64, 128), 5, 50),
        "lstm-e256-h512": (lambda: lstm_case(novel, 256, 512), 3, 50),
    }
    for kind in zoo.ZOO:
        out[f"zoo-{kind}"] = ((lambda k: lambda: zoo_case(words, stoi, k))(kind), 10, 100)
    out["gpt-shakespeare-cpu"] = (lambda: gpt_case(common.SHAKESPEARE), 10, 100)
    return out


def main():
    ap = common.parser(__doc__)
    ap.add_argument("--names", metavar="FILE", default=common.NAMES, help="one word per line")
    ap.add_argument("--novel", metavar="FILE", default=common.NOVEL, help="Project Gutenberg's The Mysterious Island (the LSTM cases)")
    ap.add_argument("--only", type=common.csv_list(), metavar="CASE,CASE", help="run only these cases (default: all; --list names them)")
    ap.add_argument("--threads", metavar="N", type=common.positive_int, default=2, help="torch.set_num_threads")
    ap.add_argument("--list", action="store_true", help="print the case names and exit")
    ap.add_argument("--products", metavar="JSON", type=json.loads, help="time torch.mm on these [form, M, N, K] instead of the cases (GFLOP/s)")
    a = common.parse(ap, inputs=["names", "novel"])
    common.threads(a.threads)
    all_cases = cases(a.names, a.novel)
    if a.list:
        print("\n".join(all_cases))
        return
    unknown = [name for name in a.only or [] if name not in all_cases]
    if unknown:
        ap.error(f"unknown case {', '.join(unknown)} (one of {', '.join(all_cases)})")
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas(), "cases": {}}
    if a.products is not None:
        out["products_gflops"] = product_rates(a.products)
        common.write_json("-", out)
        return
    for name, (make, warmup, steps) in all_cases.items():
        if a.only and name not in a.only:
            continue
        out["cases"][name] = timed(make(), warmup, steps)
    common.write_json("-", out)


if __name__ == "__main__":
    main()
