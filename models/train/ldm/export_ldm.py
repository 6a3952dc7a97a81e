#!/usr/bin/python3
"""Export a trained SRLDM (a stage-unet run of train_ldm.py) to ONNX.

Writes three model folders, each with model.onnx, model.json and
reference.npz (a PyTorch input/output pair):

    <root>/<name>-encoder  role ldm-encoder: image [B,3,H,W] in [-1,1] -> z [B,3,H/4,W/4]
    <root>/<name>-decoder  role ldm-decoder: z -> image [B,3,4h,4w]
    <root>/<name>-unet     role ldm-unet: x = concat(z_t, low-res image) [B,6,h,w], t [B] -> eps [B,3,h,w]

The root defaults to models/bundled, where each folder is a bundled model
opened by its name. The latents are scaled to unit variance inside the
encoder and decoder graphs, so the Go side uses them as they come (scale
factor 1). The UNet's weights are its EMA; the autoencoder is the one the
UNet was trained with, copied into the UNet run's checkpoint.

    /usr/bin/python3 models/train/ldm/export_ldm.py --run models/train/runs/ldm-unet-cpu --name srldm-small
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
from train_ldm import SCHEDULE, build_ae, build_unet  # noqa: E402


class Encode(nn.Module):
    def __init__(self, ae, scale):
        super().__init__()
        self.encoder, self.scale = ae.encoder, scale

    def forward(self, x):
        return self.encoder(x)[0] * self.scale  # the mean: encoding is deterministic


class Decode(nn.Module):
    def __init__(self, ae, scale):
        super().__init__()
        self.decoder, self.scale = ae.decoder, scale

    def forward(self, z):
        return self.decoder(z / self.scale)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default=os.path.join(HERE, "..", "runs", "ldm-unet-cpu"),
                    help="stage-unet run folder holding checkpoint.pt")
    ap.add_argument("--name", default="srldm-small", help="model name prefix, also of the folders")
    ap.add_argument("--root", default=os.path.join(HERE, "..", "..", "bundled"), help="where the folders go")
    ap.add_argument("--max-mb", type=float, default=24.0, help="limit on the three ONNX files together (0: none)")
    args = ap.parse_args()

    ckpt = torch.load(os.path.join(args.run, "checkpoint.pt"), map_location="cpu")
    cfg, ae_cfg, scale = ckpt["config"], ckpt["ae_config"], ckpt["latent_scale"]
    ae = build_ae(ae_cfg)
    ae.load_state_dict(ckpt["ae_model"])
    unet = build_unet(cfg, ae_cfg["z_channels"])
    unet.load_state_dict(ckpt["ema"])
    ae.eval()
    unet.eval()
    c, f = ae_cfg["z_channels"], ae.factor

    folders = ", ".join(f"{k} {v}" for k, v in ckpt["data"]["folders"].items())
    prov = {
        "data": f"random crops of {ckpt['data']['images']} training images under {ckpt['data']['root']} "
                f"({folders}); low-res images by restorelab's bicubic x{f} (the sr4 operator), "
                f"half of them with Gaussian noise up to sigma {cfg['lr_noise']} on the [0, 1] scale",
        "steps": ckpt["step"],
        "wall_time_minutes": round(ckpt["elapsed_s"] / 60.0, 1),
        "hardware": ", ".join(ckpt["hardware"]),
        "licence": "trained here by this project; weights under the project's licence (MIT)",
        "autoencoder": {"kind": f"KL-f{f}", "architecture": {k: ae_cfg[k] for k in ("channels", "num_res_blocks",
                                                                                    "z_channels", "groups")},
                        "steps": ckpt["ae_step"], "params": sum(p.numel() for p in ae.parameters())},
        "latent_scale": scale,
        "scale_factor": 1.0,
    }
    g = torch.Generator().manual_seed(1234)
    parts = [
        ("encoder", Encode(ae, scale), (torch.randn(1, 3, 64, 32),), (torch.rand(1, 3, 64, 64, generator=g) * 2 - 1,),
         ["image", "z"], dict(
             role="ldm-encoder", description=f"SRLDM KL-f{f} encoder: image in [-1, 1] to unit-variance latents",
             inputs=[common.spec("image", "float32", ["B", 3, "H", "W"])],
             outputs=[common.spec("z", "float32", ["B", c, "h", "w"])], size_multiple=f, provenance=prov)),
        ("decoder", Decode(ae, scale), (torch.randn(1, c, 16, 8),), (torch.randn(1, c, 16, 16, generator=g),),
         ["z", "image"], dict(
             role="ldm-decoder", description=f"SRLDM KL-f{f} decoder: latents to an image about [-1, 1]",
             inputs=[common.spec("z", "float32", ["B", c, "h", "w"])],
             outputs=[common.spec("image", "float32", ["B", 3, "H", "W"])], size_multiple=1, provenance=prov)),
        ("unet", unet, (torch.randn(1, c + 3, 32, 16), torch.tensor([10])),
         (torch.randn(1, c + 3, 16, 16, generator=g), torch.tensor([500])), ["x", "t", "eps"], dict(
             role="ldm-unet", description=f"SRLDM latent UNet for x{f} SR: eps from concat(z_t, low-res image)",
             inputs=[common.spec("x", "float32", ["B", c + 3, "h", "w"]), common.spec("t", "int64", ["B"])],
             outputs=[common.spec("eps", "float32", ["B", c, "h", "w"])], schedule=SCHEDULE,
             size_multiple=unet.size_multiple,
             provenance=dict(prov, final_loss=round(ckpt["loss_ema"], 5),
                             params=sum(p.numel() for p in unet.parameters()),
                             architecture={k: cfg[k] for k in ("channels", "num_res_blocks", "heads", "groups")},
                             ema_decay=cfg["ema_decay"],
                             conditioning=f"x channels 0..{c - 1} are z_t, {c}..{c + 2} the low-resolution "
                                          "image in [-1, 1] at the latent's size")))]

    total = 0
    for part, model, example, ref_in, names, manifest in parts:
        d = os.path.join(args.root, f"{args.name}-{part}")
        os.makedirs(d, exist_ok=True)
        axes = {n: ({0: "B"} if n == "t" else {0: "B", 2: "H" if n == "image" else "h",
                                                3: "W" if n == "image" else "w"}) for n in names}
        total += common.export_onnx(model, example, os.path.join(d, "model.onnx"), names[:-1], names[-1:], axes)
        with torch.no_grad():
            out = model(*ref_in)
        common.save_reference(d, **dict(zip(names, (*ref_in, out))))
        common.write_model_json(d, name=f"{args.name}-{part}", **manifest)
        print(f"wrote {d}")
    if args.max_mb and total > args.max_mb * 2**20:
        raise SystemExit(f"the ONNX files take {total / 2**20:.1f} MiB, over --max-mb {args.max_mb}")
    print(f"ONNX files: {total / 2**20:.1f} MiB in all; UNet step {ckpt['step']}, autoencoder step {ckpt['ae_step']}")


if __name__ == "__main__":
    main()
