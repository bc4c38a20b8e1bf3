"""The PyTorch yardstick (benchmarks/torch_reference.py) trains the same model as ours: with our
weights copied in, its loss equals ours; a short run learns; bad arguments exit 2. Needs torch."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the torch yardstick needs torch: pip install -e '.[hf]'")

from rawweights_jax.config import preset  # noqa: E402
from rawweights_jax.model.gpt import count_params, init_model  # noqa: E402
from rawweights_jax.train.loss import cross_entropy  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "torch_reference.py"


@pytest.fixture(scope="module")
def ref():
    spec = importlib.util.spec_from_file_location("torch_reference", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def copy_weights(ours, theirs, cfg):
    """Our parameters into the torch model: torch's Linear stores [out, in], ours [in, out]."""
    t = lambda a: torch.from_numpy(np.asarray(a, np.float32).copy())
    N, H, D = cfg.n_heads, cfg.head_dim, cfg.d_model
    with torch.no_grad():
        theirs.wte.weight.copy_(t(ours.wte_VD[...]))
        theirs.wpe.weight.copy_(t(ours.wpe_TD[...]))
        theirs.ln_f.weight.copy_(t(ours.norm_out.scale_D[...]))
        for mine, block in zip(ours.blocks, theirs.blocks):
            # ours: [D, K=N, J=3 (q, k, v), H]; torch's output features run (q|k|v, head, h)
            wqkv = np.asarray(mine.attn.wqkv_DKJH[...]).transpose(2, 1, 3, 0).reshape(3 * N * H, D)
            block.qkv.weight.copy_(t(wqkv))
            block.attn_out.weight.copy_(t(np.asarray(mine.attn.wo_NHD[...]).reshape(N * H, D).T))
            block.ln_attn.weight.copy_(t(mine.norm_attn.scale_D[...]))
            block.ln_mlp.weight.copy_(t(mine.norm_mlp.scale_D[...]))
            block.mlp_in.weight.copy_(t(np.asarray(mine.mlp.w_in_DF[...]).T))
            block.mlp_out.weight.copy_(t(np.asarray(mine.mlp.w_out_FD[...]).T))


def test_same_model_same_loss(ref):
    cfg = preset("shakespeare-char-cpu").model
    ours, theirs = init_model(cfg), ref.TorchGPT(cfg)
    assert sum(p.numel() for p in theirs.parameters()) == count_params(ours)
    copy_weights(ours, theirs, cfg)
    rng = np.random.default_rng(0)
    x = rng.integers(0, cfg.vocab_size, (3, cfg.context_len))
    y = rng.integers(0, cfg.vocab_size, (3, cfg.context_len))
    mine = float(cross_entropy(ours(x), y))
    with torch.no_grad():
        theirs_loss = theirs(torch.from_numpy(x), torch.from_numpy(y)).item()
    assert abs(mine - theirs_loss) < 1e-4, (mine, theirs_loss)


def test_short_run_learns(ref, shakespeare):
    cfg = preset("shakespeare-char-cpu").replace(max_iters=60, warmup_iters=10, lr_decay_iters=60,
                                                 eval_interval=30, eval_iters=2)
    lines = []
    out = ref.run(cfg, progress=lines.append)
    assert [line.split("|")[0].strip() for line in lines] == ["step    30/60", "step    60/60"]
    assert out["iters"] == 60 and out["ms_per_iter"] > 0
    assert out["val_loss"] < np.log(cfg.model.vocab_size) - 1.0     # 4.17 at random; it has learned


@pytest.mark.parametrize("argv, message", [
    (["train", "--max-iters", "0"], "--max-iters must be at least 1, got 0"),
    (["decode", "--lengths", "64,x"], "--lengths must be comma-separated integers"),
    (["decode", "--lengths", "256"], "--lengths must lie in 1..255"),
    (["bench"], "invalid choice"),
])
def test_bad_arguments_exit_2(ref, argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        ref.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
