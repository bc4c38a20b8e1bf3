"""Layer 5, checkpoints: a whole training state in one safetensors file, atomic, no pickle."""
