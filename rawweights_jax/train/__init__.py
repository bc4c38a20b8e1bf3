"""Layer 6, training: the loss (loss.py), the optimizer and schedule (optimizer.py), the compiled
step and its data parallelism (trainer.py), and the run with its checkpoints (loop.py)."""
