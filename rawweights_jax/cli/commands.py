"""What each `rawweights` command does, once the command line is parsed (main.py).

Imported only after the device count is fixed, since importing it starts JAX. Each command
takes the parsed arguments; a bad value raises one of `ERRORS`, which main.py prints as one
line with exit status 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rawweights_jax.analysis.inspector import run as inspect_configs
from rawweights_jax.bench.arch import bench_arch
from rawweights_jax.bench.attention import bench_attention
from rawweights_jax.bench.decode import bench_decode
from rawweights_jax.bench.moe import bench_moe
from rawweights_jax.bench.speculative import bench_speculative
from rawweights_jax.bench.quant import bench_quant
from rawweights_jax.bench.roofline import bench_roofline
from rawweights_jax.bench.train import bench_train
from rawweights_jax.ckpt.checkpoint import LATEST, CheckpointError, load_model
from rawweights_jax.config import Runtime, preset
from rawweights_jax.data.bpe import train_bpe
from rawweights_jax.data.shakespeare import DataError, load_shakespeare, shakespeare_text, split_text
from rawweights_jax.inference.generate import generate
from rawweights_jax.inference.speculative import speculative_generate
from rawweights_jax.inference.quant import quantize_checkpoint
from rawweights_jax.parallel.mesh import MODEL, device_mesh
from rawweights_jax.parallel.sharding import shard_model
from rawweights_jax.train.loop import train
from rawweights_jax.web.export import export_web

ERRORS = (ValueError, DataError, CheckpointError, OSError)


def lengths(text: str, flag: str = "--lengths") -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"{flag} {text!r}: expected comma-separated integers") from None
    if not values or min(values) < 1:
        raise ValueError(f"{flag} {text!r}: expected positive integers")
    return values


def train_command(args) -> None:
    changes = {k: v for k, v in (("max_iters", args.max_iters), ("seed", args.seed)) if v is not None}
    base = preset(args.preset)
    if args.max_iters is not None and base.train.warmup_iters > args.max_iters:
        changes["warmup_iters"] = args.max_iters // 10    # a short run still warms up first
    run = base.replace(**changes)
    runtime = Runtime(attention=args.attention or "auto")
    out = args.out or Path("out") / args.preset
    if args.resume and not (out / LATEST).is_file():
        raise ValueError(f"--resume: no checkpoint at {out / LATEST}")
    if not args.resume and (out / LATEST).is_file():
        raise ValueError(f"{out / LATEST} exists: pass --resume to continue it, "
                         "or choose another --out")
    tokenizer = _tokenizer(args.tokenizer)
    if tokenizer is not None:
        run = run.replace(vocab_size=tokenizer.vocab_size)
    result = train(run, load_shakespeare(tokenizer), out_dir=out, resume=args.resume,
                   mesh=device_mesh(), runtime=runtime)
    if result.steps_run == 0:      # a finished run resumed: nothing new to save
        return
    metrics = out / "metrics.json"
    metrics.write_text(json.dumps(result.history))
    print(f"saved {out / LATEST} and {metrics}")


def _tokenizer(name: str):
    """None for "char" (the preset's own vocabulary), or a BPE trained on the training split."""
    if name == "char":
        return None
    size = name.removeprefix("bpe-")
    if not name.startswith("bpe-") or not size.isdigit():
        raise ValueError(f"--tokenizer {name!r}: expected char or bpe-N (e.g. bpe-512)")
    return train_bpe(split_text(shakespeare_text())[0], int(size))


def generate_command(args) -> None:
    if (args.draft_ckpt is None) != (args.speculate is None):
        raise ValueError("--draft-ckpt and --speculate go together: a draft model and the "
                         "number of tokens it proposes per round")
    if args.kv_int8 and (args.no_cache or args.speculate is not None):
        raise ValueError("--kv-int8 needs the ordinary cached decoder: not with --no-cache or --speculate")
    mesh = device_mesh(MODEL)            # tensor parallel: each weight split over the cores
    model, tokenizer, _, _ = load_model(args.ckpt)
    shard_model(model, mesh)
    prompts = [tokenizer.encode(p) for p in args.prompt]
    if args.speculate is not None:
        return _speculative_command(args, model, tokenizer, prompts)
    outs = generate(model, prompts, args.max_new_tokens, temperature=args.temperature,
                    top_k=args.top_k, top_p=args.top_p, seed=args.seed, use_cache=not args.no_cache,
                    vocab=tokenizer.vocab_size, mesh=mesh, kv_bits=8 if args.kv_int8 else None)
    for i, (prompt, out) in enumerate(zip(args.prompt, outs)):
        if len(outs) > 1:
            print(f"--- sample {i + 1} ---")
        print(prompt + tokenizer.decode(out))


def _speculative_command(args, target, tokenizer, prompts) -> None:
    if args.no_cache:
        raise ValueError("--no-cache and --speculate exclude each other: speculation rolls the cache back")
    draft, draft_tokenizer, _, _ = load_model(args.draft_ckpt)
    if draft_tokenizer.vocab_size != tokenizer.vocab_size or any(
            draft_tokenizer.decode([i]) != tokenizer.decode([i]) for i in range(tokenizer.vocab_size)):
        raise ValueError(f"{args.draft_ckpt}: the draft's tokenizer differs from the target's "
                         "(both must read the same characters with the same ids)")
    for i, (prompt, tokens) in enumerate(zip(args.prompt, prompts)):
        result = speculative_generate(target, draft, tokens, args.max_new_tokens, k=args.speculate,
                                      temperature=args.temperature, top_k=args.top_k,
                                      top_p=args.top_p, seed=args.seed, vocab=tokenizer.vocab_size)
        if len(prompts) > 1:
            print(f"--- sample {i + 1} ---")
        print(prompt + tokenizer.decode(result.tokens))
        print(f"[speculative: {result.accepted} of {result.proposed} drafted tokens accepted "
              f"({result.acceptance_rate:.0%}), {result.rounds} target passes for "
              f"{len(result.tokens)} tokens]", file=sys.stderr)


def bench_command(args) -> None:
    mesh = device_mesh()
    if args.bench == "train":
        result = bench_train(args.preset, args.max_iters, quiet=args.json, seed=args.seed, mesh=mesh)
    elif args.bench == "decode":
        result = bench_decode(args.preset, lengths(args.lengths), quiet=args.json,
                              mesh=device_mesh(MODEL))
    elif args.bench == "arch":
        result = bench_arch(iters=args.iters, quiet=args.json, mesh=mesh)
    elif args.bench == "speculative":
        result = bench_speculative(lengths(args.ks, "--ks"), args.new_tokens, args.target_ckpt, args.draft_ckpt,
                                   args.out, args.target_iters, args.rounds, quiet=args.json)
    elif args.bench == "quant":
        result = bench_quant(args.ckpt, args.group, args.new_tokens, args.rounds, quiet=args.json,
                             mesh=device_mesh(MODEL))
    elif args.bench == "roofline":
        names = [n.strip() for n in args.presets.split(",") if n.strip()]
        for name in names:
            preset(name)                    # an unknown name: one line listing the known ones
        result = bench_roofline(names, lengths(args.batches, "--batches"), args.tokens, quiet=args.json,
                                mesh=device_mesh(MODEL))
    elif args.bench == "serve":
        from rawweights_jax.bench.serve import MODES, bench_serve

        modes = [m.strip() for m in args.modes.split(",") if m.strip()]
        if not modes or any(m not in MODES for m in modes):
            raise ValueError(f"--modes {args.modes!r}: expected some of {', '.join(MODES)}")
        try:
            rates = [float(x) for x in args.rates.split(",") if x.strip()]
        except ValueError:
            raise ValueError(f"--rates {args.rates!r}: expected comma-separated numbers") from None
        if not rates or min(rates) <= 0:
            raise ValueError(f"--rates {args.rates!r}: expected positive numbers")
        if args.soak < 0 or args.stream_rounds < 0:
            raise ValueError("--soak and --stream-rounds must be >= 0")
        result = bench_serve(rates, modes, args.requests, args.max_batch, args.max_seconds,
                             soak_seconds=args.soak, stream_rounds=args.stream_rounds,
                             ckpt=args.ckpt, quiet=args.json)
    elif args.bench == "dedup":
        from rawweights_jax.bench.dedup import bench_dedup
        from rawweights_jax.data.dedup import NearConfig

        try:
            rates = tuple(float(x) for x in args.rates.split(",") if x.strip())
        except ValueError:
            raise ValueError(f"--rates {args.rates!r}: expected comma-separated numbers") from None
        near = NearConfig(args.shingle, args.num_perm, args.threshold)
        result = bench_dedup(args.min_chars, args.fraction, rates, near, args.seed, quiet=args.json)
    elif args.bench == "tokenizers":
        from rawweights_jax.bench.tokenizers import bench_tokenizers

        result = bench_tokenizers(lengths(args.vocabs, "--vocabs"), lengths(args.train_vocabs, "--train-vocabs"),
                                  args.char_iters, quiet=args.json, mesh=mesh)
    elif args.bench == "scaling":
        from rawweights_jax.bench.scaling import bench_scaling

        result = bench_scaling(quick=args.quick, quiet=args.json, mesh=mesh)
    elif args.bench == "parallel":
        from rawweights_jax.bench.parallel import bench_parallel

        result = bench_parallel(args.devices, quiet=args.json)
    elif args.bench == "recipe":
        from rawweights_jax.bench.recipe import bench_recipe

        names = tuple(n.strip() for n in args.runs.split(",") if n.strip()) if args.runs else None
        if not args.high_lr > 0:
            raise ValueError(f"--high-lr {args.high_lr}: expected a number > 0")
        result = bench_recipe(args.iters, args.high_lr, names, quiet=args.json, mesh=mesh)
    elif args.bench == "posttrain":
        from rawweights_jax.bench.posttrain import bench_posttrain

        parts = tuple(n.strip() for n in args.parts.split(",") if n.strip())
        result = bench_posttrain(parts, args.base, args.seed, out=args.out,
                                 base_steps=args.base_steps, quiet=args.json)
    elif args.bench == "agent":
        from rawweights_jax.bench.agent import bench_agent

        if args.base is not None and not Path(args.base).exists():
            raise ValueError(f"--base {args.base}: no such checkpoint file or folder")
        result = bench_agent(args.base, steps=args.steps, batch=args.batch, n_test=args.tasks,
                             seed=args.seed, quiet=args.json)
    elif args.bench == "moe":
        result = bench_moe(lengths(args.tokens, "--tokens"), quiet=args.json)
    else:
        backends = [b.strip() for b in args.backends.split(",") if b.strip()]
        result = bench_attention(lengths(args.lengths), backends, quiet=args.json)
    if args.json:
        print(json.dumps(result))


def serve_command(args) -> None:
    try:
        from rawweights_jax.serve.server import serve
    except ImportError as err:
        raise ValueError(f"rawweights serve needs the serve extra ({err.name} is missing): "
                         "pip install 'rawweights_jax[serve]'") from None
    from rawweights_jax.serve.pool import parse_size

    if not 0 < args.port < 65536:
        raise ValueError(f"--port {args.port}: expected 1-65535")
    budget = parse_size(args.memory_budget) if args.memory_budget else None
    serve(args.ckpt, args.host, args.port, batching=args.batching, max_batch=args.max_batch,
          kv_pages=args.kv_pages, page_size=args.page_size, memory_budget=budget,
          max_queue=args.max_queue, decode_steps=args.decode_steps, warmup=args.warmup)


def quantize_command(args) -> None:
    act_bits = 8 if args.int8_activations else None
    out = quantize_checkpoint(args.ckpt, args.out, args.bits, args.group, act_bits)
    print(f"saved {out} (int{args.bits}{'' if args.group is None else f', group {args.group}'}"
          f"{', int8 activations' if act_bits else ''})")


def export_web_command(args) -> None:
    manifest = export_web(args.ckpt, args.out, dtype=args.dtype)
    with open(args.out / manifest["reference"]) as fh:
        rounding = json.load(fh)["rounding"]
    print(f"wrote {args.out}: {manifest['weights']['bytes']:,} bytes of {args.dtype} weights "
          f"(step {manifest['source']['step']}); largest logit change from rounding to "
          f"{args.dtype}: {rounding['max_abs_logit_change']:.2g}")


def inspect_command(args) -> None:
    print(inspect_configs(args.configs, args.context, args.batch, args.dtype, args.json))


COMMANDS = {"train": train_command, "generate": generate_command, "bench": bench_command,
            "inspect": inspect_command, "quantize": quantize_command, "serve": serve_command,
            "export-web": export_web_command}
