#!/usr/bin/python3
"""Train the small SR latent diffusion model (SRLDM) in two stages.

Stage ae: the KL-f4 autoencoder (nets.AutoencoderKL) on random crops of the
training images, L1 reconstruction loss plus a KL term weighted as latent
diffusion's first stage does (1e-6, relative to the per-pixel sum).

Stage unet: the conditional latent UNet (nets.CondUNet) on the frozen
autoencoder's latents. The latents of every whole training image, and its
bicubic x4 downsampling (restorelab's sr4 operator), are computed once and
cached in the run folder; training takes random aligned crops of both,
scales the latents to unit variance, and learns eps from
concat(z_t, low-res image) under the scaled_linear schedule of latent
diffusion's SR model. Half of the low-res crops get Gaussian noise of a
random level up to --lr-noise (default from the config), for noisy SR.

Both stages are resumable (--resume), stop cleanly and save when the
--minutes budget (total over sessions) is spent or on SIGINT/SIGTERM, and
write checkpoints atomically. Examples:

    /usr/bin/python3 models/train/ldm/train_ldm.py --stage ae --config cpu --minutes 30
    /usr/bin/python3 models/train/ldm/train_ldm.py --stage unet --config cpu --minutes 60
"""
import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
from nets import AutoencoderKL, CondUNet, Decode, Encode, bicubic_down  # noqa: E402
from onnx_weights import load_onnx_weights  # noqa: E402
from train import (DATA_FOLDERS, DATA_ROOT, CropSampler, Progress, open_run, save_checkpoint, train,  # noqa: E402
                   validation_set)

RUNS = os.path.join(HERE, "..", "runs")
# Latent diffusion's SR schedule ("linear" in its code): betas are the
# squares of a linear ramp from sqrt(0.0015) to sqrt(0.0155).
SCHEDULE = {"type": "scaled_linear", "beta_start": 0.0015, "beta_end": 0.0155, "T": 1000}
FACTOR = 4  # the SR factor, equal to the autoencoder's downsampling factor
# The bundled SRLDM, which the configs that train on from it start from.
BUNDLED_SRLDM = os.path.join(HERE, "..", "..", "bundled", "srldm")

# Sized for about 1.5 hours on 2 shared CPU cores in all (see README.md).
CPU = {
    "ae": dict(channels=(32, 64, 64), num_res_blocks=1, z_channels=3, groups=8,
               crop=64, batch=16, lr=4e-4, warmup=100, kl_weight=1e-6, threads=2),
    "unet": dict(channels=(64, 128, 128), num_res_blocks=1, heads=4, groups=8,
                 crop=32, batch=32, lr=2e-4, warmup=100, ema_decay=0.995, lr_noise=0.1, threads=2),
}

CONFIGS = {
    "cpu": CPU,
    # The cpu networks with six latent channels, a wider lowest level and
    # the rate annealed at the end: a sharper autoencoder (README.md: 30.7
    # dB against cpu's 28.4) whose latents the UNet finds harder to sample.
    "cpu-z6": {
        "ae": dict(CPU["ae"], channels=(32, 64, 128), z_channels=6, anneal=0.3),
        "unet": dict(CPU["unet"], anneal=0.3),
    },
    # The bundled SRLDM's UNet trained on: its autoencoder and weights read
    # back from the bundle (README.md), a fresh optimizer, a longer EMA and
    # the rate annealed over the last 40% of the budget.
    "cpu-long": {
        "unet": dict(CPU["unet"], init_bundle=BUNDLED_SRLDM, warmup=200, ema_decay=0.999, anneal=0.4),
    },
    # For a GPU: LDM-sized networks (the UNet has the widths of CompVis'
    # SR model); too large to bundle.
    "gpu": {
        "ae": dict(channels=(128, 256, 512), num_res_blocks=2, z_channels=3, groups=32,
                   crop=256, batch=16, lr=1e-4, warmup=1000, kl_weight=1e-6, threads=8),
        "unet": dict(channels=(160, 320, 320, 640), num_res_blocks=2, heads=20, groups=32,
                     crop=64, batch=64, lr=1e-4, warmup=1000, ema_decay=0.9999, lr_noise=0.1, threads=8),
    },
}


def build_ae(cfg):
    return AutoencoderKL(cfg["channels"], cfg["num_res_blocks"], cfg["z_channels"], cfg["groups"])


def build_unet(cfg, z_channels):
    return CondUNet(cfg["channels"], cfg["num_res_blocks"], cfg["heads"], cfg["groups"], z_channels=z_channels)


def frozen_ae(config, state):
    ae = build_ae(config)
    ae.load_state_dict(state)
    return ae.eval().requires_grad_(False)


def bundled_srldm(folder):
    """The autoencoder (config, state) and the UNet (config, state) of an
    exported ldm-sr bundle, read back from its ONNX parts, and its
    provenance (model.json), which holds the latent scale. The UNet's
    weights are the bundle's float16-rounded ones."""
    with open(os.path.join(folder, "model.json")) as f:
        prov = json.load(f)["provenance"]
    ae_cfg, scale = prov["autoencoder"]["architecture"], prov["latent_scale"]
    ae = build_ae(ae_cfg)
    load_onnx_weights(Encode(ae, ae_cfg["z_channels"], scale), os.path.join(folder, "encoder", "model.onnx"))
    load_onnx_weights(Decode(ae, scale), os.path.join(folder, "decoder", "model.onnx"))
    with open(os.path.join(folder, "unet", "model.json")) as f:
        unet_cfg = json.load(f)["provenance"]["architecture"]
    unet = load_onnx_weights(build_unet(unet_cfg, ae_cfg["z_channels"]), os.path.join(folder, "unet", "model.onnx"))
    return (ae_cfg, ae.state_dict()), (unet_cfg, unet.state_dict()), prov


class LDMValidator:
    """LDM sr4 PSNR on the validation crops (train.validation_set), sampled
    as restorelab's ldm method does by default (restore.DefaultDDIMConfig:
    100 DDIM steps, eta 1, latent diffusion's time steps (n-1)c+1, ..., 1,
    ending at alpha_bar_0), with a fixed seed; and bicubic's PSNR."""

    def __init__(self, clean, steps=100, eta=1.0, seed=0):
        self.clean, self.steps, self.eta = clean, steps, eta
        self.low = bicubic_down(clean * 2 - 1, FACTOR)
        up = F.interpolate(self.low, scale_factor=FACTOR, mode="bicubic", align_corners=False)
        self.baseline = psnr(up, clean)
        self.seed = seed

    @torch.no_grad()
    def psnr(self, unet, decoder, alpha_bar):
        was_training = unet.training
        unet.eval()
        g = torch.Generator().manual_seed(self.seed)
        c = SCHEDULE["T"] // self.steps
        seq = [(self.steps - 1 - i) * c + 1 for i in range(self.steps)] + [0]
        z = torch.randn(self.low.shape, generator=g)
        for t, t_next in zip(seq, seq[1:]):
            ab, abn = alpha_bar[t].item(), alpha_bar[t_next].item()
            eps = unet(torch.cat([z, self.low], dim=1), torch.full((z.shape[0],), t, dtype=torch.long))
            x0 = (z - (1 - ab) ** 0.5 * eps) / ab ** 0.5
            sigma = self.eta * ((1 - abn) / (1 - ab) * (1 - ab / abn)) ** 0.5
            z = abn ** 0.5 * x0 + max(1 - abn - sigma ** 2, 0) ** 0.5 * eps + sigma * torch.randn(z.shape, generator=g)
        unet.train(was_training)
        return psnr(decoder(z), self.clean)


def psnr(img, clean):
    """Mean PSNR in dB of [-1, 1] images against [0, 1] ones, clamped to [0, 1]."""
    mse = (((img + 1) / 2).clamp(0, 1) - clean).pow(2).flatten(1).mean(1)
    return float((10 * torch.log10(1 / mse)).mean())


@torch.no_grad()
def encode_images(ae, images, device, log):
    """Latent means and x4 bicubic downsamplings of whole images (uint8 HWC),
    trimmed to multiples of FACTOR."""
    zs, lrs = [], []
    t0 = time.time()
    for i, img in enumerate(images):
        h, w = img.shape[0] // FACTOR * FACTOR, img.shape[1] // FACTOR * FACTOR
        x = torch.from_numpy(np.array(img[:h, :w])).permute(2, 0, 1)[None].float() / 127.5 - 1
        zs.append(ae.encoder(x.to(device))[0][0].cpu())
        lrs.append(bicubic_down(x, FACTOR)[0])
        if (i + 1) % 100 == 0:
            log(f"encoded {i + 1}/{len(images)} images in {time.time() - t0:.0f}s")
    return zs, lrs


class LatentCropSampler:
    """Aligned random crops of latents and low-res images."""

    def __init__(self, zs, lrs, crop, rng):
        keep = [i for i, z in enumerate(zs) if min(z.shape[1:]) >= crop]
        self.zs, self.lrs = [zs[i] for i in keep], [lrs[i] for i in keep]
        self.crop, self.rng = crop, rng

    def batch(self, n):
        c = self.crop
        z, lr = [], []
        for i in self.rng.integers(len(self.zs), size=n):
            y = self.rng.integers(self.zs[i].shape[1] - c + 1)
            x = self.rng.integers(self.zs[i].shape[2] - c + 1)
            z.append(self.zs[i][:, y:y + c, x:x + c])
            lr.append(self.lrs[i][:, y:y + c, x:x + c])
        return torch.stack(z), torch.stack(lr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=("ae", "unet"), required=True)
    ap.add_argument("--config", choices=sorted(CONFIGS), default="cpu")
    ap.add_argument("--name", help="run name (default: ldm-<stage>-<config>)")
    ap.add_argument("--ae-run", help="stage unet: the autoencoder's run folder (default: runs/ldm-ae-<config>)")
    ap.add_argument("--data", default=DATA_ROOT, help="folder holding " + ", ".join(DATA_FOLDERS))
    ap.add_argument("--max-images", type=int, default=0, help="use only the first N images (quick checks)")
    ap.add_argument("--minutes", type=float, required=True,
                    help="total training wall-clock budget of the run, counting earlier sessions")
    ap.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoint")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default from config)")
    ap.add_argument("--save-minutes", type=float, default=5.0, help="checkpoint interval")
    ap.add_argument("--first-save-minutes", type=float, default=2.0)
    ap.add_argument("--log-every", type=int, default=10, help="steps between log lines")
    ap.add_argument("--val-every", type=int, default=1000,
                    help="stage unet: steps between validations (LDM sr4 PSNR on held-out crops; 0: none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    args = ap.parse_args()

    name = args.name or f"ldm-{args.stage}-{args.config}"
    run_dir = os.path.join(RUNS, name)
    ckpt_path, log, ckpt = open_run(run_dir, args.resume)
    if ckpt is not None:
        cfg = ckpt["config"]  # the architecture must match the checkpoint
    else:
        if args.stage not in CONFIGS[args.config]:
            raise SystemExit(f"config {args.config} has no stage {args.stage}; it has {', '.join(CONFIGS[args.config])}")
        cfg = dict(CONFIGS[args.config][args.stage], config=args.config, stage=args.stage)
        if args.stage == "unet" and not cfg.get("init_bundle"):
            cfg["ae_run"] = os.path.abspath(args.ae_run or os.path.join(RUNS, f"ldm-ae-{args.config}"))
    torch.set_num_threads(args.threads or cfg["threads"])
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)

    t0 = time.time()
    # Stage unet holds out train.py's validation images, as the DDRM prior's runs do.
    val_files, val_clean = validation_set(args.data) if args.stage == "unet" else ((), None)
    images = CropSampler(args.data, DATA_FOLDERS, cfg["crop"] * (FACTOR if args.stage == "unet" else 1), rng,
                         held_out=set(val_files))
    if args.max_images:
        images.images = images.images[:args.max_images]
    log(f"run {run_dir}: {json.dumps(cfg)}; {len(images.images)} images {images.counts} "
        f"loaded in {time.time() - t0:.1f}s")

    extra = {}  # stage-specific state saved with the checkpoint
    if args.stage == "ae":
        model = build_ae(cfg).to(device)
        ema = None
        sampler = images

        def step_loss():
            x = sampler.batch(cfg["batch"]).to(device)
            rec, kl = model(x)
            l1 = (rec - x).abs().mean()
            psnr = 10 * np.log10(4 / max(F.mse_loss(rec, x).item(), 1e-10))  # on the [0, 1] scale
            return l1 + cfg["kl_weight"] * kl.mean() / x[0].numel(), x.shape[0], f" psnr {psnr:.2f}"
    else:
        # The autoencoder is copied into this run's checkpoint, so that the
        # exported encoder and decoder are the ones the UNet was trained with.
        init_unet, scale = None, None
        if ckpt is not None:
            ae_cfg, ae_state, ae_step = ckpt["ae_config"], ckpt["ae_model"], ckpt["ae_step"]
            scale = ckpt["latent_scale"]
            if "init" in ckpt:
                extra["init"] = ckpt["init"]
        elif cfg.get("init_bundle"):
            (ae_cfg, ae_state), (unet_cfg, init_unet), init = bundled_srldm(cfg["init_bundle"])
            if any(json.loads(json.dumps(cfg[k])) != v for k, v in unet_cfg.items()):  # tuples as lists
                raise SystemExit(f"{cfg['init_bundle']}: its UNet {unet_cfg} differs from config {args.config}'s")
            # What the bundle was trained with goes on into this run's
            # checkpoint, so that an export can tell the whole history.
            extra["init"] = dict(init, bundle=os.path.relpath(cfg["init_bundle"], os.path.join(HERE, "..", "..", "..")))
            ae_step, scale = init["autoencoder"]["steps"], init["latent_scale"]
        else:
            ae_ckpt = torch.load(os.path.join(cfg["ae_run"], "checkpoint.pt"), map_location="cpu")
            ae_cfg, ae_state, ae_step = ae_ckpt["config"], ae_ckpt["model"], ae_ckpt["step"]
        ae = frozen_ae(ae_cfg, ae_state).to(device)
        cache = os.path.join(run_dir, "latents.pt")
        cached = torch.load(cache) if os.path.exists(cache) else None
        if cached is not None and cached["ae_step"] == ae_step:
            zs, lrs, scale = cached["z"], cached["lr"], cached["scale"]
        else:
            t1 = time.time()
            imgs = [full for full, _ in images.images] + [half for _, half in images.images if half is not None]
            zs, lrs = encode_images(ae, imgs, device, log)
            if scale is None:
                # Unit-variance latents suit the noise schedule; the exported
                # encoder and decoder apply this scale, so the Go side sees it.
                # A run that continues a UNet keeps the scale it was trained at.
                scale = 1.0 / torch.cat([z.flatten() for z in zs]).std().item()
            torch.save({"z": zs, "lr": lrs, "scale": scale, "ae_step": ae_step}, cache + ".tmp")
            os.replace(cache + ".tmp", cache)
            log(f"latents of {len(zs)} images computed in {time.time() - t1:.0f}s; scale {scale:.4f}")
        extra.update(latent_scale=scale, ae_config=ae_cfg, ae_model=ae_state, ae_step=ae_step)
        sampler = LatentCropSampler(zs, lrs, cfg["crop"], rng)
        model = build_unet(cfg, ae_cfg["z_channels"]).to(device)
        if init_unet is not None:
            model.load_state_dict(init_unet)
            log(f"warm start from {cfg['init_bundle']}: autoencoder, UNet and latent scale {scale:.6g}")
        ema = copy.deepcopy(model).eval().requires_grad_(False)
        betas = torch.linspace(SCHEDULE["beta_start"] ** 0.5, SCHEDULE["beta_end"] ** 0.5, SCHEDULE["T"],
                               dtype=torch.float64) ** 2
        alpha_bar = torch.cumprod(1.0 - betas, 0).float().to(device)

        def step_loss():
            z0, lr = sampler.batch(cfg["batch"])
            z0, lr = (z0 * scale).to(device), lr.to(device)
            noisy = torch.rand(lr.shape[0], 1, 1, 1, device=device) < 0.5
            sigma = 2 * cfg["lr_noise"] * torch.rand(lr.shape[0], 1, 1, 1, device=device)  # [-1, 1] scale
            lr = lr + noisy * sigma * torch.randn_like(lr)
            t = torch.randint(0, SCHEDULE["T"], (z0.shape[0],), device=device)
            eps = torch.randn_like(z0)
            ab = alpha_bar[t][:, None, None, None]
            zt = ab.sqrt() * z0 + (1 - ab).sqrt() * eps
            return F.mse_loss(model(torch.cat([zt, lr], dim=1), t), eps), z0.shape[0], ""

    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    n_params = sum(p.numel() for p in model.parameters())
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        if ema is not None:
            ema.load_state_dict(ckpt["ema"])
        opt.load_state_dict(ckpt["optimizer"])
    progress = Progress(ckpt, rng, device)
    log(f"stage {args.stage}: {n_params} params; device {device} ({progress.hardware[-1]}); "
        f"start step {progress.step}, elapsed {progress.elapsed / 60:.1f} min")

    def state():
        s = {"config": cfg, "model": model.state_dict(), "optimizer": opt.state_dict(), "params": n_params,
             "data": {"root": args.data, "folders": images.counts, "images": len(images.images)}}
        if ema is not None:
            s["ema"] = ema.state_dict()
            s["schedule"] = SCHEDULE
        return dict(s, **extra, **progress.state())

    validate = None
    if args.stage == "unet" and args.val_every:
        validator = LDMValidator(val_clean)
        decoder = Decode(ae, scale)
        best_path = os.path.join(run_dir, "best.pt")

        def validate():
            t1 = time.time()
            v = validator.psnr(ema, decoder, alpha_bar)
            progress.val_history.append([progress.step, round(progress.elapsed, 1), v])
            better = progress.best_val is None or v > progress.best_val
            if better:
                progress.best_val = v
                save_checkpoint(best_path, state())
            log(f"validation at step {progress.step}: LDM sr4 PSNR {v:.3f} dB on {len(val_clean)} held-out crops "
                f"(bicubic {validator.baseline:.3f}){' best, saved ' + best_path if better else ''} "
                f"[{time.time() - t1:.0f}s]")

        if not progress.val_history:
            validate()
    train(model=model, ema=ema, opt=opt, cfg=cfg, args=args, progress=progress, step_loss=step_loss, state=state,
          log=log, ckpt_path=ckpt_path, validate=validate)

if __name__ == "__main__":
    main()
