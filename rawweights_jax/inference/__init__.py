"""Layer 6, inference: choosing the next token (sampling.py) and generating text with the KV
cache in one compiled loop (generate.py)."""
