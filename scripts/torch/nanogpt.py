"""nanoGPT's GPT (karpathy/nanoGPT model.py) in PyTorch, with the options lib/models/gpt.ts has.

Not a script: gpt.py, gpt_parity.py and bench.py import it (`import nanogpt`). Parameter names are
nanoGPT's (transformer.wte.weight, transformer.h.0.attn.c_attn.weight, …, lm_head.weight), so a state
dict moves between the two by name (GPT.stateDict() in TypeScript; Linear weights transposed there).
Options beyond nanoGPT's: activation "gelu" (its exact nn.GELU), "gelu-tanh" or "relu" (the lecture's
gpt.py), qkv_bias / head_bias (the lecture: no bias on key/query/value, one on lm_head), tie=False.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class LayerNorm(nn.Module):
    """F.layer_norm with an optional bias (nn.LayerNorm in 1.13 has none to leave out)."""

    def __init__(self, n, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.bias = nn.Parameter(torch.zeros(n)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class SelfAttention(nn.Module):
    """Causal multi-head attention: q, k, v from one Linear (c_attn), heads side by side, c_proj after."""

    def __init__(self, c):
        super().__init__()
        self.n_head, self.n_embd, self.p = c["n_head"], c["n_embd"], c["dropout"]
        self.c_attn = nn.Linear(c["n_embd"], 3 * c["n_embd"], bias=c.get("qkv_bias", c["bias"]))
        self.c_proj = nn.Linear(c["n_embd"], c["n_embd"], bias=c["bias"])
        T = c["block_size"]
        self.register_buffer("mask", torch.tril(torch.ones(T, T)).view(1, 1, T, T), persistent=False)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        heads = lambda t: t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # noqa: E731
        q, k, v = heads(q), heads(k), heads(v)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.mask[:, :, :T, :T] == 0, float("-inf")).softmax(dim=-1)
        att = F.dropout(att, self.p, self.training)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return F.dropout(self.c_proj(y), self.p, self.training)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = nn.Linear(c["n_embd"], 4 * c["n_embd"], bias=c["bias"])
        act = c.get("activation", "gelu")
        self.act = nn.ReLU() if act == "relu" else nn.GELU(approximate="tanh" if act == "gelu-tanh" else "none")
        self.c_proj = nn.Linear(4 * c["n_embd"], c["n_embd"], bias=c["bias"])
        self.p = c["dropout"]

    def forward(self, x):
        return F.dropout(self.c_proj(self.act(self.c_fc(x))), self.p, self.training)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = LayerNorm(c["n_embd"], c["bias"])
        self.attn = SelfAttention(c)
        self.ln_2 = LayerNorm(c["n_embd"], c["bias"])
        self.mlp = MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """c: vocab_size, block_size, n_layer, n_head, n_embd, dropout, bias, and the options above."""

    def __init__(self, c):
        super().__init__()
        self.c = dict(c)
        E = c["n_embd"]
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(c["vocab_size"], E),
            wpe=nn.Embedding(c["block_size"], E),
            h=nn.ModuleList([Block(c) for _ in range(c["n_layer"])]),
            ln_f=LayerNorm(E, c["bias"]),
        ))
        tie = c.get("tie", True)
        self.lm_head = nn.Linear(E, c["vocab_size"], bias=c.get("head_bias", False) and not tie)
        if tie:
            self.transformer.wte.weight = self.lm_head.weight
        # nanoGPT's initialisation: N(0, 0.02) for Linear and Embedding weights, zero biases, and the
        # residual projections (c_proj) N(0, 0.02/sqrt(2 n_layer))
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, 0.0, 0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * c["n_layer"]))

    def num_params(self, non_embedding=True):
        """nanoGPT's get_num_params: without the position table by default."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.transformer.wpe.weight.numel() if non_embedding else n

    def forward(self, idx, targets=None):
        T = idx.size(1)
        x = F.dropout(self.transformer.wte(idx) + self.transformer.wpe(torch.arange(T)), self.c["dropout"], self.training)
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss


def adamw(model, lr, weight_decay, betas):
    """nanoGPT's configure_optimizers: weight decay on parameters of 2 or more dimensions only."""
    ps = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in ps if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in ps if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr, betas=betas)


def get_lr(it, lr, min_lr, warmup_iters, lr_decay_iters):
    """nanoGPT's train.py schedule: linear warm-up, cosine decay to min_lr at lr_decay_iters, then min_lr."""
    if it < warmup_iters:
        return lr * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)
