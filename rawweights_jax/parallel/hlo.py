"""Bytes a compiled step communicates, read from its HLO: what every collective is handed.

A program spread over devices talks only through a few collective operations, and XLA writes
each of them into the compiled module (`jitted.lower(...).compile().as_text()`) as one
instruction: `all-reduce` (sum everywhere), `all-gather` (concatenate the shards),
`reduce-scatter` (sum, then keep one shard), `all-to-all` (every device sends a piece to every
other) and `collective-permute` (send to one neighbour). Counting the bytes of their operands,
per device and per kind, gives the traffic of one step without running it, to set beside the
formula of each parallel strategy (analysis/comm.py).

The operands of an instruction are named, not shaped, in the text, so the count first reads
the shape of every instruction of the module, then looks up each collective's operands.
Asynchronous pairs (`all-gather-start` / `-done`) are counted once, at their start.
"""

from __future__ import annotations

import re

KINDS = ("all-reduce", "all-gather", "reduce-scatter", "all-to-all", "collective-permute")
"""The collectives counted, by their HLO opcode."""

DTYPE_BYTES = {"pred": 1, "s8": 1, "u8": 1, "s16": 2, "u16": 2, "f16": 2, "bf16": 2, "s32": 4,
               "u32": 4, "f32": 4, "s64": 8, "u64": 8, "f64": 8, "c64": 8, "c128": 16, "token": 0}

_INSTRUCTION = re.compile(r"^\s*(?:ROOT\s+)?%?([\w.\-]+)\s*=\s*(.+?)\s+([a-z][\w\-]*)\((.*)$")
_ARRAY = re.compile(r"\b([a-z]+\d*)\[([\d,]*)\]")
_OPERAND = re.compile(r"%([\w.\-]+)")


def shape_bytes(shape: str) -> int:
    """Bytes of an HLO shape: one array `f32[8,128]{1,0}` or a tuple of them (tokens count 0)."""
    total = 0
    for dtype, dims in _ARRAY.findall(shape):
        if dtype not in DTYPE_BYTES:
            raise ValueError(f"unknown HLO element type {dtype!r} in shape {shape!r}")
        n = 1
        for d in filter(None, dims.split(",")):
            n *= int(d)
        total += n * DTYPE_BYTES[dtype]
    return total


def _operands(args: str) -> list[str]:
    """Names of the operands in the text after `op(`: up to the closing parenthesis."""
    depth, end = 1, len(args)
    for i, ch in enumerate(args):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0:
            end = i
            break
    return _OPERAND.findall(args[:end])


# --8<-- [start:collective_bytes]
def collective_bytes(hlo_text: str) -> dict[str, int]:
    """Operand bytes per device of each collective kind in a compiled HLO module.

    Returns {kind: bytes} for every kind in KINDS (0 where absent). An operand whose shape the
    text never states raises ValueError: a silent zero would hide traffic.
    """
    shapes, calls = {}, []
    for line in hlo_text.splitlines():
        m = _INSTRUCTION.match(line)
        if not m:
            continue
        name, shape, op, args = m.groups()
        shapes[name] = shape
        kind = op.removesuffix("-start")
        if kind in KINDS and not op.endswith("-done"):
            calls.append((name, kind, _operands(args)))
    out = dict.fromkeys(KINDS, 0)
    for name, kind, operands in calls:
        for operand in operands:
            if operand not in shapes:
                raise ValueError(f"{kind} {name!r}: operand {operand!r} has no shape in the module")
            out[kind] += shape_bytes(shapes[operand])
    return out
# --8<-- [end:collective_bytes]


def compiled_collective_bytes(jitted, *args) -> dict[str, int]:
    """`collective_bytes` of `jitted` compiled for `args` (arrays or ShapeDtypeStructs)."""
    return collective_bytes(jitted.lower(*args).compile().as_text())
