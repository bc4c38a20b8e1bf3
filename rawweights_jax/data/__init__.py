"""Layer 5, data: the character tokenizer (tokenizer.py), tiny Shakespeare found, downloaded and
verified (shakespeare.py), and batches sampled on the device (batches.py)."""
