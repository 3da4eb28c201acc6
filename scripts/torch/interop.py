#!/usr/bin/env python3
"""Sequentia's saved models in PyTorch and back: model.safetensors + config.json + vocab.json.

  check DIR       loads a folder Sequentia saved (plus DIR/logits.json: {"idx": [[…]], "logits": […] nested or flat},
                  Sequentia's logits on a fixed batch) into the PyTorch reference model of scripts/torch/zoo.py
                  (strict load_state_dict), compares the logits (max |Δ| / max |logit| ≤ 1e-5, else exit 1),
                  and writes DIR/torch/: the same model's state_dict saved by PyTorch, with PyTorch's logits
                  in logits.json, for Sequentia to load and compare (the way back).
  fixtures [--out DIR]   writes test/fixtures/interop/<type>/ for each zoo type: a tiny PyTorch-initialised
                  model (seed 0) saved from its state_dict, config.json, vocab.json and logits.json; npm test
                  loads them (PyTorch → Sequentia) and checks that Sequentia writes the same tensors back
                  (Sequentia → PyTorch) without PyTorch installed.

The names are makemore.py's state_dict names; zoo.py names two models' modules differently (its transformer
has no `transformer.` dict and flat block layers, its BoW no context_block), so TO_ZOO maps them. Debian has
no python3-safetensors: the format is read and written here with json, struct and torch.frombuffer.

Run from anywhere, with Debian's PyTorch 1.13:
    /usr/bin/python3 scripts/torch/interop.py fixtures
    /usr/bin/python3 scripts/torch/interop.py check out/names/latest/model-with-logits
"""
import json
import os
import re
import shutil
import struct
import sys

import torch

import common
import zoo

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}
NAMES = {v: k for k, v in DTYPES.items()}
SIZES = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8}

# makemore.py's names → zoo.py's, for the two models whose modules zoo.py names otherwise (first match wins)
TO_ZOO = {
    "transformer": [
        (r"^transformer\.h\.(\d+)\.attn\.bias$", r"h.\1.bias"),
        (r"^transformer\.h\.(\d+)\.attn\.(c_attn|c_proj)\.", r"h.\1.\2."),
        (r"^transformer\.h\.(\d+)\.mlp\.c_fc\.", r"h.\1.c_fc."),
        (r"^transformer\.h\.(\d+)\.mlp\.c_proj\.", r"h.\1.mlp_proj."),
        (r"^transformer\.", ""),
    ],
    "bow": [(r"^context_block\.cbow\.bias$", "bias"), (r"^context_block\.mlp\.", "")],
}
FROM_ZOO = {
    "transformer": [
        (r"^h\.(\d+)\.bias$", r"transformer.h.\1.attn.bias"),
        (r"^h\.(\d+)\.(c_attn|c_proj)\.", r"transformer.h.\1.attn.\2."),
        (r"^h\.(\d+)\.c_fc\.", r"transformer.h.\1.mlp.c_fc."),
        (r"^h\.(\d+)\.mlp_proj\.", r"transformer.h.\1.mlp.c_proj."),
        (r"^h\.(\d+)\.(ln_1|ln_2)\.", r"transformer.h.\1.\2."),
        (r"^(wte|wpe|ln_f)\.", r"transformer.\1."),
    ],
    "bow": [(r"^bias$", "context_block.cbow.bias"), (r"^(c_fc|c_proj)\.", r"context_block.mlp.\1.")],
}
# tiny sizes for the fixtures: vocabulary 7, block 5, n_embd 4, n_embd2 8, 2 layers, 2 heads
TINY = dict(vocab_size=7, block_size=5, n_layer=2, n_embd=4, n_embd2=8, n_head=2)


def rename(name, rules):
    for pattern, to in rules:
        if re.search(pattern, name):
            return re.sub(pattern, to, name)
    return name


def read_safetensors(path):
    """name → tensor, and the metadata, of a safetensors file (checked as far as this tool needs)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        sys.exit(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[8 + n + b:8 + n + end]), dtype=DTYPES[e["dtype"]])
        out[name] = t.reshape(e["shape"]).clone()
    return out, meta


def write_safetensors(path, tensors, metadata=None):
    """A safetensors file as save_file writes it: LE header length, JSON header padded with spaces to 8 bytes."""
    header, chunks, offset = ({"__metadata__": metadata} if metadata else {}), [], 0
    for name, t in tensors.items():
        b = t.detach().contiguous().cpu().numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def build(config):
    """zoo.py's model for config.json's model_type and makemore ModelConfig fields (eval mode)."""
    c = config
    model = zoo.create(c["model_type"], c["vocab_size"], c["block_size"], c["n_embd"], c["n_embd2"], c["n_layer"], c["n_head"])
    return model.eval()


def load_into(model, kind, tensors):
    """makemore-named tensors into a zoo model, strictly (every parameter and buffer, nothing else)."""
    state = {rename(k, TO_ZOO.get(kind, [])): v for k, v in tensors.items()}
    model.load_state_dict(state, strict=True)


def makemore_state(model, kind):
    """A zoo model's state_dict under makemore.py's names."""
    return {rename(k, FROM_ZOO.get(kind, [])): v for k, v in model.state_dict().items()}


def logits_of(model, idx):
    with torch.no_grad():
        return model(torch.tensor(idx, dtype=torch.long))


def relative(a, b):
    return ((a - b).abs().max() / b.abs().max()).item(), (a - b).abs().max().item()


def save_dir(out, model, config, itos, idx):
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "model.safetensors"), makemore_state(model, config["model_type"]), {"format": "pt"})
    common.write_json(os.path.join(out, "config.json"), config, indent=2)
    common.write_json(os.path.join(out, "vocab.json"), {"itos": itos, "boundary": "."})
    common.write_json(os.path.join(out, "logits.json"), {"idx": idx, "logits": logits_of(model, idx).tolist()})


def check(d):
    with open(os.path.join(d, "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(d, "vocab.json")) as f:
        itos = json.load(f)["itos"]
    with open(os.path.join(d, "logits.json")) as f:
        ours = json.load(f)
    tensors, meta = read_safetensors(os.path.join(d, "model.safetensors"))
    model = build(config)
    load_into(model, config["model_type"], tensors)
    got = logits_of(model, ours["idx"])
    rel, diff = relative(got, torch.tensor(ours["logits"]).reshape(got.shape))  # nested or flat
    print(f"{d}: {config['model_type']} ({len(tensors)} tensors, metadata {sorted(meta)}) loads into zoo.py strictly; "
          f"logits on a [{len(ours['idx'])}, {len(ours['idx'][0])}] batch: max |Δ| {diff:.3g}, relative {rel:.3g}")
    save_dir(os.path.join(d, "torch"), model, config, itos, ours["idx"])
    print(f"{os.path.join(d, 'torch')}: written by PyTorch for the way back")
    if rel > 1e-5:
        sys.exit(f"{d}: the logits differ by {rel:.3g} (relative), more than 1e-5")


def fixtures(out):
    common.threads(1)
    itos = ["."] + [chr(ord("a") + i) for i in range(TINY["vocab_size"] - 1)]
    g = torch.Generator().manual_seed(1)
    idx = torch.randint(0, TINY["vocab_size"], (2, TINY["block_size"]), generator=g).tolist()
    for kind in ["bigram", "mlp", "rnn", "gru", "lstm", "bow", "transformer", "wavenet"]:
        torch.manual_seed(0)
        config = {"model_type": kind, **TINY}
        model = build(config)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if kind == "bigram" or name.startswith("start"):  # zeros at init: give the lookup something to look up
                    p.copy_(torch.randn(p.shape, generator=g))
            for m in model.modules():  # BatchNorm: running statistics that are not 0 and 1
                if isinstance(m, torch.nn.BatchNorm1d):
                    m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                    m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
        d = os.path.join(out, kind)
        shutil.rmtree(d, ignore_errors=True)
        save_dir(d, model, config, itos, idx)
        size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
        print(f"{d}: {kind}, {sum(p.numel() for p in model.parameters())} parameters, {size} bytes")


def main():
    ap = common.parser(__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="load a Sequentia folder (with logits.json) into zoo.py, compare, write DIR/torch")
    c.add_argument("dir")
    f = sub.add_parser("fixtures", help="write test/fixtures/interop/")
    f.add_argument("--out", default=os.path.join(common.FIXTURES, "interop"))
    a = ap.parse_args()
    if a.cmd == "check":
        check(a.dir)
    else:
        fixtures(a.out)


if __name__ == "__main__":
    main()
