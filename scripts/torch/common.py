"""Shared helpers for the PyTorch reference scripts in scripts/torch/: data, seeding, threads, arguments.

Not a script. The scripts next to it (bench.py, golden.py, parity.py, makemore.py) import it as
`import common`, which works because Python puts a script's own directory first on sys.path. The
directory has no __init__.py on purpose: it is called `torch`, and a regular package of that name
could shadow PyTorch for code run from scripts/.

Data follows makemore.py: one word per line, stripped, empty lines dropped; the vocabulary is the sorted
set of characters numbered from 1, with "." (0) as start/end token; the test set is the last
min(1000, 10%) words of torch.randperm; each word is encoded as X = [0, w…, 0…], Y = [w…, 0, -1…]
(-1: ignored by the loss).
"""
import argparse
import json
import os
import sys

import torch

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
NAMES = os.path.join(ROOT, "data", "names.txt")
NOVEL = os.path.join(ROOT, "data", "mysterious-island.txt")
SHAKESPEARE = os.path.join(ROOT, "data", "tinyshakespeare.txt")
FIXTURES = os.path.join(ROOT, "test", "fixtures")


# --- arguments ---------------------------------------------------------------------------------------

class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the docstring's layout and shows each option's default (unless it has none)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "%(default)" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text


def parser(doc):
    """An ArgumentParser whose --help is the script's docstring (what it writes, how to run it)."""
    return argparse.ArgumentParser(description=doc, formatter_class=_HelpFormatter)


def parse(ap, inputs=()):
    """Parses sys.argv. Bad flags exit 2 with the usage (argparse); a missing input file exits 1 with its path.

    `inputs` names the arguments (dest) that must be existing files.
    """
    args = ap.parse_args()
    for name in inputs:
        path = getattr(args, name)
        if not os.path.isfile(path):
            ap.exit(1, f"{ap.prog}: error: no such file: {path}\n")
    return args


def csv_list(kind=str):
    """argparse type for comma-separated values: "1,2,3" → [1, 2, 3]."""
    def convert(text):
        try:
            values = [kind(s) for s in text.split(",") if s.strip()]
        except ValueError:
            values = []
        if not values:
            raise argparse.ArgumentTypeError(f"expected comma-separated {kind.__name__} values, got {text!r}")
        return values
    convert.__name__ = f"comma-separated {kind.__name__} list"
    return convert


def positive_int(text):
    """argparse type: an integer > 0."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return n


def write_json(path, data, **dump_args):
    """Writes JSON to `path` (its directory created); "-" writes to stdout."""
    if path == "-":
        json.dump(data, sys.stdout, **dump_args)
        sys.stdout.write("\n")
        return
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(data, fh, **dump_args)


# --- seeding and threads -----------------------------------------------------------------------------

def seed(n):
    """Seeds PyTorch's global generator (what makemore.py's --seed does)."""
    torch.manual_seed(n)


def generator(n):
    """A separate CPU generator, seeded: for batches that must not disturb the global stream."""
    return torch.Generator().manual_seed(n)


def threads(n):
    """torch.set_num_threads(n). Run the scripts with OPENBLAS_NUM_THREADS=1 as well."""
    torch.set_num_threads(n)


# --- data --------------------------------------------------------------------------------------------

def load_words(path):
    """One word per line, stripped, empty lines dropped (makemore's create_datasets)."""
    with open(path, encoding="utf-8") as fh:
        return [w.strip() for w in fh.read().splitlines() if w.strip()]


def vocabulary(words):
    """Sorted characters numbered from 1; "." is 0. Returns (chars, stoi)."""
    chars = sorted(set("".join(words)))
    stoi = {c: i + 1 for i, c in enumerate(chars)}
    stoi["."] = 0
    return chars, stoi


def block_size(words):
    """makemore's block size: the longest word plus its end token."""
    return max(len(w) for w in words) + 1


def split(words):
    """makemore's split: the last min(1000, 10%) words of torch.randperm (global generator) are the test set."""
    n_test = min(1000, int(len(words) * 0.1))
    rp = torch.randperm(len(words)).tolist()
    return [words[i] for i in rp[:-n_test]], [words[i] for i in rp[-n_test:]]


def encode(words, stoi, T):
    """makemore's CharDataset for every word: X = [0, w…, 0…], Y = [w…, 0, -1…], each T long."""
    X = torch.zeros((len(words), T), dtype=torch.long)
    Y = torch.full((len(words), T), -1, dtype=torch.long)
    for i, w in enumerate(words):
        ix = torch.tensor([stoi[c] for c in w])
        X[i, 1:1 + len(ix)] = ix
        Y[i, :len(ix)] = ix
        Y[i, len(ix)] = 0
    return X, Y


def windows(words, stoi, block):
    """The lecture's MLP dataset: every `block` characters of context (padded with ".") → the next one."""
    X, Y = [], []
    for w in words:
        ctx = [0] * block
        for ch in w + ".":
            ix = stoi[ch]
            X.append(ctx)
            Y.append(ix)
            ctx = ctx[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y)


def load_novel(path):
    """The Mysterious Island without Project Gutenberg's header and licence; returns (text, chars, stoi)."""
    with open(path, encoding="utf-8-sig") as fh:
        text = fh.read()
    text = text[text.index("THE MYSTERIOUS ISLAND"):text.index("End of the Project Gutenberg")]
    chars = sorted(set(text))
    return text, chars, {c: i for i, c in enumerate(chars)}
