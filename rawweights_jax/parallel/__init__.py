"""Layer 2, several devices: one XLA device per CPU core (devices.py), the one mesh builder
(mesh.py), and which axis of each weight is split (sharding.py)."""
