"""The `rawweights` command: train the robot student, make it write, measure its speed.

    rawweights train --preset shakespeare-char-cpu --out out/cpu
    rawweights generate --ckpt out/cpu --prompt "ROMEO:" --max-new-tokens 300
    rawweights bench train|decode|attention|arch|moe [--json]
    rawweights inspect llama-3.1-8b deepseek-v3 path/to/config.json [--context N] [--json]

Bad input (an unknown preset, a missing or damaged checkpoint, a character the model never saw)
prints one line naming the problem and exits with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


class _Parser(argparse.ArgumentParser):
    def error(self, message):            # one line, exit 2 (argparse prints the whole usage)
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _build_parser() -> argparse.ArgumentParser:
    from rawweights_jax.config import PRESETS

    parser = _Parser(prog="rawweights", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("train", help="train a model from a preset on tiny Shakespeare")
    p.add_argument("--preset", required=True, choices=sorted(PRESETS), metavar="NAME",
                   help="one of: " + ", ".join(sorted(PRESETS)))
    p.add_argument("--max-iters", type=_positive_int, help="optimizer steps (default: the preset's)")
    p.add_argument("--out", type=Path, help="checkpoint folder (default: out/<preset>)")
    p.add_argument("--resume", action="store_true", help="continue from <out>/ckpt.safetensors")
    p.add_argument("--seed", type=int, help="random seed (default: the preset's)")
    p.add_argument("--attention", choices=["auto", "naive", "xla", "blockwise", "pallas"],
                   help="attention backend (default: auto)")

    p = sub.add_parser("generate", help="continue a prompt with a trained checkpoint")
    p.add_argument("--ckpt", required=True, type=Path, help="checkpoint file or folder")
    p.add_argument("--prompt", required=True, action="append",
                   help="text to continue (repeat for a batch of prompts)")
    p.add_argument("--max-new-tokens", type=_positive_int, default=500)
    p.add_argument("--temperature", type=float, default=0.8, help="0 = greedy (default 0.8)")
    p.add_argument("--top-k", type=_positive_int, help="sample among the k likeliest tokens")
    p.add_argument("--top-p", type=float, help="sample among the likeliest tokens holding mass p")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-cache", action="store_true", help="recompute every step (slow; to compare)")

    p = sub.add_parser("bench", help="measure training, decoding or attention speed")
    bench = p.add_subparsers(dest="bench", required=True, parser_class=_Parser)
    b = bench.add_parser("train", help="the full training run of a preset, timed")
    b.add_argument("--preset", default="shakespeare-char-cpu", choices=sorted(PRESETS), metavar="NAME")
    b.add_argument("--max-iters", type=_positive_int, help="shorter run (default: the preset's)")
    b.add_argument("--seed", type=int, help="random seed (default: the preset's)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b = bench.add_parser("decode", help="tokens/s with and without the KV cache")
    b.add_argument("--preset", default="shakespeare-char", choices=sorted(PRESETS), metavar="NAME")
    b.add_argument("--lengths", default="64,128,255", help="generated lengths (comma-separated)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    p = sub.add_parser("inspect", help="parameters, KV cache, FLOPs and memory of model configs")
    p.add_argument("configs", nargs="+", metavar="CONFIG",
                   help="a config.json (or its folder), a shipped model name, or a preset")
    p.add_argument("--context", type=_positive_int, default=8192, help="tokens of context (8192)")
    p.add_argument("--batch", type=_positive_int, default=1, help="sequences at once (1)")
    p.add_argument("--dtype", default="bf16", choices=["fp32", "bf16", "fp16", "fp8", "int8", "int4"],
                   help="bytes per weight and cache entry (bf16)")
    p.add_argument("--json", action="store_true", help="one JSON object per config")

    b = bench.add_parser("arch", help="train and decode speed: GPT-2, Llama and MoE CPU presets")
    b.add_argument("--iters", type=_positive_int, default=300, help="training steps per preset")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b = bench.add_parser("moe", help="one MoE layer: sorted dispatch vs the dense reference")
    b.add_argument("--tokens", default="768,8", help="tokens per batch (comma-separated)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b = bench.add_parser("attention", help="time and memory of each attention backend")
    b.add_argument("--lengths", default="256,512,1024,2048,4096,8192")
    b.add_argument("--backends", default="naive,xla,blockwise,pallas")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _lengths(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"--lengths {text!r}: expected comma-separated integers") from None
    if not values or min(values) < 1:
        raise ValueError(f"--lengths {text!r}: expected positive integers")
    return values


def _train(args) -> None:
    from rawweights_jax.config import preset
    from rawweights_jax.data import load_shakespeare
    from rawweights_jax.train import train

    changes = {k: v for k, v in (("max_iters", args.max_iters), ("seed", args.seed),
                                 ("attention", args.attention)) if v is not None}
    base = preset(args.preset)
    if args.max_iters is not None and base.warmup_iters > args.max_iters:
        changes["warmup_iters"] = args.max_iters // 10    # a short run still warms up first
    cfg = base.replace(**changes)
    out = args.out or Path("out") / args.preset
    if args.resume and not (out / "ckpt.safetensors").is_file():
        raise ValueError(f"--resume: no checkpoint at {out / 'ckpt.safetensors'}")
    if not args.resume and (out / "ckpt.safetensors").is_file():
        raise ValueError(f"{out / 'ckpt.safetensors'} exists: pass --resume to continue it, "
                         "or choose another --out")
    result = train(cfg, load_shakespeare(), out_dir=out, resume=args.resume)
    metrics = out / "metrics.json"
    metrics.write_text(json.dumps(result.history))
    print(f"saved {out / 'ckpt.safetensors'} and {metrics}")


def _generate(args) -> None:
    from rawweights_jax.checkpoint import load_model
    from rawweights_jax.generate import generate

    model, tokenizer, _, _ = load_model(args.ckpt)
    prompts = [tokenizer.encode(p) for p in args.prompt]
    outs = generate(model, prompts, args.max_new_tokens, temperature=args.temperature,
                    top_k=args.top_k, top_p=args.top_p, seed=args.seed, use_cache=not args.no_cache,
                    vocab=tokenizer.vocab_size)
    for i, (prompt, out) in enumerate(zip(args.prompt, outs)):
        if len(outs) > 1:
            print(f"--- sample {i + 1} ---")
        print(prompt + tokenizer.decode(out))


def _bench(args) -> None:
    from rawweights_jax import bench

    if args.bench == "train":
        result = bench.bench_train(args.preset, args.max_iters, quiet=args.json, seed=args.seed)
    elif args.bench == "decode":
        result = bench.bench_decode(args.preset, _lengths(args.lengths), quiet=args.json)
    elif args.bench in ("arch", "moe"):
        from rawweights_jax import bench_arch
        if args.bench == "arch":
            result = bench_arch.bench_arch(iters=args.iters, quiet=args.json)
        else:
            result = bench_arch.bench_moe(_lengths(args.tokens), quiet=args.json)
    else:
        backends = [b.strip() for b in args.backends.split(",") if b.strip()]
        result = bench.bench_attention(_lengths(args.lengths), backends, quiet=args.json)
    if args.json:
        print(json.dumps(result))


def _inspect(args) -> None:
    from rawweights_jax.inspector import run
    print(run(args.configs, args.context, args.batch, args.dtype, args.json))


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    if args.command in ("train", "generate") or (args.command == "bench" and args.bench != "attention"):
        from rawweights_jax.platform import use_cpu_cores
        use_cpu_cores()     # before JAX starts: one device per core (see platform.py)
    from rawweights_jax.checkpoint import CheckpointError
    from rawweights_jax.data import DataError

    try:
        {"train": _train, "generate": _generate, "bench": _bench,
         "inspect": _inspect}[args.command](args)
    except (ValueError, DataError, CheckpointError, OSError) as err:
        print(f"rawweights {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rawweights {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
