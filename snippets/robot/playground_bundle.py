"""The playground's model: the trained robot student exported for the browser, its training
snapshots with it, and what storing its weights as float16 costs.

`rawweights export-web` writes the bundle (rawweights_jax/web/export.py) once per trained
student (a shared result), and the build publishes it beside the playground page, with a
bundle for each snapshot the training kept (the page's switcher loads one when asked). The cost of
float16 is measured here against the float32 checkpoint: the largest change of a logit on the
reference prompts, and the cross-entropy on validation text.

Run on its own: python snippets/robot/playground_bundle.py  (trains the student first if needed)
"""

import json

import optax

from _student import SNAPSHOT_STEPS, student_dir
from rawweights_jax.ckpt.checkpoint import load_model
from rawweights_jax.data.batches import spaced_windows
from rawweights_jax.data.shakespeare import load_shakespeare
from rawweights_jax.web.export import export_web, load_bundle
from rwsite.claims import claim, data, value
from rwsite.shared import shared
from rwsite.site_files import publish


def _export(out):
    export_web(student_dir(), out, dtype="float16")


def _export_snapshot(step):
    return lambda out: export_web(student_dir() / f"ckpt_step{step}.safetensors", out, dtype="float16")


bundle = shared("playground-bundle", build=_export, key_parts=[student_dir().name])
publish("playground/robot-student", bundle)
snapshots = {step: shared(f"playground-bundle-step{step}", build=_export_snapshot(step),
                          key_parts=[student_dir().name, step]) for step in SNAPSHOT_STEPS}
for step, folder in snapshots.items():
    publish(f"playground/robot-student-step{step}", folder)

# --8<-- [start:cost]
model16, tok, manifest = load_bundle(bundle)       # the weights as the browser reads them
model32 = load_model(student_dir())[0]
x_BT, y_BT = spaced_windows(load_shakespeare().val_Z, manifest["model"]["context_len"], 64)


def loss(model):
    return float(optax.softmax_cross_entropy_with_integer_labels(model(x_BT), y_BT).mean())


loss16, loss32 = loss(model16), loss(model32)
# --8<-- [end:cost]

sizes = {f: (bundle / f).stat().st_size for f in ("weights.bin", "manifest.json", "reference.json")}
reference = json.loads((bundle / "reference.json").read_text())
rounding = reference["rounding"]
print(f"bundle of step {manifest['source']['step']}: "
      + ", ".join(f"{name} {n / 1e6:.3f} MB" for name, n in sizes.items()))
print(f"float32 weights would take {sum(t['bytes'] for t in manifest['tensors']) * 2 / 1e6:.3f} MB")
print(f"largest logit change from float16 on {rounding['prompts']} prompts: "
      f"{rounding['max_abs_logit_change']:.2g} (largest |logit| {rounding['max_abs_logit']:.1f})")
print(f"validation cross-entropy: float32 {loss32:.5f}, float16 {loss16:.5f} "
      f"(change {loss16 - loss32:+.5f} nats/char)")

print("\nthe greedy continuation of the same prompt at each training step:")
for step, folder in [*snapshots.items(), (manifest["source"]["step"], bundle)]:
    greedy = json.loads((folder / "reference.json").read_text())["greedy"]
    print(f"{step:>5} steps: {(greedy['prompt'] + greedy['text'])[:64]!r}")

value("snapshot_steps", ", ".join(map(str, SNAPSHOT_STEPS)))
# the page's switcher: each snapshot's bundle, beside the final one
data("playground_snapshots", {"steps": list(SNAPSHOT_STEPS), "model": "robot-student-step{step}/manifest.json"})
value("bundle_mb", f"{sum(sizes.values()) / 1e6:.1f}")
value("f32_mb", f"{sum(t['bytes'] for t in manifest['tensors']) * 2 / 1e6:.1f}")
value("context", str(manifest["model"]["context_len"]))
value("vocab", str(len(manifest["vocab"])))
value("f16_logit_change", f"{rounding['max_abs_logit_change']:.1g}")
value("f16_loss_change", f"{abs(loss16 - loss32):.1g}")
claim(rounding["same_argmax"] == rounding["prompts"],
      "float16 weights pick the same likeliest character after every reference prompt")
claim(rounding["greedy_chars_equal_to_float32"] == len(reference["greedy"]["text"]),
      "the greedy continuation of float16 weights is float32's, character for character")
claim(abs(loss16 - loss32) < 1e-3, "float16 changes the validation loss by less than 0.001",
      loss16=loss16, loss32=loss32)
