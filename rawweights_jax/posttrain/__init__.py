"""Post-training: teaching the pretrained student new forms of exercise.

    chat.py    the chat template «prompt»answer¶, its loss mask, the vocabulary extension
    sft.py     supervised fine-tuning: target log-probs, the masked loss, `finetune`
    tasks.py   graded exercises (add3, reverse, count, speaker): `TASKS[name].make / .grade`

Preference optimisation (dpo.py) and RL from a grader (grpo.py) build on these.
"""
