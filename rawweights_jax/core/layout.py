"""The map of the library: each subpackage's layer. A module may import from its own layer and
the layers below it, never above, so the dependency graph reads bottom to top:

    0 core                      conventions (dimension letters, weight names)
    1 config                    what a model and a run are (no I/O, no JAX)
    2 kvcache, parallel         the cache pytree; devices, meshes, sharding rules
    3 nn                        pure functions and thin modules: dense, norms, MLP, RoPE,
                                attention (mask, backends, GQA, MLA), mixture of experts
    4 model                     a layer and the whole decoder
    5 families, ckpt, data      Hugging Face configs and weights; checkpoints; tokenizer, data
    6 train, inference,         the training step and run; sampling and generation;
      analysis                  formulas for parameters, cache, FLOPs and memory; the zoo
    7 posttrain                 chat template, supervised fine-tuning, preference
                                optimisation, RL from a grader (on top of train, inference)
    8 agents                    tool-using agents: grammar, constrained decoding, runtime
                                (they may use posttrain, never the reverse)
    9 serve, web, bench, cli    the HTTP server and its engine; the browser bundle of a
                                checkpoint; benchmarks; the `rawweights` command

tests/test_lib_layout.py enforces it; the site's reference section is generated from it.
"""

from __future__ import annotations

LAYERS: dict[str, int] = {
    "core": 0, "config": 1, "kvcache": 2, "parallel": 2, "nn": 3, "model": 4,
    "families": 5, "ckpt": 5, "data": 5, "train": 6, "inference": 6, "analysis": 6,
    "posttrain": 7, "agents": 8,
    "serve": 9, "web": 9, "bench": 9, "cli": 9,
}
"""Subpackage -> layer."""
