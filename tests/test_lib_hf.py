"""Parity with the reference: every family's tiny random transformers model, loaded by load_hf,
gives the same logits (within 1e-4, float32) for a full forward pass and while generating with
the KV cache, and the same greedy tokens. Needs torch and transformers (the `hf` extra)."""

from __future__ import annotations


import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="parity tests need torch: pip install -e '.[hf]'")
transformers = pytest.importorskip(
    "transformers", reason="parity tests need transformers: pip install -e '.[hf]'")

import jax.numpy as jnp  # noqa: E402

from _hf_support import make_hf_model  # noqa: E402
from _lib_support import forward  # noqa: E402
from rawweights_jax.families.hf_config import config_from_hf, config_to_hf  # noqa: E402
from rawweights_jax.families.tiny import TINY_HF  # noqa: E402
from rawweights_jax.inference.generate import cached_logits, generate  # noqa: E402
from rawweights_jax.families.hf_weights import HFWeightsError, load_hf  # noqa: E402

TOL = 1e-4
N_NEW = 20


@pytest.fixture(scope="module", params=sorted(TINY_HF))
def pair(request, tmp_path_factory):
    """(family, transformers model, our model loaded from its save_pretrained directory)."""
    family = request.param
    ref = make_hf_model(family)
    path = tmp_path_factory.mktemp(family)
    ref.save_pretrained(path)
    return family, ref, load_hf(path), path


def test_full_forward_matches(pair):
    family, ref, ours, _ = pair
    tokens = np.random.default_rng(1).integers(0, 65, (2, 40))   # longer than every window
    with torch.no_grad():
        want = ref(torch.tensor(tokens)).logits.numpy()
    got = np.asarray(forward(ours, jnp.asarray(tokens, jnp.int32)))
    assert np.abs(got - want).max() < TOL, family


def test_cached_generation_matches(pair):
    family, ref, ours, _ = pair
    prompt = np.random.default_rng(2).integers(0, 65, 11).tolist()
    with torch.no_grad():
        out = ref.generate(torch.tensor([prompt]), max_new_tokens=N_NEW, do_sample=False,
                           min_new_tokens=N_NEW, pad_token_id=0)
        want_tokens = out[0, len(prompt):].tolist()
        # the reference's logits before each new token, from one full pass over the result
        want_logits = ref(out).logits[0, len(prompt) - 1:-1].numpy()
    tokens, seen = cached_logits(ours, prompt, N_NEW)
    assert np.asarray(tokens).tolist() == want_tokens, family
    assert np.abs(np.asarray(seen) - want_logits).max() < TOL, family
    assert generate(ours, [prompt], N_NEW, temperature=0)[0] == want_tokens


def test_config_round_trip(pair):
    family, ref, ours, path = pair
    cfg = ours.cfg
    hf = config_to_hf(cfg, family)
    assert config_from_hf(hf) == cfg
    rebuilt = transformers.AutoConfig.for_model(**hf)      # transformers accepts what we write
    assert type(rebuilt) is type(ref.config)


def test_missing_unexpected_and_misshapen_tensors_are_listed(pair, tmp_path):
    from safetensors.numpy import load_file, save_file

    family, _, _, path = pair
    tensors = load_file(str(path / "model.safetensors"))
    names = sorted(tensors)
    dropped, renamed = names[0], names[1]
    tensors.pop(dropped)
    tensors["extra.weight"] = np.zeros(3, np.float32)
    save_file(tensors, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text((path / "config.json").read_text())
    with pytest.raises(HFWeightsError) as err:
        load_hf(tmp_path)
    assert dropped in str(err.value) and "extra.weight" in str(err.value)
    tensors = load_file(str(path / "model.safetensors"))
    tensors[renamed] = tensors[renamed][..., :-1].copy() if tensors[renamed].ndim else tensors[renamed]
    save_file(tensors, str(tmp_path / "model.safetensors"))
    with pytest.raises(HFWeightsError, match="wrongly shaped"):
        load_hf(tmp_path)
