"""Layer 5, data: tokenizers (tokenizer.py: the protocol and characters; bpe.py: byte-level BPE;
tokenizer_spec.py: a tokenizer from its stored spec), tiny Shakespeare found, downloaded and
verified (shakespeare.py), batches sampled on the device (batches.py), and the pipeline's checks:
duplicates planted (planted.py) and found (dedup.py), train/validation n-gram overlap
(overlap.py), sequence packing (packing.py)."""
