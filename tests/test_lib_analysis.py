"""analysis.py against what the code actually builds and computes, and against publishers."""

from __future__ import annotations

import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from rawweights_jax.analysis.counts import (flops_per_token, kv_bytes, kv_bytes_per_token_layer, param_counts)
from rawweights_jax.analysis.zoo import zoo_model, zoo_names
from rawweights_jax.bench.train import train_flops_per_token
from rawweights_jax.config import PRESETS, ModelConfig, Runtime, preset
from rawweights_jax.families.tiny import TINY_HF, tiny_config
from rawweights_jax.kvcache.cache import KVCache
from rawweights_jax.model.gpt import count_params, init_model

VARIANTS = [dict(bias=True), dict(norm_placement="post"), dict(norm_placement="sandwich"),
            dict(position="sinusoidal", bias=True, mlp="swiglu"), dict(qkv_bias=True, qk_norm=True,
                                                                      position="rope")]


def _configs():
    yield from ((f, tiny_config(f).model) for f in sorted(TINY_HF))
    yield from ((name, run.model) for name, run in PRESETS.items())
    yield from ((f"variant{i}", ModelConfig(vocab_size=50, n_layers=2, **v)) for i, v in enumerate(VARIANTS))


@pytest.mark.parametrize("name,cfg", list(_configs()), ids=lambda x: x if isinstance(x, str) else "")
def test_parameter_count_is_exact(name, cfg):
    model = nnx.eval_shape(lambda: init_model(cfg))
    assert param_counts(cfg)["total"] == count_params(model)


@pytest.mark.parametrize("family", ["mixtral", "qwen3_moe", "deepseek_v3"])
def test_active_parameters_are_what_one_token_touches(family):
    """Gradient of one token's output: exactly k experts per MoE layer receive a non-zero one."""
    cfg = tiny_config(family).model
    model = init_model(cfg, runtime=Runtime(moe_dispatch="dense"))
    graphdef, params = nnx.split(model, nnx.Param)
    grads = jax.jit(jax.grad(lambda p: nnx.merge(graphdef, p)(jnp.array([[3]])).sum()))(params)
    touched_experts = 0
    for path, g in jax.tree_util.tree_leaves_with_path(grads):
        name = str(path[-2].key) if hasattr(path[-2], "key") else ""
        if name.endswith("EDF") or name.endswith("EFD"):
            touched_experts += int((np.abs(np.asarray(g)).reshape(g.shape[0], -1).sum(1) > 0).sum())
    n_moe = cfg.n_moe_layers
    matrices = 3                                  # gate, up, down per expert
    assert touched_experts == n_moe * matrices * cfg.experts_per_token
    counts = param_counts(cfg)
    expert = 3 * cfg.d_model * cfg.d_expert
    assert counts["total"] - counts["active"] == n_moe * (cfg.n_experts - cfg.experts_per_token) * expert


@pytest.mark.parametrize("family", ["gpt2", "llama", "qwen3_moe", "deepseek_v3", "gemma3_text",
                                    "mistral"])
def test_kv_bytes_equal_the_real_cache(family):
    cfg = tiny_config(family).model
    cache = KVCache.empty(cfg, batch=2, slots=32, dtype=jnp.float32)
    real = sum(x.nbytes for x in cache.k + cache.v)
    assert real == kv_bytes(cfg, context=32, batch=2, dtype="float32")
    if "local" not in cfg.layer_kinds:    # windows: local layers hold only W of the 32 tokens
        assert real / (2 * 32 * cfg.n_layers) == kv_bytes_per_token_layer(cfg, "float32")


def test_sliding_windows_cap_the_cache_and_mla_is_small():
    cfg = tiny_config("gemma3_text").model          # local, global, local; window 5
    per = kv_bytes_per_token_layer(cfg, "bfloat16")
    assert kv_bytes(cfg, 100) == (5 + 100 + 5) * per
    ds = tiny_config("deepseek_v3").model
    assert kv_bytes_per_token_layer(ds, "bfloat16") == (20 + 8) * 2


@pytest.mark.parametrize("changes", [dict(), dict(position="rope", norm="rmsnorm", mlp="swiglu",
                                                   n_kv_heads=2, tie_embeddings=False)])
def test_flops_match_xla_cost_analysis(changes):
    """Our FLOPs of a full forward pass of T tokens (every key scored, as the naive backend does)
    agree with XLA's own count of the compiled computation within 2%."""
    cfg = ModelConfig(vocab_size=1000, context_len=64, n_layers=2, n_heads=4, d_model=256, **changes)
    graphdef, params = nnx.split(init_model(cfg, runtime=Runtime(attention="naive")))
    for T in (1, 64):
        f = jax.jit(lambda p, t: nnx.merge(graphdef, p)(t))
        cost = f.lower(params, jnp.zeros((1, T), jnp.int32)).compile().cost_analysis()
        xla = (cost if isinstance(cost, dict) else cost[0])["flops"]
        ours = T * flops_per_token(cfg, T)["forward"]      # each token scores all T keys here
        assert abs(ours / xla - 1) < 0.02, (T, ours, xla)


@pytest.mark.parametrize("key", zoo_names())
def test_published_totals_are_matched(key):
    z = zoo_model(key)
    counts = param_counts(z.config)
    target = z.comparable_params or z.published_params
    tolerance = max(0.02 * target, z.precision or 0)
    assert abs(counts["total"] - target) <= tolerance, (counts["total"], target)
    if z.published_active_params:
        active = counts["active"]
        if z.hf.get("model_type") in ("deepseek_v3", "kimi_k2"):
            active -= z.config.vocab_size * z.config.d_model     # DeepSeek's convention
        assert abs(active / z.published_active_params - 1) < 0.02, (active, z.published_active_params)


def test_inspect_cli(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, "-m", "rawweights_jax.cli", "inspect", *a],
                                    capture_output=True, text=True)
    out = run("llama-3.1-8b", "deepseek-v3", "--context", "4096", "--json")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["model"] for r in rows] == ["llama-3.1-8b", "deepseek-v3"]
    assert rows[0]["total_params"] == 8030261248
    assert rows[0]["kv_bytes_per_token"] == 32 * 2 * 8 * 128 * 2    # 32 layers, K=8, H=128, bf16
    assert {"total_params", "active_params", "kv_bytes_per_token", "flops_per_token"} <= set(rows[1])
    table = run("gpt2", "mixtral-8x7b")
    assert table.returncode == 0 and "mixtral-8x7b" in table.stdout and "12.9B" in table.stdout
    bad = tmp_path / "config.json"
    bad.write_text('{"model_type": "llama", "hidden_size": 64}')
    out = run(str(bad))
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "num_attention_heads" in out.stderr
    out = run("no-such-model")
    assert out.returncode == 2 and "not a file, a shipped model" in out.stderr


def test_the_benchmarks_mfu_counts_what_the_model_computes():
    """bench train divides the analysis's FLOPs: SwiGLU's third matrix counted (llama preset),
    only the active experts (moe preset)."""
    cfg = preset("llama-char-cpu").model
    D, N, K, H, F, L, V = (cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, cfg.d_ff,
                           cfg.n_layers, cfg.vocab_size)
    assert flops_per_token(cfg, 1)["matmul"] == 2 * (L * (D * (N + 2 * K) * H + N * H * D + 3 * D * F) + D * V)
    assert train_flops_per_token(cfg) == flops_per_token(cfg, cfg.context_len)["train"]
    moe = preset("moe-char-cpu").model
    routed = moe.n_layers * moe.experts_per_token * 3 * moe.d_model * moe.d_expert
    router = moe.n_layers * moe.d_model * moe.n_experts
    attention = moe.n_layers * (D * (N + 2 * K) * H + N * H * D)
    assert flops_per_token(moe, 1)["matmul"] == 2 * (attention + routed + router + D * V)


@pytest.mark.parametrize("field, value, expected", [
    ("num_attention_heads", 0, "n_heads=0 is invalid"),
    ("num_hidden_layers", 10**30, "n_layers=1000000000000000000000000000000 is invalid"),
    ("num_hidden_layers", 10**9, "<= 10,000"), ("hidden_size", 10**400, "d_model="),
])
def test_inspect_refuses_out_of_range_configs_in_one_line(tmp_path, field, value, expected):
    hf = dict(zoo_model("llama-3.2-1b").hf, **{field: value})
    path = tmp_path / "config.json"
    path.write_text(json.dumps(hf))
    out = subprocess.run([sys.executable, "-m", "rawweights_jax.cli", "inspect", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert expected in out.stderr and "Traceback" not in out.stderr
