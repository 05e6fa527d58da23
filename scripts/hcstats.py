#!/usr/bin/env python3
"""Read a HodgeCover statistics file (.hcstats) with numpy alone.

    import hcstats
    meta, tensors = hcstats.load("model.hcstats")
    barriers = tensors["layers.0.edge_barrier"]

Run as a script to print a summary:  python3 scripts/hcstats.py FILE [--json]
"""
import json
import struct
import sys

import numpy as np

_DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
    "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?",
}


def load(path):
    """Returns (metadata dict, {name: numpy array}) for a safetensors / .hcstats file."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = memoryview(raw)[8 + n:]
    tensors = {}
    for name, info in header.items():
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            continue  # not a dtype numpy reads natively (e.g. BF16, F8); not used by .hcstats
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype=dtype)
        tensors[name] = arr.reshape(info["shape"])
    return meta, tensors


def summary(path):
    meta, tensors = load(path)
    layers = [int(x) for x in meta.get("moe_layers", "").split(",") if x]
    out = {"format": meta.get("format"), "format_version": meta.get("format_version"),
           "model": meta.get("model"), "family": meta.get("family"), "layers": []}
    for layer in layers:
        barrier = tensors[f"layers.{layer}.edge_barrier"]
        tri = tensors.get(f"layers.{layer}.triangle_barrier", np.zeros(0, np.float32))
        out["layers"].append({
            "layer": layer,
            "experts": int(tensors[f"layers.{layer}.expert_frequency"].shape[0]),
            "edges": int(barrier.shape[0]),
            "triangles": int(tri.shape[0]),
            "mean_edge_barrier": float(barrier.mean(dtype=np.float64)) if barrier.size else 0.0,
        })
    return out


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    result = summary(sys.argv[1])
    if "--json" in sys.argv:
        print(json.dumps(result))
    else:
        print(f"{result['model']} ({result['family']}), format {result['format_version']}")
        for layer in result["layers"]:
            print(f"  layer {layer['layer']}: {layer['experts']} experts, {layer['edges']} edges, "
                  f"{layer['triangles']} triangles, mean barrier {layer['mean_edge_barrier']:.4f}")
