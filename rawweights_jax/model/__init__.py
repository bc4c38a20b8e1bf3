"""Layer 4, the model: a layer (block.py) and the whole decoder (gpt.py), built from nn/."""
