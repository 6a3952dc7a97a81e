#!/usr/bin/python3
"""Export a trained SRLDM (a stage-unet run of train_ldm.py) to ONNX, as an
ldm-sr bundle: one folder, by default models/bundled/<name>, that package
models' OpenLDM opens and 'restorelab restore --method ldm|ddrm-ldm' uses
(the bundled srldm, models.DefaultLDM, needs no --ldm-model):

    <out>/model.json  role ldm-sr: factor 4, parts unet, encoder and decoder
    <out>/unet        role ldm-unet, cond_channels 3: x = concat(z_t, low-res
                      image in [-1,1]) [B,6,h,w], t int64 [B] -> eps [B,3,h,w],
                      schedule scaled_linear 0.0015..0.0155, T = 1000
    <out>/encoder     role ldm-encoder: image [B,3,H,W] in [-1,1] -> z [B,3,H/4,W/4]
    <out>/decoder     role ldm-decoder: z -> image [B,3,4h,4w], about [-1,1]

Each part folder holds model.onnx, model.json and reference.npz (a PyTorch
input/output pair). The latents are scaled to unit variance inside the
encoder and decoder graphs (the encoder multiplies its mean by the run's
latent_scale, the decoder divides by it first), so the Go side uses them as
they come, with no scale factor, as the UNet was trained; the manifests'
notes say so. The UNet's weights are its EMA; the autoencoder is the one the
UNet was trained with, copied into the UNet run's checkpoint.

    /usr/bin/python3 models/train/ldm/export_ldm.py --run models/train/runs/ldm-unet-cpu
"""
import argparse
import os
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "export"))
import common  # noqa: E402
from nets import Decode, Encode  # noqa: E402
from train_ldm import SCHEDULE, build_ae, build_unet  # noqa: E402


BUNDLED = os.path.join(HERE, "..", "..", "bundled")
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
DEFAULT_NAME = "srldm"  # models.DefaultLDM: the SRLDM restorelab uses without --ldm-model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default=os.path.join(HERE, "..", "runs", "ldm-unet-cpu"),
                    help="stage-unet run folder holding checkpoint.pt")
    ap.add_argument("--checkpoint", default="checkpoint.pt",
                    help="the file in --run to export: checkpoint.pt (the last) or best.pt (the best validation)")
    ap.add_argument("--name", default=DEFAULT_NAME,
                    help="the bundle's name in model.json (the parts get -unet, -encoder, -decoder)")
    ap.add_argument("--out", help="the bundle folder to write (default: models/bundled/<name>)")
    ap.add_argument("--max-mb", type=float, default=24.0, help="limit on the three ONNX files together (0: none)")
    args = ap.parse_args()
    out = args.out or os.path.join(BUNDLED, args.name)

    ckpt = torch.load(os.path.join(args.run, args.checkpoint), map_location="cpu")
    cfg, ae_cfg, scale = ckpt["config"], ckpt["ae_config"], ckpt["latent_scale"]
    ae = build_ae(ae_cfg)
    ae.load_state_dict(ckpt["ae_model"])
    unet = build_unet(cfg, ae_cfg["z_channels"])
    unet.load_state_dict(ckpt["ema"])
    ae.eval()
    unet.eval()
    # The UNet's convolution and linear weights are stored as float16 (half
    # the file; ONNX Runtime casts them back and computes in float32); the
    # references below are computed with the same rounded weights.
    common.store_float16([m for m in unet.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear))])
    c, f = ae_cfg["z_channels"], ae.factor
    # Refuse before writing anything.
    weights = common.param_bytes(ae) + common.param_bytes(unet)
    if args.max_mb and weights > args.max_mb * 2**20:
        raise SystemExit(f"the weights take {weights / 2**20:.1f} MiB, over --max-mb {args.max_mb}; "
                         "export elsewhere with --out and --max-mb 0")

    folders = ", ".join(f"{k} {v}" for k, v in ckpt["data"]["folders"].items())
    scaling = (f"The latents are scaled to unit variance inside the graphs: the encoder multiplies the KL-f{f} "
               f"encoder's mean by {scale:.6g} (latent_scale), the decoder divides z by it before decoding, "
               "so the UNet's latents need no scale factor outside them (scale_factor 1).")
    init = ckpt.get("init")  # the bundle a warm-started run continued
    steps, minutes, hardware = ckpt["step"], ckpt["elapsed_s"] / 60.0, ", ".join(ckpt["hardware"])
    if init:
        steps, minutes = init["steps"] + steps, init["wall_time_minutes"] + minutes
        if hardware != init["hardware"]:
            hardware = f"{init['hardware']}, then {hardware}"
    prov = {
        "data": f"random crops of {ckpt['data']['images']} training images under {os.path.relpath(ckpt['data']['root'], REPO)} "
                f"({folders}); low-res images by restorelab's bicubic x{f} (the sr4 operator), "
                f"half of them with Gaussian noise up to sigma {cfg['lr_noise']} on the [0, 1] scale",
        "steps": steps,
        "wall_time_minutes": round(minutes, 1),
        "hardware": hardware,
        "licence": "MIT (trained by this project; see LICENSE)",
        "autoencoder": {"kind": f"KL-f{f}", "architecture": {k: ae_cfg[k] for k in ("channels", "num_res_blocks",
                                                                                    "z_channels", "groups")},
                        "steps": ckpt["ae_step"], "params": sum(p.numel() for p in ae.parameters())},
        "latent_scale": scale,
        "scale_factor": 1.0,
    }
    if init:
        prov["continued_from"] = (f"{init['bundle']}: the UNet's first {init['steps']} steps "
                                  f"({init['wall_time_minutes']} min, {init['hardware']}) and the autoencoder")
    g = torch.Generator().manual_seed(1234)
    # The UNet's reference input: z_t Gaussian, the low-res image in [-1, 1].
    unet_x = torch.cat([torch.randn(1, c, 16, 16, generator=g), torch.rand(1, 3, 16, 16, generator=g) * 2 - 1], 1)
    image = torch.rand(1, 3, 64, 64, generator=g) * 2 - 1
    parts = [
        ("encoder", Encode(ae, c, scale), (torch.randn(1, 3, 64, 32),), (image,), ["image", "z"], dict(
             role="ldm-encoder", description=f"SRLDM KL-f{f} encoder: image in [-1, 1] to unit-variance latents",
             inputs=[common.spec("image", "float32", ["B", 3, "H", "W"])],
             outputs=[common.spec("z", "float32", ["B", c, "h", "w"])], size_multiple=f,
             provenance=dict(prov, notes=scaling))),
        ("decoder", Decode(ae, scale), (torch.randn(1, c, 16, 8),), (torch.randn(1, c, 16, 16, generator=g),),
         ["z", "image"], dict(
             role="ldm-decoder", description=f"SRLDM KL-f{f} decoder: unit-variance latents to an image about "
                                             "[-1, 1] (no quantisation: a KL autoencoder)",
             inputs=[common.spec("z", "float32", ["B", c, "h", "w"])],
             outputs=[common.spec("image", "float32", ["B", 3, "H", "W"])], size_multiple=1,
             provenance=dict(prov, notes=scaling))),
        ("unet", unet, (torch.randn(1, c + 3, 32, 16), torch.tensor([10])), (unet_x, torch.tensor([500])),
         ["x", "t", "eps"], dict(
             role="ldm-unet", description=f"SRLDM latent UNet for x{f} SR: eps from concat(z_t, low-res image "
                                          "in [-1, 1])",
             inputs=[common.spec("x", "float32", ["B", c + 3, "h", "w"]), common.spec("t", "int64", ["B"])],
             outputs=[common.spec("eps", "float32", ["B", c, "h", "w"])], schedule=SCHEDULE,
             size_multiple=unet.size_multiple, cond_channels=3,
             provenance=dict(prov, final_loss=round(ckpt["loss_ema"], 5),
                             params=sum(p.numel() for p in unet.parameters()),
                             architecture={k: cfg[k] for k in ("channels", "num_res_blocks", "heads", "groups")},
                             ema_decay=cfg["ema_decay"],
                             precision="float16 storage of the convolution and linear weights; float32 arithmetic "
                                       "and tensors")))]

    total = 0
    for part, model, example, ref_in, names, manifest in parts:
        d = os.path.join(out, common.LDM_PARTS[part])
        os.makedirs(d, exist_ok=True)
        axes = {n: ({0: "B"} if n == "t" else {0: "B", 2: "H" if n == "image" else "h",
                                                3: "W" if n == "image" else "w"}) for n in names}
        total += common.export_onnx(model, example, os.path.join(d, "model.onnx"), names[:-1], names[-1:], axes,
                                    fold_constants=part != "unet")  # folding would undo the float16 storage
        with torch.no_grad():
            y = model(*ref_in)
        common.save_reference(d, **dict(zip(names, (*ref_in, y))))
        common.write_model_json(d, name=f"{args.name}-{part}", **manifest)
        print(f"wrote {d}")
    multiple = common.write_ldm_bundle_json(
        out, name=args.name, factor=f, unet_multiple=unet.size_multiple, encoder_multiple=f, decoder_multiple=1,
        description=f"SRLDM: {f}x super-resolution latent diffusion trained by this project, KL-f{f} autoencoder "
                    f"with {c} unit-variance latent channels",
        provenance=dict(prov, final_loss=round(ckpt["loss_ema"], 5), notes=scaling))
    print(f"wrote {out}: ldm-sr bundle {args.name}, factor {f}, output sides a multiple of {multiple}")
    if args.max_mb and total > args.max_mb * 2**20:
        raise SystemExit(f"the ONNX files take {total / 2**20:.1f} MiB, over --max-mb {args.max_mb}")
    print(f"ONNX files: {total / 2**20:.1f} MiB in all; UNet step {ckpt['step']}, autoencoder step {ckpt['ae_step']}")


if __name__ == "__main__":
    main()
