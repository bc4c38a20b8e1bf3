"""Layer 6, arithmetic on configs: the only formulas for parameters, KV-cache bytes, FLOPs and
memory (counts.py), the shipped open-weight configs (zoo.py), and `rawweights inspect`
(inspector.py)."""
