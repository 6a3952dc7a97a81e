#!/usr/bin/python3
"""Export a training checkpoint's EMA weights to ONNX for the Go DDRM prior.

Writes <out>/model.onnx, <out>/reference.npz (a PyTorch input/output pair the
Go side can compare ONNX Runtime against) and <out>/model.json (manifest).

    /usr/bin/python3 models/train/export_onnx.py --run models/train/runs/cpu
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from unet import UNet  # noqa: E402

MAX_BYTES = 16 * 1024 * 1024
OPSET = 17  # highest opset onnx 1.12 knows


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default=os.path.join(HERE, "runs", "cpu"), help="run folder holding checkpoint.pt")
    ap.add_argument("--name", default="ddrm-unet-small", help="model name, also the default output folder name")
    ap.add_argument("--out", help="output folder (default: models/bundled/<name>)")
    args = ap.parse_args()

    out = args.out or os.path.join(HERE, "..", "bundled", args.name)
    os.makedirs(out, exist_ok=True)
    ckpt = torch.load(os.path.join(args.run, "checkpoint.pt"), map_location="cpu")
    cfg, sched = ckpt["config"], ckpt["schedule"]
    model = UNet(cfg["channels"], cfg["num_res_blocks"], cfg["groups"], cfg["dropout"])
    model.load_state_dict(ckpt["ema"])
    model.eval()

    onnx_path = os.path.join(out, "model.onnx")
    x = torch.randn(1, 3, 64, 64)
    t = torch.tensor([500], dtype=torch.int64)
    torch.onnx.export(
        model, (x, t), onnx_path, opset_version=OPSET,
        input_names=["x", "t"], output_names=["eps"],
        dynamic_axes={"x": {0: "B", 2: "H", 3: "W"}, "t": {0: "B"}, "eps": {0: "B", 2: "H", 3: "W"}})
    onnx.checker.check_model(onnx.load(onnx_path))
    size = os.path.getsize(onnx_path)
    if size > MAX_BYTES:
        raise SystemExit(f"{onnx_path} is {size} bytes, over the {MAX_BYTES} byte limit")

    # Reference pair from a fixed seed: a noisy-looking input at a mid time step.
    g = torch.Generator().manual_seed(1234)
    ref_x = torch.randn(1, 3, 64, 64, generator=g).clamp(-3, 3)
    ref_t = torch.tensor([250], dtype=torch.int64)
    with torch.no_grad():
        ref_eps = model(ref_x, ref_t)
    ref_path = os.path.join(out, "reference.npz")
    # t is saved as float32: readers of .npz traces in Go take float arrays.
    np.savez(ref_path, x=ref_x.numpy(), t=ref_t.numpy().astype(np.float32), eps=ref_eps.numpy())

    folders = ckpt["data"]["folders"]
    # The schema of models/manifest.go: unknown keys are rejected except in
    # provenance, where they are kept as extra facts.
    manifest = {
        "name": args.name,
        "role": "ddrm-prior",
        "description": f"eps-prediction UNet, {ckpt['params'] / 1e6:.1f}M parameters, trained here on CPU",
        "files": [{"path": f, "sha256": sha256(os.path.join(out, f))} for f in ("model.onnx", "reference.npz")],
        "inputs": [{"name": "x", "dtype": "float32", "shape": ["B", 3, "H", "W"]},
                   {"name": "t", "dtype": "int64", "shape": ["B"]}],
        "outputs": [{"name": "eps", "dtype": "float32", "shape": ["B", 3, "H", "W"]}],
        "schedule": {"type": sched["type"], "beta_start": sched["beta_start"],
                     "beta_end": sched["beta_end"], "T": sched["T"]},
        "size_multiple": model.size_multiple,
        "value_range": [-1, 1],
        "learned_variance": False,
        "provenance": {
            "data": "../shared/data/train: " + ", ".join(f"{k} {v}" for k, v in folders.items())
                    + f" ({sum(folders.values())} images), random {cfg['crop']}x{cfg['crop']} crops",
            "steps": ckpt["step"],
            "wall_time_minutes": round(ckpt["elapsed_s"] / 60.0, 1),
            "final_loss": round(ckpt["loss_ema"], 5) if ckpt["loss_ema"] is not None else 0,
            "licence": "MIT (trained by this project; see LICENSE)",
            "hardware": ", ".join(ckpt["hardware"]) if isinstance(ckpt["hardware"], list) else str(ckpt["hardware"]),
            "notes": f"opset {OPSET}; Adam, EMA {cfg['ema_decay']}; the training script is models/train/train.py --config cpu",
            "batch": cfg["batch"],
            "crop": cfg["crop"],
            "params": ckpt["params"],
            "architecture": {k: cfg[k] for k in ("channels", "num_res_blocks", "groups")},
        },
    }
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"wrote {out}: model.onnx {size} bytes, step {ckpt['step']}, loss_ema {ckpt['loss_ema']}")


if __name__ == "__main__":
    main()
