"""Accelerators as the planner sees them: a matmul peak, a memory, and two networks.

Training speed on many devices comes down to a handful of published numbers per chip: its dense
BF16 matrix peak, its memory (HBM) size, the fast link inside a node (NVLink, Infinity Fabric,
TPU ICI) and the slower network between nodes. They live in accelerators.json beside this file,
each with the page it was read from and the date, so a reader can check every one.

Bandwidths: a link is published as both directions added together (NVLink's 900 GB/s is 450 each
way); a collective sends and receives at once, so the planner uses one direction's worth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

TABLE = Path(__file__).parent / "accelerators.json"


@dataclass(frozen=True)
class Accelerator:
    """One device's published specs, in SI units (FLOP/s, bytes, bytes/s)."""

    key: str
    name: str
    peak_flops: float
    """Dense BF16 matrix peak (no structured sparsity)."""
    hbm_bytes: float
    hbm_bandwidth: float
    link_bandwidth: float
    """One direction of the fast link inside a node, per device."""
    node_size: int
    """Devices the fast link joins (8 GPUs of an HGX board; a TPU slice)."""
    inter_node_bandwidth: float
    """One direction of the network between nodes, per device."""
    sources: tuple[str, ...]
    checked: str
    notes: str

    def with_inter_node(self, gbit: float) -> "Accelerator":
        """The same chip on a network of `gbit` Gb/s per device (another cluster's NICs)."""
        if not gbit > 0:
            raise ValueError(f"inter-node bandwidth must be > 0 Gb/s, got {gbit}")
        return Accelerator(**{**self.__dict__, "inter_node_bandwidth": gbit * 1e9 / 8})


def accelerator_names() -> list[str]:
    return [k for k in json.loads(TABLE.read_text()) if not k.startswith("_")]


def accelerator(name: str) -> Accelerator:
    """The accelerator called `name` (case-insensitive); an unknown name lists the known ones."""
    table = json.loads(TABLE.read_text())
    key = name.strip().lower()
    if key.startswith("_") or key not in table:
        raise ValueError(f"unknown accelerator {name!r}: known ones are {', '.join(accelerator_names())}")
    d = table[key]
    return Accelerator(key, d["name"], d["bf16_tflops"] * 1e12, d["hbm_gb"] * 1e9,
                       d["hbm_gbps"] * 1e9, d["link_gbps"] * 1e9 / 2, d["node_size"],
                       d["inter_node_gbit"] * 1e9 / 8, tuple(d["sources"]), d["checked"], d["notes"])
