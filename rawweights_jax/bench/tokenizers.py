"""`rawweights bench tokenizers`: characters per token of byte-level BPE by vocabulary size, and
a character model against BPE models trained for the same FLOPs, in bits per character.

A loss per token cannot compare tokenizers: a BPE token carries more text than a character,
so it is harder to guess. Bits per character can: the validation text's total negative
log-likelihood (every token predicted, in nats) over its characters, divided by ln 2. The
models share the CPU preset's shape (4 layers, width 128, 64 tokens of context, 12 sequences
a step) and differ only in their vocabulary; each trains for the steps that give it the same
training FLOPs as the character model's (analysis/counts.py; a larger vocabulary costs more per
token, so it gets fewer steps). Same tokens per step means a BPE model reads more characters
per step and sees more characters of context: that is what a tokenizer buys, and it is counted
in its favour here.
"""

from __future__ import annotations

import math
import time

import jax
import numpy as np
from flax import nnx
from jax.sharding import Mesh

from rawweights_jax.bench.common import environment, print_table
from rawweights_jax.bench.train import train_flops_per_token
from rawweights_jax.config import preset
from rawweights_jax.data.bpe import train_bpe
from rawweights_jax.data.shakespeare import Dataset, shakespeare_text, split_text
from rawweights_jax.data.tokenizer import CharTokenizer, Tokenizer
from rawweights_jax.train.loop import train
from rawweights_jax.train.loss import cross_entropy

PRESET = "shakespeare-char-cpu"


def chars_per_token(vocab_sizes, train_text: str, val_text: str) -> dict[str, float]:
    """{vocab: characters of `val_text` per token} of BPEs trained on `train_text`."""
    out = {}
    for v in vocab_sizes:
        out[str(v)] = round(len(val_text) / len(train_bpe(train_text, v).encode(val_text)), 4)
    return out


@nnx.jit
def _nats(model, x_BT, y_BT):
    return cross_entropy(model(x_BT), y_BT) * y_BT.size


# --8<-- [start:bpc]
def bits_per_char(model, tokenizer: Tokenizer, text: str, context: int, batch: int = 64) -> dict:
    """Negative log-likelihood of `text` in bits per character: the tokens cut into windows
    of `context` (each token predicted once, from the tokens before it in its window)."""
    tokens_Z = np.asarray(tokenizer.encode(text), np.int32)
    n = (len(tokens_Z) - 1) // context
    x_NT = tokens_Z[:n * context].reshape(n, context)
    y_NT = tokens_Z[1:n * context + 1].reshape(n, context)
    nats = sum(float(_nats(model, x_NT[i:i + batch], y_NT[i:i + batch])) for i in range(0, n, batch))
    chars = len(tokenizer.decode(y_NT.reshape(-1)))      # the characters of the predicted tokens
    return {"nats_per_token": nats / y_NT.size, "tokens": int(y_NT.size), "chars": chars,
            "bits_per_char": nats / chars / math.log(2)}
# --8<-- [end:bpc]


def train_one(tokenizer: Tokenizer, text: str, iters: int, mesh: Mesh | None, quiet: bool) -> dict:
    """Train the preset's shape with `tokenizer`'s vocabulary for `iters` steps; its validation
    bits per character."""
    run = preset(PRESET)
    run = run.replace(vocab_size=tokenizer.vocab_size, max_iters=iters, eval_interval=iters,
                      warmup_iters=min(run.train.warmup_iters, iters // 10))
    data = Dataset.from_text(text, tokenizer=tokenizer)
    t0 = time.perf_counter()
    result = train(run, data, progress=None if quiet else print, mesh=mesh)
    seconds = time.perf_counter() - t0
    flops = train_flops_per_token(run.model) * run.tokens_per_iter * iters
    score = bits_per_char(result.model, tokenizer, split_text(text)[1], run.model.context_len)
    return {"tokenizer": tokenizer.name, "vocab_size": tokenizer.vocab_size, "iters": iters,
            "train_flops": flops, "train_seconds": round(seconds, 1),
            "val_nats_per_token": round(score["nats_per_token"], 4),
            "val_bits_per_char": round(score["bits_per_char"], 4),
            "val_tokens": score["tokens"], "val_chars": score["chars"]}


def bench_tokenizers(vocab_sizes=(256, 512, 1024, 2048, 4096), train_vocabs=(512, 1024),
                     char_iters: int = 1000, quiet: bool = False, mesh: Mesh | None = None) -> dict:
    """Characters per token for each of `vocab_sizes`; the character model trained for
    `char_iters` steps and a BPE model of each of `train_vocabs` for the same FLOPs."""
    text = shakespeare_text()
    train_text, val_text = split_text(text)
    t0 = time.perf_counter()
    cpt = chars_per_token(vocab_sizes, train_text, val_text)
    cpt_seconds = time.perf_counter() - t0
    char = CharTokenizer.from_text(text)
    base = preset(PRESET)
    budget = train_flops_per_token(base.model.replace(vocab_size=char.vocab_size)) * char_iters
    models = [train_one(char, text, char_iters, mesh, quiet)]
    for v in train_vocabs:
        bpe = train_bpe(train_text, v)
        iters = round(budget / train_flops_per_token(base.model.replace(vocab_size=v)))
        models.append(train_one(bpe, text, iters, mesh, quiet))
    out = {"benchmark": "tokenizers", "preset_shape": PRESET, "val_chars": len(val_text),
           "chars_per_token": cpt, "chars_per_token_seconds": round(cpt_seconds, 1),
           "models": models, **environment()}
    if not quiet:
        print_table(out)
    return out
