"""The int8 KV cache: entries rounded per token and head, the same decoder reading them, for
every cache kind the families have (dense, grouped-query, sliding-window rings, MLA's latent)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rawweights_jax.families.tiny import tiny_config
from rawweights_jax.inference.generate import generate
from rawweights_jax.kvcache.cache import Int8KV, KVCache, quantize_entries, read_buffer
from rawweights_jax.model.gpt import init_model


def test_entries_round_to_within_half_a_step_of_their_own_scale():
    x_BKTH = jax.random.normal(jax.random.key(0), (2, 3, 5, 16)) * jnp.arange(1.0, 4.0)[None, :, None, None]
    q = quantize_entries(x_BKTH)
    assert q.q_BKSH.dtype == jnp.int8 and q.scale_BKS1.shape == (2, 3, 5, 1)
    err = jnp.abs(read_buffer(q) - x_BKTH)
    assert bool(jnp.all(err <= q.scale_BKS1 / 2 + 1e-6))
    assert int(jnp.abs(q.q_BKSH).max()) == 127                  # the largest maps to 127
    zero = quantize_entries(jnp.zeros((1, 1, 2, 4)))             # an all-zero entry stays zero
    assert bool(jnp.all(read_buffer(zero) == 0))


@pytest.mark.parametrize("family", ["gpt2", "llama", "mistral", "gemma3_text", "deepseek_v3"])
def test_decoding_through_an_int8_cache_stays_close_to_float(family):
    cfg = tiny_config(family).model
    model = init_model(cfg)
    prompt_BT = jnp.asarray([[3, 1, 4, 1, 5, 9, 2, 6], [2, 7, 1, 8, 2, 8, 1, 8]], jnp.int32)
    outs = {}
    for bits in (None, 8):
        cache = KVCache.empty(cfg, 2, 24, jnp.float32, bits)
        logits, cache = model.step(prompt_BT, cache)
        steps = [logits[:, -1]]
        for t in range(12):                  # feed fixed tokens: the same inputs for both caches
            logits, cache = model.step(prompt_BT[:, t % 8][:, None], cache)
            steps.append(logits[:, -1])
        outs[bits] = jnp.stack(steps, 1)
        if bits:
            assert all(isinstance(b, Int8KV) for b in cache.k)
    rel = jnp.linalg.norm(outs[8] - outs[None]) / jnp.linalg.norm(outs[None])
    assert 0 < float(rel) < 0.02, (family, float(rel))


def test_an_int8_cache_takes_a_quarter_of_the_bytes_plus_its_scales():
    cfg = tiny_config("llama").model
    nbytes = lambda c: sum(x.nbytes for x in jax.tree.leaves((c.k, c.v)))
    f32, int8 = KVCache.empty(cfg, 1, 64, jnp.float32), KVCache.empty(cfg, 1, 64, jnp.float32, 8)
    assert nbytes(int8) == nbytes(f32) / 4 + nbytes(f32) / cfg.head_dim


def test_greedy_text_with_an_int8_cache_and_bad_settings():
    cfg = tiny_config("llama").model
    model = init_model(cfg)
    a = generate(model, [[1, 2, 3]], 20, temperature=0.0)
    b = generate(model, [[1, 2, 3]], 20, temperature=0.0, kv_bits=8)
    assert len(b[0]) == 20 and np.mean(np.equal(a, b)) >= 0.5
    with pytest.raises(ValueError, match="kv_bits=4"):
        KVCache.empty(cfg, 1, 8, jnp.float32, 4)
    with pytest.raises(ValueError, match="use_cache=False"):
        generate(model, [[1, 2, 3]], 5, use_cache=False, kv_bits=8)
