"""Layer 2, several devices: one XLA device per CPU core (devices.py), the one mesh builder
(mesh.py), which axis of each weight is split (sharding.py), the bytes a compiled program
hands to collectives (hlo.py), and pipeline schedules with their bubble (schedule.py)."""
