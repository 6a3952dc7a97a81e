#!/usr/bin/python3
"""Checks that the bundled models' weights, read back from their ONNX files
into PyTorch (onnx_weights.py, train_ldm.bundled_srldm), reproduce each
model's reference.npz: the state the configs that train on from a bundled
model (init_onnx, init_bundle) start from. Prints one line per model part
and exits 1 on a mismatch.

    /usr/bin/python3 models/train/check_onnx_weights.py
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "ldm"))
from nets import Decode, Encode  # noqa: E402
from onnx_weights import unet_from_onnx  # noqa: E402
from train import BUNDLED_PRIOR  # noqa: E402
from train_ldm import BUNDLED_SRLDM, build_ae, build_unet, bundled_srldm  # noqa: E402

# PyTorch recomputing its own exported weights differs only by rounding.
TOL = 1e-5


def check(name, model, ref, inputs, output):
    with torch.no_grad():
        got = model(*(torch.from_numpy(ref[k]) for k in inputs)).numpy()
    want = ref[output]
    rel = float(np.linalg.norm(got - want) / np.linalg.norm(want))
    print(f"{name}: relative difference {rel:.2g} from reference.npz")
    return rel <= TOL


def main():
    torch.set_num_threads(1)
    ok = check("ddrm-unet-small", unet_from_onnx(BUNDLED_PRIOR).eval(),
               np.load(os.path.join(os.path.dirname(BUNDLED_PRIOR), "reference.npz")), ("x", "t"), "eps")
    (ae_cfg, ae_state), (unet_cfg, unet_state), prov = bundled_srldm(BUNDLED_SRLDM)
    ae = build_ae(ae_cfg)
    ae.load_state_dict(ae_state)
    unet = build_unet(unet_cfg, ae_cfg["z_channels"])
    unet.load_state_dict(unet_state)
    scale = prov["latent_scale"]
    parts = [("encoder", Encode(ae, ae_cfg["z_channels"], scale), ("image",), "z"),
             ("decoder", Decode(ae, scale), ("z",), "image"),
             ("unet", unet, ("x", "t"), "eps")]
    for part, model, inputs, output in parts:
        ref = np.load(os.path.join(BUNDLED_SRLDM, part, "reference.npz"))
        ok &= check(f"srldm {part}", model.eval(), ref, inputs, output)
    if not ok:
        sys.exit(f"a model read back from ONNX differs from its reference by more than {TOL} (relative)")


if __name__ == "__main__":
    main()
