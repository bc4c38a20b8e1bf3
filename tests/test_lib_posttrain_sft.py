"""Supervised fine-tuning: the chat template and its loss mask, the vocabulary extension, the
masked loss and `finetune`, the graded tasks, and the cheapest point of `bench posttrain`."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from _lib_support import forward, tiny_model

from rawweights_jax.data.tokenizer import CharTokenizer
from rawweights_jax.model.gpt import init_model
from rawweights_jax.posttrain import chat, sft, tasks
from rawweights_jax.posttrain.chat import END, PROMPT, TURN

CHARS = "\n abcdefghijklmnopqrstuvwxyz:?"


def tiny(tie: bool = True, ctx: int = 32):
    tok = CharTokenizer(CHARS)
    model = init_model(tiny_model(vocab_size=tok.vocab_size, context_len=ctx, tie_embeddings=tie), seed=1)
    return model, tok


# ------------------------------------------------------------------------- template and mask
def test_render_writes_the_template_and_refuses_a_marker_inside():
    assert chat.render("12+3", "15") == f"{PROMPT}12+3{TURN}15{END}"
    assert chat.render("12+3") == f"{PROMPT}12+3{TURN}"
    with pytest.raises(ValueError, match="marker"):
        chat.render(f"a{END}b", "c")


def test_the_mask_grades_exactly_the_answer_and_the_end_marker():
    model, tok = chat.extend_vocab(*tiny())
    tokens_T, mask_T = chat.encode(tok, "ab", "xyz", 16)
    text = tok.decode(tokens_T)
    assert text.startswith(f"{PROMPT}ab{TURN}xyz{END}") and len(tokens_T) == 16
    # position t predicts character t+1: the graded targets are x, y, z and the end marker
    graded = "".join(text[t + 1] for t in np.flatnonzero(mask_T))
    assert graded == f"xyz{END}"
    assert list(np.flatnonzero(mask_T)) == [3, 4, 5, 6]
    _, all_T = chat.encode(tok, "ab", "xyz", 16, loss_on="all")
    assert list(np.flatnonzero(all_T)) == [0, 1, 2, 3, 4, 5, 6]


def test_an_example_longer_than_the_context_is_named():
    _, tok = chat.extend_vocab(*tiny())
    with pytest.raises(ValueError, match=r"has 12 characters, more than the context of 10"):
        chat.encode(tok, "abcdefgh", "x", 10)


def test_encode_batch_shifts_and_cuts_to_the_longest_example():
    _, tok = chat.extend_vocab(*tiny())
    x_NT, y_NT, mask_NT = chat.encode_batch(tok, [("ab", "c"), ("abcd", "ef")], 32)
    assert x_NT.shape == y_NT.shape == mask_NT.shape == (2, 8)
    assert (x_NT[:, 1:] == y_NT[:, :-1]).all()
    assert mask_NT.sum(1).tolist() == [2, 3]


@pytest.mark.parametrize("tie", [True, False])
def test_extend_vocab_keeps_old_logits_and_adds_mean_rows(tie):
    model, tok = tiny(tie)
    big, big_tok = chat.extend_vocab(model, tok)
    added = big_tok.vocab_size - tok.vocab_size
    assert big_tok.chars.startswith(tok.chars) and big.cfg.vocab_size == big_tok.vocab_size
    assert added == len(set(chat.EXTRA_CHARS) - set(CHARS))
    x_BT = jnp.asarray([tok.encode("hear me speak")])
    old, new = forward(model, x_BT), forward(big, x_BT)
    assert new.shape[-1] == old.shape[-1] + added
    np.testing.assert_allclose(new[..., :tok.vocab_size], old, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(big.wte_VD[...][-1], model.wte_VD[...].mean(0), rtol=1e-5, atol=1e-6)
    assert model.cfg.vocab_size == tok.vocab_size       # the input model is untouched
    again, again_tok = chat.extend_vocab(big, big_tok)  # nothing left to add
    assert again_tok == big_tok and again.cfg.vocab_size == big.cfg.vocab_size


# ------------------------------------------------------------------------- loss and finetune
def test_masked_loss_is_the_mean_over_graded_targets():
    model, tok = chat.extend_vocab(*tiny())
    x_NT, y_NT, mask_NT = chat.encode_batch(tok, [("ab", "c"), ("abcd", "ef")], 32)
    logits = np.asarray(forward(model, jnp.asarray(x_NT)), np.float64)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    by_hand = -np.mean([logp[n, t, y_NT[n, t]] for n, t in zip(*np.nonzero(mask_NT))])
    got = sft.masked_loss(model, jnp.asarray(x_NT), jnp.asarray(y_NT), jnp.asarray(mask_NT))
    np.testing.assert_allclose(float(got), by_hand, rtol=1e-5)


def test_a_few_finetune_steps_lower_the_masked_loss_and_leave_the_input_model_alone():
    model, tok = chat.extend_vocab(*tiny())
    data = chat.encode_batch(tok, [("ab", "ba"), ("cd", "dc"), ("xy", "yx")] * 4, 32)
    before = float(sft.masked_loss(model, *map(jnp.asarray, data)))
    tuned, history = sft.finetune(model, *data, steps=40, batch=8, lr=1e-2, seed=0, log_every=10)
    after = float(sft.masked_loss(tuned, *map(jnp.asarray, data)))
    assert after < 0.5 * before, (before, after)
    assert history["step"] == [0, 10, 20, 30, 39] and len(history["loss"]) == 5
    assert float(sft.masked_loss(model, *map(jnp.asarray, data))) == pytest.approx(before)
    with pytest.raises(ValueError, match="steps=0"):
        sft.finetune(model, *data, steps=0, batch=8, lr=1e-3, seed=0)


# ------------------------------------------------------------------------- tasks
@pytest.mark.parametrize("name", sorted(tasks.TASKS))
def test_each_task_grades_its_answer_right_and_a_wrong_one_wrong(name, shakespeare):
    task = tasks.task(name)
    train, test = task.make(50, 0, "train"), task.make(20, 0, "test")
    assert len(train) == 50 and len(test) == 20
    assert not {p for p, _ in train} & {p for p, _ in test}      # held out, whatever the seed
    assert task.make(5, 3) == task.make(5, 3)                     # seeded
    for prompt, answer in train[:10] + test[:10]:
        assert task.grade(prompt, answer + END + "junk")
        assert task.grade(prompt, answer)                         # an answer that never ended
        assert not task.grade(prompt, answer + "x" + END)
        assert not task.grade(prompt, "")
        assert len(chat.render(prompt, answer)) <= 64
        assert len(answer) + 1 <= task.max_answer


def test_task_examples_are_what_they_claim(shakespeare):
    (p, a), = tasks.TASKS["add3"].make(1, 5)
    assert int(p[:3]) + int(p[4:]) == int(a)
    assert tasks.TASKS["count"].grade("count e:beseech", "3")
    assert tasks.TASKS["reverse"].grade("rev:night", "thgin")
    assert tasks.TASKS["speaker"].make(1, 0)[0][1] in tasks.SPEAKERS
    with pytest.raises(ValueError, match="unknown task 'nope'"):
        tasks.task("nope")
    with pytest.raises(ValueError, match="split='dev'"):
        tasks.TASKS["add3"].make(3, 0, "dev")


# ------------------------------------------------------------------------- bench posttrain
def test_the_bench_cheapest_point_returns_every_key(shakespeare, tmp_path):
    from rawweights_jax.bench.posttrain import bench_posttrain

    tok = shakespeare.tokenizer       # the student's 65 characters; the bench extends them
    model = init_model(tiny_model(vocab_size=tok.vocab_size, context_len=64, n_layers=1), seed=0)
    base = sft.save_model(tmp_path / "base" / "ckpt.safetensors", model, tok)
    small = dict(steps=2, batch=4, n_train=3, n_test=2)
    r = bench_posttrain(("sft",), base.parent, seed=0, quiet=True, sft_options=small)
    for key in ("sft_task_accuracy", "scratch_task_accuracy", "all_chars_task_accuracy", "steps",
                "train_examples", "runs", "date", "device", "base", "seconds_sft"):
        assert key in r, key
    for name in tasks.TASKS:
        assert 0 <= r[f"sft_{name}_accuracy"] <= 1 and f"scratch_{name}_accuracy" in r
    assert set(r["runs"]) == {"sft", "scratch", "all_chars"}
    assert r["runs"]["sft"]["curve"]["step"] == [0, 1] and r["train_examples"] == 3 * len(tasks.TASKS)
    with pytest.raises(ValueError, match="expected some of sft"):
        bench_posttrain(("nope",), base.parent)


def test_without_the_sft_figures_only_the_student_is_fine_tuned(shakespeare):
    """DPO and GRPO start from the SFT student; the comparison runs are SFT's figures only."""
    from rawweights_jax.bench.posttrain_sft import run_sft

    tok = shakespeare.tokenizer
    model = init_model(tiny_model(vocab_size=tok.vocab_size, context_len=64, n_layers=1), seed=0)
    said = []
    tuned, new_tok, results = run_sft(model, tok, seed=0, progress=said.append, compare=False,
                                      steps=2, batch=4, n_train=3, n_test=2)
    assert results == {} and new_tok.vocab_size > tok.vocab_size
    assert tuned.cfg.vocab_size == new_tok.vocab_size
    assert [line for line in said if "fine-tuning" in line] == [
        "posttrain sft: fine-tuning sft (2 steps of 4, loss on answer)"]


def test_the_cli_names_a_bad_part_in_one_line():
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "rawweights_jax.cli", "bench", "posttrain", "--parts", "sft,nope"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "expected some of sft" in r.stderr and "Traceback" not in r.stderr


def test_the_committed_result_file_holds_what_the_page_reads():
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks/results/posttrain-sft-cpu-2026-12-04.json"
    r = json.loads(path.read_text())
    for key in ("device", "date", "command", "commit", "sft_task_accuracy", "scratch_task_accuracy",
                "all_chars_task_accuracy", "steps", "batch", "train_examples", "test_examples_per_task"):
        assert key in r, key
    assert set(r["runs"]) == {"sft", "scratch", "all_chars"} and r["tasks"] == list(tasks.TASKS)
    for run in r["runs"].values():
        assert {"curve", "tasks", "task_accuracy", "seconds"} <= set(run)
