"""The PyTorch yardsticks for `rawweights bench train` and `rawweights bench decode`.

Issue #2 asks `rawweights_jax` to train the `shakespeare-char-cpu` preset at least 1.25x as fast
as the PyTorch reference (nanoGPT's training loop), and compares decoding with Hugging Face
transformers' GPT-2 `generate()`. The reference figures quoted in the issue (about 36 ms per
training iteration; 250 and 700 tokens/s decoding) were measured on one machine; the
development machines here vary by more than those margins from day to day (README,
"Measured speed"). So this script measures the references on the machine at hand, to be run
in the same session as the JAX figures.

`train` is an independent PyTorch implementation of what nanoGPT's `train.py` does for this
configuration, not a copy of it: a GPT-2-style decoder (learned positions, pre-LayerNorm without
biases, fused q/k/v projection, `scaled_dot_product_attention`, GELU MLP (the tanh form, GPT-2's
and ours; nanoGPT uses the exact one, which costs the same), tied embeddings, residual
projections initialised at 0.02/sqrt(2L)), random windows of the same tokens, AdamW (betas
0.9/0.99, decay 0.1 on matrices only) with warm-up and cosine decay, global-norm clipping at
1.0, on all CPU threads. Per-iteration time is the median over the run, evaluation excluded (as
nanoGPT's `dt` excludes it); `val_loss` is the mean over 200 validation batches at the end, as
in `bench train`.

`decode` builds transformers' `GPT2LMHeadModel` in the `shakespeare-char` shape (6 layers,
6 heads, width 384, context 256, 65 tokens, randomly initialised: speed does not depend on
the weights) and times `generate()` with its KV cache for batch 1 and 8 and without it for
batch 1, from a 1-token prompt, sampling, at the same lengths as `bench decode`.

    .venv/bin/python benchmarks/torch_reference.py train [--max-iters N] [--compile] [--json]
    .venv/bin/python benchmarks/torch_reference.py decode [--lengths 64,128,255] [--json]

It needs torch (the `hf` extra: `RAWWEIGHTS_HF=1 python3 dev.py test` installs it).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import platform
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError:     # one clear line, not a traceback
    sys.exit("torch_reference.py needs torch: pip install -e '.[hf]' (or RAWWEIGHTS_HF=1 python3 dev.py test)")

import numpy as np

from rawweights_jax.config import ModelConfig, RunConfig, preset
from rawweights_jax.data.shakespeare import DataError, load_shakespeare
from rawweights_jax.train.optimizer import learning_rate


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        D = cfg.d_model
        self.n_heads = cfg.n_heads
        self.ln_attn, self.ln_mlp = nn.LayerNorm(D, bias=False), nn.LayerNorm(D, bias=False)
        self.qkv, self.attn_out = nn.Linear(D, 3 * D, bias=False), nn.Linear(D, D, bias=False)
        self.mlp_in, self.mlp_out = nn.Linear(D, cfg.d_ff, bias=False), nn.Linear(cfg.d_ff, D, bias=False)

    def forward(self, x_BTD):
        B, T, D = x_BTD.shape
        qkv = self.qkv(self.ln_attn(x_BTD)).view(B, T, 3, self.n_heads, D // self.n_heads)
        q_BNTH, k_BNTH, v_BNTH = qkv.permute(2, 0, 3, 1, 4)
        a_BNTH = F.scaled_dot_product_attention(q_BNTH, k_BNTH, v_BNTH, is_causal=True)
        x_BTD = x_BTD + self.attn_out(a_BNTH.transpose(1, 2).reshape(B, T, D))
        return x_BTD + self.mlp_out(F.gelu(self.mlp_in(self.ln_mlp(x_BTD)), approximate="tanh"))


class TorchGPT(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.wte = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.wpe = nn.Embedding(cfg.context_len, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model, bias=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                small = name.endswith(("attn_out.weight", "mlp_out.weight"))
                nn.init.normal_(p, 0.0, cfg.init_std / (math.sqrt(2 * cfg.n_layers) if small else 1))

    def forward(self, idx_BT, targets_BT):
        x_BTD = self.wte(idx_BT) + self.wpe(torch.arange(idx_BT.shape[1]))
        for block in self.blocks:
            x_BTD = block(x_BTD)
        logits_BTV = self.ln_f(x_BTD) @ self.wte.weight.T          # tied embeddings
        return F.cross_entropy(logits_BTV.flatten(0, 1), targets_BT.flatten())


def batch(data, cfg: RunConfig, gen: torch.Generator):
    starts = torch.randint(len(data) - cfg.model.context_len, (cfg.train.batch_size,), generator=gen)
    rows = torch.stack([data[s:s + cfg.model.context_len + 1] for s in starts.tolist()])
    return rows[:, :-1], rows[:, 1:]


@torch.no_grad()
def mean_loss(model, data, cfg: RunConfig, n: int, gen: torch.Generator) -> float:
    model.eval()
    losses = [model(*batch(data, cfg, gen)).item() for _ in range(n)]
    model.train()
    return sum(losses) / n


def run(cfg: RunConfig, compile_model: bool = False, progress=print) -> dict:
    torch.manual_seed(cfg.train.seed)
    data = load_shakespeare()
    train_Z, val_Z = torch.from_numpy(data.train_Z).long(), torch.from_numpy(data.val_Z).long()
    model = TorchGPT(cfg.model)
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.train.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=cfg.train.lr, betas=(cfg.train.beta1, cfg.train.beta2), eps=1e-8)
    step_fn = torch.compile(model) if compile_model else model
    gen, eval_gen = torch.Generator().manual_seed(cfg.train.seed), torch.Generator().manual_seed(cfg.train.seed + 1)
    # rawweights_jax's own schedule, computed once for every step (no JAX call in the loop)
    lr_by_step = np.asarray(learning_rate(cfg.train, np.arange(cfg.train.max_iters))).tolist()
    times, t_start = [], time.perf_counter()
    for step in range(cfg.train.max_iters):
        t0 = time.perf_counter()
        for g in opt.param_groups:
            g["lr"] = lr_by_step[step]
        loss = step_fn(*batch(train_Z, cfg, gen))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.train.grad_clip)
        opt.step()
        loss_value = loss.item()               # waits for the step, as nanoGPT's logging does
        times.append(time.perf_counter() - t0)
        if (step + 1) % cfg.train.eval_interval == 0 or step + 1 == cfg.train.max_iters:
            if progress:
                ms = statistics.median(times[-cfg.train.eval_interval:]) * 1000
                progress(f"step {step + 1:>5}/{cfg.train.max_iters} | loss {loss_value:.4f} | {ms:.1f} ms/iter"
                         f" | val {mean_loss(model, val_Z, cfg, cfg.train.eval_iters, eval_gen):.4f}")
    wall = time.perf_counter() - t_start
    ms_per_iter = statistics.median(times[10:] if len(times) > 20 else times) * 1000
    return {"benchmark": "train-torch-reference", "preset": "shakespeare-char-cpu",
            "iters": cfg.train.max_iters, "tokens_per_iter": cfg.tokens_per_iter,
            "ms_per_iter": round(ms_per_iter, 3),
            "tokens_per_second": round(cfg.tokens_per_iter / ms_per_iter * 1000, 1),
            "val_loss": round(mean_loss(model, val_Z, cfg, 200, eval_gen), 4),
            "final_train_loss": round(loss_value, 4), "seed": cfg.train.seed, "compiled": compile_model,
            "wall_seconds": round(wall, 1), **environment()}


def environment() -> dict:
    return {"date": datetime.date.today().isoformat(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "machine": platform.machine(),
            "python": platform.python_version()}


def decode(lengths=(64, 128, 255), repeat: int = 3, progress=print) -> dict:
    """tokens/s of transformers' GPT-2 `generate()` on the shakespeare-char shape."""
    import transformers

    cfg = preset("shakespeare-char")
    hf = transformers.GPT2Config(vocab_size=cfg.model.vocab_size, n_positions=cfg.model.context_len,
                                 n_embd=cfg.model.d_model, n_layer=cfg.model.n_layers,
                                 n_head=cfg.model.n_heads, resid_pdrop=0.0, embd_pdrop=0.0,
                                 attn_pdrop=0.0)
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(hf).eval()
    rows = []
    for n in lengths:
        for rows_b, cached in ((1, True), (8, True), (1, False)):
            prompt = torch.arange(rows_b).remainder(cfg.model.vocab_size)[:, None]
            sample = lambda: model.generate(prompt, attention_mask=torch.ones_like(prompt),
                                         max_new_tokens=n, min_new_tokens=n, do_sample=True,
                                         use_cache=cached, pad_token_id=0)
            with torch.inference_mode():
                sample()                                       # warm-up
                times = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    sample()
                    times.append(time.perf_counter() - t0)
            seconds = statistics.median(times)
            rows.append({"new_tokens": n, "batch": rows_b, "cached": cached,
                         "ms_per_step": round(seconds / n * 1000, 3),
                         "tokens_per_second": round(rows_b * n / seconds, 1)})
            if progress:
                progress(f"  {'cached' if cached else 'uncached':>8} batch {rows_b}  {n:>4} tokens: "
                         f"{rows[-1]['tokens_per_second']:>9,.1f} tok/s")
    last = lambda b, c: [r for r in rows if (r["batch"], r["cached"]) == (b, c)][-1]["tokens_per_second"]
    return {"benchmark": "decode-hf-reference", "preset": "shakespeare-char",
            "params": sum(p.numel() for p in model.parameters()),
            "cached_b1_tokens_per_second": last(1, True), "cached_b8_tokens_per_second": last(8, True),
            "uncached_b1_tokens_per_second": last(1, False), "runs": rows,
            "transformers": transformers.__version__, **environment()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="nanoGPT-style training of shakespeare-char-cpu in torch")
    tr.add_argument("--max-iters", type=int, default=None, help="iterations (default: the preset's 2000)")
    tr.add_argument("--compile", action="store_true", help="torch.compile the model first")
    tr.add_argument("--seed", type=int, default=0, help="seed of the initial weights and batches")
    de = sub.add_parser("decode", help="transformers GPT-2 generate() on the shakespeare-char shape")
    de.add_argument("--lengths", default="64,128,255", help="generated lengths, comma-separated")
    for p in (tr, de):
        p.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    progress = None if args.json else print
    if args.command == "decode":
        try:
            lengths = tuple(int(n) for n in args.lengths.split(","))
        except ValueError:
            ap.error(f"--lengths must be comma-separated integers, got {args.lengths!r}")
        longest = preset("shakespeare-char").model.context_len - 1
        if not lengths or min(lengths) < 1 or max(lengths) > longest:
            ap.error(f"--lengths must lie in 1..{longest}, got {args.lengths!r}")
        out = decode(lengths, progress=progress)
    else:
        cfg = preset("shakespeare-char-cpu").replace(seed=args.seed)
        if args.max_iters is not None:
            if args.max_iters < 1:
                ap.error(f"--max-iters must be at least 1, got {args.max_iters}")
            cfg = cfg.replace(max_iters=args.max_iters, warmup_iters=min(cfg.train.warmup_iters, args.max_iters),
                              lr_decay_iters=args.max_iters)
        try:
            out = run(cfg, args.compile, progress=progress)
        except DataError as err:              # no tiny Shakespeare: one line, not a traceback
            ap.exit(2, f"torch_reference.py: error: {err}\n")
    shown = {k: v for k, v in out.items() if k != "runs"}
    print(json.dumps(out) if args.json else "\n".join(f"  {k:<30} {v}" for k, v in shown.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
