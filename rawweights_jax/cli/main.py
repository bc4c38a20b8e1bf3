"""The `rawweights` command: train the robot student, make it write, measure its speed.

    rawweights train --preset shakespeare-char-cpu --out out/cpu [--tokenizer bpe-512]
    rawweights generate --ckpt out/cpu --prompt "ROMEO:" --max-new-tokens 300
    rawweights quantize --ckpt out/cpu --bits 4 --group 32 --out out/cpu-int4
    rawweights bench train|decode|attention|arch|moe|quant|speculative|roofline|scaling|parallel|recipe [--json]
    rawweights bench agent [--base CKPT_DIR] [--json]  # a tool-using agent (agents/)
    rawweights bench dedup|tokenizers [--json]      # the data pipeline (data/)
    rawweights bench posttrain [--parts sft] [--base DIR] [--seed S] [--json]   # fine-tuning (posttrain/)
    rawweights inspect llama-3.1-8b deepseek-v3 path/to/config.json [--context N] [--json]
    rawweights plan llama-3.1-70b --gpus 64 --gpu h100-sxm [--batch B] [--context T] [--json]
    rawweights serve --ckpt out/cpu [--ckpt DIR ...] [--port 8000] [--batching continuous]
    rawweights export-web --ckpt out/cpu --out site/student [--dtype float16|float32]

Bad input (an unknown preset, a missing or damaged checkpoint, a character the model never saw)
prints one line naming the problem and exits with status 2; no traceback.

This module parses and must stay free of JAX: the device count is fixed before JAX starts
(`use_cpu_cores`), and only then are the commands (commands.py) imported.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rawweights_jax.analysis.counts import DTYPE_BYTES
from rawweights_jax.cli import plan
from rawweights_jax.config import PRESETS
from rawweights_jax.config.runtime import ATTENTION_BACKENDS
from rawweights_jax.parallel.devices import use_cpu_cores

MULTI_DEVICE = ("train", "generate")
"""Commands that get one XLA device per core (and the benchmarks, but for attention's)."""


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
    parser = _Parser(prog="rawweights", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("train", help="train a model from a preset on tiny Shakespeare")
    p.add_argument("--preset", required=True, choices=sorted(PRESETS), metavar="NAME",
                   help="one of: " + ", ".join(sorted(PRESETS)))
    p.add_argument("--max-iters", type=_positive_int, help="optimizer steps (default: the preset's)")
    p.add_argument("--out", type=Path, help="checkpoint folder (default: out/<preset>)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    p.add_argument("--seed", type=int, help="random seed (default: the preset's)")
    p.add_argument("--attention", choices=ATTENTION_BACKENDS,
                   help="attention backend (default: auto)")
    p.add_argument("--tokenizer", default="char",
                   help="char (default), or bpe-N: a byte-level BPE of N tokens (256-65536) "
                   "learned from the training split; the model's vocabulary becomes N")

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
    p.add_argument("--kv-int8", action="store_true",
                   help="keep the KV cache in int8, one scale per token and head (a quarter of float32's bytes)")
    p.add_argument("--draft-ckpt", type=Path, help="a smaller model with the same tokenizer, for --speculate")
    p.add_argument("--speculate", type=_positive_int, metavar="K",
                   help="speculative decoding: the draft proposes K tokens, the target checks them at once")

    p = sub.add_parser("quantize", help="write an int8 or int4 copy of a checkpoint")
    p.add_argument("--ckpt", required=True, type=Path, help="float checkpoint file or folder")
    p.add_argument("--bits", required=True, type=int, help="8 (per output channel) or 4 (groupwise)")
    p.add_argument("--group", type=int, help="int4: weights per scale, 32 (default), 64 or 128")
    p.add_argument("--out", required=True, type=Path, help="new folder for the quantized checkpoint")
    p.add_argument("--int8-activations", action="store_true",
                   help="with --bits 8: round activations to int8 too (W8A8; faster on a CPU)")

    p = sub.add_parser("export-web", help="write a checkpoint as a bundle for the browser playground")
    p.add_argument("--ckpt", required=True, type=Path, help="checkpoint file or folder")
    p.add_argument("--out", required=True, type=Path,
                   help="folder for manifest.json, weights.bin and reference.json (new, empty, "
                   "or an earlier bundle to replace)")
    p.add_argument("--dtype", choices=("float16", "float32"), default="float16",
                   help="how the weights are stored (float16: half the bytes; default)")

    p = sub.add_parser("serve", help="an OpenAI-compatible HTTP server for checkpoints")
    p.add_argument("--ckpt", required=True, type=Path, action="append",
                   help="checkpoint file or folder (repeat to serve several models; the folder name is the model name)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--batching", choices=("continuous", "static", "none"), default="continuous",
                   help="continuous: requests join and leave between steps (default)")
    p.add_argument("--max-batch", type=_positive_int, default=8, help="decode slots per model (8)")
    p.add_argument("--kv-pages", type=_positive_int,
                   help="KV cache pages per model (default: every slot can hold a full context)")
    p.add_argument("--page-size", type=_positive_int, default=16, help="tokens per KV page (16)")
    p.add_argument("--memory-budget", help="weights + KV pools of the loaded models, e.g. 512MiB "
                   "(default: no limit); the least recently used idle model is evicted")
    p.add_argument("--max-queue", type=_positive_int, default=256,
                   help="requests waiting per model before 429 (256)")
    p.add_argument("--decode-steps", type=_positive_int, default=8,
                   help="decode steps per device call; requests join and leave between calls (8)")
    p.add_argument("--no-warmup", dest="warmup", action="store_false",
                   help="do not compile every decode shape when a model loads (faster first "
                   "load; requests then wait for compilations as new shapes come)")

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
    b = bench.add_parser("speculative", help="speculative decoding: speed-up and acceptance against k")
    b.add_argument("--ks", default="1,2,3,4,6", help="tokens drafted per round (comma-separated)")
    b.add_argument("--new-tokens", type=_positive_int, default=200, help="tokens per prompt (200)")
    b.add_argument("--target-ckpt", type=Path, help="the target (default: train one into --out)")
    b.add_argument("--draft-ckpt", type=Path, help="the draft (default: train one into --out)")
    b.add_argument("--out", type=Path, default=Path("out/bench-speculative"),
                   help="where trained models are kept and reused (out/bench-speculative)")
    b.add_argument("--target-iters", type=_positive_int, default=1500,
                   help="training steps of a target trained here (1500)")
    b.add_argument("--rounds", type=_positive_int, default=5, help="interleaved timing rounds (5)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b = bench.add_parser("roofline", help="matmul peak, memory bandwidth, and each preset's phases under them")
    b.add_argument("--presets", default="shakespeare-char-cpu,shakespeare-char,gpt2-small",
                   help="presets to place (comma-separated)")
    b.add_argument("--batches", default="1,8,64", help="batch sizes (comma-separated)")
    b.add_argument("--tokens", type=_positive_int, default=64,
                   help="prompt tokens of a prefill, cached tokens of a decode step (64)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b = bench.add_parser("serve", help="rawweights serve under a Poisson load, per batching mode")
    b.add_argument("--ckpt", type=Path, help="model to serve (default: train the shakespeare-char "
                   "preset briefly into out/bench-serve)")
    b.add_argument("--rates", default="1,2,4,8,16", help="requests per second (comma-separated)")
    b.add_argument("--modes", default="continuous,static,none", help="batching modes")
    b.add_argument("--requests", type=_positive_int, default=48, help="requests per mode and rate (48)")
    b.add_argument("--max-batch", type=_positive_int, default=8, help="decode slots (8)")
    b.add_argument("--max-seconds", type=float, default=120.0, help="time limit of one run (120)")
    b.add_argument("--soak", type=float, default=120.0, metavar="SECONDS",
                   help="then this long at twice the saturation rate (120; 0: no soak)")
    b.add_argument("--stream-rounds", type=int, default=3,
                   help="rounds of one streamed request against in-process generate (3; 0: none)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b = bench.add_parser("quant", help="float32, bfloat16, int8 and int4 weights: speed, loss, bytes")
    b.add_argument("--ckpt", type=Path, help="trained checkpoint for the loss (default: train or "
                   "reuse out/shakespeare-char-cpu)")
    b.add_argument("--group", type=int, default=32, help="int4 weights per scale (32)")
    b.add_argument("--new-tokens", type=_positive_int, default=128, help="tokens per timed call")
    b.add_argument("--rounds", type=_positive_int, default=5, help="interleaved timing rounds")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    p = sub.add_parser("inspect", help="parameters, KV cache, FLOPs and memory of model configs")
    p.add_argument("configs", nargs="+", metavar="CONFIG",
                   help="a config.json (or its folder), a shipped model name, or a preset")
    p.add_argument("--context", type=_positive_int, default=8192, help="tokens of context (8192)")
    p.add_argument("--batch", type=_positive_int, default=1, help="sequences at once (1)")
    p.add_argument("--dtype", default="bf16", choices=sorted(DTYPE_BYTES), metavar="DTYPE",
                   help="bytes per weight and cache entry (bf16)")
    p.add_argument("--json", action="store_true", help="one JSON object per config")

    plan.add_parser(sub, _positive_int)

    b = bench.add_parser("arch", help="train and decode speed: GPT-2, Llama and MoE CPU presets")
    b.add_argument("--iters", type=_positive_int, default=300, help="training steps per preset")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b = bench.add_parser("recipe", help="schedules, bf16, Muon, a high learning rate and its fixes")
    b.add_argument("--iters", type=_positive_int, default=400, help="training steps per run (400)")
    b.add_argument("--high-lr", type=float, default=3e-2, help="the high learning rate (3e-2)")
    b.add_argument("--runs", default=None, help="comma-separated runs (all): cosine, wsd, constant, "
                   "bfloat16, muon, high-lr, high-lr+z-loss, high-lr+qk-norm")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b = bench.add_parser("posttrain", help="post-training the student: SFT, DPO/SimPO and GRPO on graded tasks")
    b.add_argument("--parts", default="sft", help="parts to report, comma-separated: sft, dpo, grpo "
                   "(sft; dpo and grpo start from the SFT model, so SFT always runs)")
    b.add_argument("--base", type=Path, help="pretrained checkpoint (default: train the "
                   "shakespeare-char-cpu preset, or reuse it, in --out)")
    b.add_argument("--base-steps", type=_positive_int, help="training steps of a base trained "
                   "here (default: the preset's)")
    b.add_argument("--out", type=Path, default=Path("out/bench-posttrain"),
                   help="where a base trained here is kept and reused (out/bench-posttrain)")
    b.add_argument("--seed", type=int, default=0, help="data, initialisation and batch order (0)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b = bench.add_parser("moe", help="one MoE layer: sorted dispatch vs the dense reference")
    b.add_argument("--tokens", default="768,8", help="tokens per batch (comma-separated)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b = bench.add_parser("dedup", help="exact and near-duplicate detection on a planted corpus")
    b.add_argument("--min-chars", type=_positive_int, default=200,
                   help="shortest speech kept as a document (200)")
    b.add_argument("--fraction", type=float, default=0.2, help="share of documents copied (0.2)")
    b.add_argument("--rates", default="0.02,0.05,0.1,0.2",
                   help="word-edit rates of the edited copies (comma-separated)")
    b.add_argument("--threshold", type=float, default=0.5, help="Jaccard of a near duplicate (0.5)")
    b.add_argument("--num-perm", type=_positive_int, default=128, help="MinHash size (128)")
    b.add_argument("--shingle", type=_positive_int, default=5, help="characters per shingle (5)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b = bench.add_parser("tokenizers", help="BPE characters per token; char vs BPE models at equal FLOPs")
    b.add_argument("--vocabs", default="256,512,1024,2048,4096",
                   help="BPE vocabulary sizes for characters per token (comma-separated)")
    b.add_argument("--train-vocabs", default="512,1024",
                   help="BPE vocabularies of the models trained against the character model")
    b.add_argument("--char-iters", type=_positive_int, default=1000,
                   help="training steps of the character model; BPE models get equal FLOPs (1000)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b = bench.add_parser("scaling", help="isoFLOP sweep of tiny GPTs and the fitted scaling laws")
    b.add_argument("--quick", action="store_true", help="only the cheapest point (no fits)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b = bench.add_parser("parallel", help="dp, fsdp, tp, pp, ep on simulated CPU devices: "
                         "losses against one device, bytes communicated, memory")
    b.add_argument("--devices", type=_positive_int, default=8,
                   help="simulated CPU devices (8; a power of two, at least 4)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b = bench.add_parser("agent", help="a tool-using agent: success with and without tools, "
                         "constrained decoding, recovery from injected failures")
    b.add_argument("--base", default=None, metavar="CKPT_DIR",
                   help="the pretrained student (default: train the shakespeare-char-cpu preset first)")
    b.add_argument("--steps", type=_positive_int, default=400, help="fine-tuning steps (400)")
    b.add_argument("--batch", type=_positive_int, default=64, help="fine-tuning batch (64)")
    b.add_argument("--tasks", type=_positive_int, default=150, help="held-out tasks (150)")
    b.add_argument("--seed", type=int, default=0, help="seed of the tasks, the training and the failures (0)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b = bench.add_parser("attention", help="time and memory of each attention backend")
    b.add_argument("--lengths", default="256,512,1024,2048,4096,8192")
    b.add_argument("--backends", default="naive,xla,blockwise,pallas")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    if args.command == "plan":           # arithmetic only: no JAX, no devices
        try:
            print(plan.run(args))
        except (ValueError, OSError) as err:
            print(f"rawweights plan: error: {err}", file=sys.stderr)
            return 2
        return 0
    if args.command == "bench" and args.bench == "parallel":
        use_cpu_cores(args.devices)   # simulated devices, however many cores there are
    elif args.command in MULTI_DEVICE or (args.command == "bench" and args.bench != "attention"):
        use_cpu_cores()     # before JAX starts: one device per core (parallel/devices.py)
    # Only now may JAX start: the commands module imports the library's JAX-using layers.
    from rawweights_jax.cli import commands

    try:
        commands.COMMANDS[args.command](args)
    except commands.ERRORS as err:
        print(f"rawweights {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rawweights {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
