"""Layer 5, the model families of Hugging Face: reading and writing their config.json
(hf_config.py), loading their safetensors weights (hf_weights.py), and one tiny, instantiable
config per family (tiny.py)."""
