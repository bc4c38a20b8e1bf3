"""Generation: cached decoding equals recomputation, batches equal single prompts, seeds repeat."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from _lib_support import tiny_model
from rawweights_jax.inference.generate import cached_logits, generate
from rawweights_jax.inference.sampling import sample_logits, Sampling
from rawweights_jax.model.gpt import init_model
from rawweights_jax.parallel.sharding import shard_model, shard_weights

MODEL = init_model(tiny_model(n_kv_heads=2, context_len=32))


def test_cached_logits_equal_full_recompute_at_every_step():
    prompt = [5, 3, 9, 1]
    out, seen = cached_logits(MODEL, prompt, 20)
    full = MODEL(jnp.asarray([prompt + np.asarray(out).tolist()]))[0]
    np.testing.assert_allclose(seen, full[len(prompt) - 1:len(prompt) + 19], atol=1e-5)


def test_cached_and_uncached_greedy_agree_for_a_batch_of_different_lengths():
    prompts = [[1, 2, 3], [4, 5, 6, 7, 8, 9, 10], [11]]
    cached = generate(MODEL, prompts, 16, temperature=0)
    assert cached == generate(MODEL, prompts, 16, temperature=0, use_cache=False)
    for p, row in zip(prompts, cached):                     # batching does not change a row
        assert generate(MODEL, [p], 16, temperature=0) == [row]


def test_seeds_and_sampling_filters():
    prompts = [[1, 2], [3]]
    a = generate(MODEL, prompts, 12, temperature=1.0, seed=3)
    assert a == generate(MODEL, prompts, 12, temperature=1.0, seed=3)
    assert a != generate(MODEL, prompts, 12, temperature=1.0, seed=4)
    assert generate(MODEL, prompts, 12, top_k=1, seed=5) == generate(MODEL, prompts, 12, temperature=0)
    logits = jnp.log(jnp.array([[0.5, 0.3, 0.15, 0.05]]))
    import jax
    picks = {int(sample_logits(logits, jax.random.key(i), Sampling(1.0, top_p=0.75))[0]) for i in range(200)}
    assert picks == {0, 1}                                   # 0.5 + 0.3 reaches 0.75


def test_generation_past_the_context_length():
    out = generate(MODEL, [[1, 2, 3]], 80, temperature=0.9, seed=1)
    assert len(out[0]) == 80 and all(0 <= t < MODEL.cfg.vocab_size for t in out[0])


@pytest.mark.parametrize("kwargs, message", [
    (dict(temperature=-1), "temperature=-1.0 is invalid"), (dict(top_k=0), "top_k=0 is invalid"),
    (dict(top_p=1.5), "top_p=1.5 is invalid")])
def test_bad_sampling_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate(MODEL, [[1]], 4, **kwargs)


def test_bad_prompts():
    with pytest.raises(ValueError, match="prompt 1 is empty"):
        generate(MODEL, [[1], []], 4)
    with pytest.raises(ValueError, match="prompt 0 holds token id 99"):
        generate(MODEL, [[99]], 4)
    with pytest.raises(ValueError, match="max_new_tokens=0"):
        generate(MODEL, [[1]], 0)


def test_tensor_parallel_decoding_over_two_cpu_devices_gives_the_same_tokens(mesh2):
    """generate() with a mesh splits the weights over its devices (parallel/sharding.py); the
    tokens must not change."""
    model = init_model(tiny_model(n_kv_heads=2, context_len=32))
    single = generate(model, [[1, 2, 3], [4]], 40, temperature=0)
    assert generate(model, [[1, 2, 3], [4]], 40, temperature=0, mesh=mesh2) == single


def test_a_request_that_fits_the_context_decodes_in_one_compiled_call(monkeypatch):
    """Rounding a short prompt's padding up must not cost a second chunk (a re-prefill)."""
    import rawweights_jax.inference.generate as gen
    calls = []
    real = gen._generate_cached
    monkeypatch.setattr(gen, "_generate_cached", lambda *a, **k: calls.append(k["n_new"]) or real(*a, **k))
    ctx = MODEL.cfg.context_len
    out = generate(MODEL, [[1]], ctx - 1, temperature=0)
    assert calls == [ctx - 1] and len(out[0]) == ctx - 1
    calls.clear()
    assert out == generate(MODEL, [[1]], ctx - 1, temperature=0, use_cache=False)
    out = generate(MODEL, [[1, 2, 3]], ctx, temperature=0)   # past the context: chunks
    assert len(calls) == 2 and len(out[0]) == ctx


def test_prompt_padding_widths():
    from rawweights_jax.inference.generate import PAD_MULTIPLE, pad_width
    assert [pad_width(n) for n in (1, 2, 3, 5, 17, 31)] == [1, 2, 4, 8, 32, 32]
    assert [pad_width(n) for n in (32, 33, 64, 65)] == [32, 64, 64, 96]
    assert all(pad_width(n) >= n and pad_width(n) % min(pad_width(n), PAD_MULTIPLE) == 0
               for n in range(1, 300))


def test_a_model_placed_on_the_mesh_is_not_copied_again(mesh2):
    """shard_model places the weights once; generate() then finds them split and makes no copy
    (so a server or benchmark pays for the split once, not per call), and a changed weight is
    simply used: there is no hidden copy that could go stale."""
    model = shard_model(init_model(tiny_model(context_len=32)), mesh2)
    params = nnx.state(model, nnx.Param)
    placed = shard_weights(params, mesh2)
    same = [a is b for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(placed))]
    assert all(same)
    assert any(axis is not None for x in jax.tree.leaves(params) for axis in x.sharding.spec)
    before = generate(model, [[1, 2]], 8, temperature=0, mesh=mesh2)
    model.wte_VD[...] = model.wte_VD[...][::-1]
    after = generate(model, [[1, 2]], 8, temperature=0, mesh=mesh2)
    assert after != before and after == generate(model, [[1, 2]], 8, temperature=0)
