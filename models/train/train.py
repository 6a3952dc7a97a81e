#!/usr/bin/python3
"""Train the eps-prediction UNet used as the DDRM prior.

Example (CPU, resumable, stops cleanly after 95 minutes of training):
    /usr/bin/python3 models/train/train.py --config cpu --minutes 95
    /usr/bin/python3 models/train/train.py --config cpu --minutes 95 --resume
"""
import argparse
import copy
import glob
import json
import math
import os
import platform
import signal
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from unet import UNet  # noqa: E402
from onnx_weights import build_unet, load_onnx_weights  # noqa: E402
import ddrm_torch  # noqa: E402

# The training images live in shared/data/train beside the repository root.
DATA_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data", "train"))
DATA_FOLDERS = ("bsd100", "urban100", "imagenet")

# Diffusion schedule; the Go side and model.json must agree with these.
SCHEDULE = {"type": "linear", "beta_start": 1e-4, "beta_end": 0.02, "T": 1000}

# Sized for ~100 minutes on 2 shared CPU cores: ~3.1M params and ~24 GFLOP
# per 256x256 forward, so inference with 2 threads stays cheap as well.
CPU = dict(channels=(24, 48, 96, 128), num_res_blocks=1, groups=8, dropout=0.0,
           crop=64, batch=32, lr=2e-4, warmup=100, ema_decay=0.995, threads=2)
# The bundled prior, which the configs that train on from it start from.
BUNDLED_PRIOR = os.path.join(HERE, "..", "bundled", "ddrm-unet-small", "model.onnx")

CONFIGS = {
    "cpu": CPU,
    # The cpu network grown by attention and two residual blocks in its
    # middle (32x32 at a 256x256 input, so about 10% more compute), warm
    # started from the bundled ddrm-unet-small (the new blocks start as the
    # identity), trained on with a longer EMA and, late, 128x128 crops.
    "cpu-v2": dict(CPU, mid_attention_heads=4, extra_mid_blocks=2, lr=1e-4, warmup=200, ema_decay=0.999,
                   init_onnx=BUNDLED_PRIOR, late_step=8000, late_crop=128, late_batch=8),
    # The bundled ddrm-unet-small, unchanged in shape, fine-tuned on 128x128
    # crops: four times the context of its 64x64 training crops, since the
    # same weights see 256x256 images in use and beat 64x64 tiles of them.
    "cpu-ft128": dict(CPU, crop=128, batch=8, lr=5e-5, ema_decay=0.999, init_onnx=BUNDLED_PRIOR),
    # For a GPU: a DDPM-sized network, larger crops and batches.
    "gpu": dict(channels=(128, 256, 256, 512), num_res_blocks=2, groups=32, dropout=0.1,
                crop=128, batch=64, lr=2e-4, warmup=1000, ema_decay=0.9999, threads=8),
}


def hardware_string(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {torch.get_num_threads()} threads"


class CropSampler:
    """Random crops from images decoded once into memory as uint8 HWC arrays."""

    def __init__(self, root, folders, crop, rng, held_out=()):
        self.crop = crop
        self.rng = rng
        self.images = []  # list of (full, half or None)
        self.counts = {}
        for folder in folders:
            files = training_files(root, folder)
            files = [f for f in files if f not in held_out]
            self.counts[folder] = len(files)
            for path in files:
                img = Image.open(path).convert("RGB")
                half = None
                # Urban100 and BSD100 are photographs at full resolution,
                # blurrier per pixel than the downscaled ImageNet images the
                # evaluation uses; a half-size copy is sharper and gives
                # scale variety at little memory cost.
                if folder in ("urban100", "bsd100") and min(img.size) // 2 >= crop:
                    half = np.asarray(img.resize((img.width // 2, img.height // 2), Image.BICUBIC))
                full = np.asarray(img)
                if min(full.shape[:2]) >= crop:
                    self.images.append((full, half))
        if not self.images:
            raise SystemExit(f"no training images under {root}")

    def batch(self, n, crop=None):
        c = crop or self.crop
        out = np.empty((n, c, c, 3), dtype=np.uint8)
        idx = self.rng.integers(len(self.images), size=n)
        for k, i in enumerate(idx):
            full, half = self.images[i]
            img = half if half is not None and self.rng.random() < 0.5 else full
            y = self.rng.integers(img.shape[0] - c + 1)
            x = self.rng.integers(img.shape[1] - c + 1)
            patch = img[y:y + c, x:x + c]
            out[k] = patch[:, ::-1] if self.rng.random() < 0.5 else patch
        x = torch.from_numpy(out).permute(0, 3, 1, 2).float()
        return x / 127.5 - 1.0


def training_files(root, folder):
    files = sorted(glob.glob(os.path.join(root, folder, "*")))
    return [f for f in files if f.lower().endswith((".png", ".jpg", ".jpeg"))]


# Validation: DDRM sr4 (20 steps, eta 0.85, eta_b 1) on the centre 256x256
# crops of the last VAL_IMAGES ImageNet training images, which training
# then no longer reads: the metric users see, on images the run holds out.
VAL_IMAGES = 8


def validation_set(root):
    files = training_files(root, "imagenet")[-VAL_IMAGES:]
    crops = []
    for path in files:
        img = np.asarray(Image.open(path).convert("RGB"))
        h, w = img.shape[:2]
        if min(h, w) < 256:
            continue
        y0, x0 = (h - 256) // 2, (w - 256) // 2
        crops.append(img[y0:y0 + 256, x0:x0 + 256])
    x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255.0
    return files, x


class Validator:
    """DDRM sr4 PSNR of a model on the validation crops, with the baseline's."""

    def __init__(self, clean, seed=0):
        self.clean = clean
        self.op = ddrm_torch.SeparableSR(clean.shape[-1], 4)
        self.y = self.op.H(clean)
        up = torch.nn.functional.interpolate(self.y, scale_factor=4, mode="bicubic", align_corners=False)
        self.baseline = float(np.mean(ddrm_torch.psnr(up.clamp(0, 1), clean)))
        self.seed = seed

    def psnr(self, model):
        was_training = model.training
        model.eval()
        g = torch.Generator().manual_seed(self.seed)
        out = ddrm_torch.ddrm(model, self.op, self.y, generator=g)
        model.train(was_training)
        return float(np.mean(ddrm_torch.psnr(out, self.clean)))


def save_checkpoint(path, state):
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)  # atomic: a crash never leaves a half-written checkpoint


def open_run(run_dir, resume):
    """Creates the run folder and its log; returns the checkpoint path, a
    log function writing to stdout and train.log, and the checkpoint to
    resume from (None for a new run, which must not overwrite one)."""
    os.makedirs(run_dir, exist_ok=True)
    ckpt_path = os.path.join(run_dir, "checkpoint.pt")
    log_file = open(os.path.join(run_dir, "train.log"), "a", buffering=1)

    def log(msg):
        line = time.strftime("%Y-%m-%d %H:%M:%S ") + msg
        print(line, flush=True)
        log_file.write(line + "\n")

    if resume:
        if not os.path.exists(ckpt_path):
            raise SystemExit(f"--resume: no checkpoint at {ckpt_path}")
        return ckpt_path, log, torch.load(ckpt_path, map_location="cpu")
    if os.path.exists(ckpt_path):
        raise SystemExit(f"{ckpt_path} exists; use --resume or another --name")
    return ckpt_path, log, None

class Progress:
    """A run's counters and random state, restored from a checkpoint."""

    def __init__(self, ckpt, rng, device):
        self.rng = rng
        self.step, self.elapsed, self.loss_ema, self.history, self.hardware = 0, 0.0, None, [], []
        self.val_history, self.best_val = [], None
        if ckpt is not None:
            self.step, self.elapsed, self.loss_ema = ckpt["step"], ckpt["elapsed_s"], ckpt["loss_ema"]
            self.val_history, self.best_val = ckpt.get("val_history", []), ckpt.get("best_val")
            self.history, self.hardware = ckpt["loss_history"], ckpt["hardware"]
            rng.bit_generator.state = ckpt["numpy_rng"]
            torch.set_rng_state(ckpt["torch_rng"])
        hw = hardware_string(device)
        if hw not in self.hardware:
            self.hardware.append(hw)

    def state(self):
        """The checkpoint entries that resume the counters and random state."""
        return {"step": self.step, "elapsed_s": self.elapsed, "loss_ema": self.loss_ema,
                "loss_history": self.history, "numpy_rng": self.rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(), "hardware": self.hardware,
                "val_history": self.val_history, "best_val": self.best_val}


def train(*, model, ema, opt, cfg, args, progress, step_loss, state, log, ckpt_path, max_steps=0, validate=None):
    """Trains until args.minutes of training over all sessions, max_steps
    (0: no limit), or SIGINT/SIGTERM, then saves. step_loss() returns the
    loss of one batch, its crop count and extra log text; state() is the
    whole checkpoint. Adam with linear warmup over cfg["warmup"] steps (and
    a linear anneal over the budget's last cfg["anneal"] fraction if set),
    gradient clipping at 1, and an EMA of the weights when ema is given;
    checkpoints after args.first_save_minutes, then every args.save_minutes.
    validate(), when given, runs every args.val_every steps and on the last
    step unless a signal stopped the run."""
    stop = {"signal": None}

    def on_signal(signum, _frame):
        stop["signal"] = signum

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    p = progress
    budget = args.minutes * 60.0
    session_start, elapsed_at_start = time.time(), p.elapsed
    next_save = p.elapsed + (args.first_save_minutes if p.step == 0 else args.save_minutes) * 60.0
    win_t, win_crops = time.time(), 0
    model.train()
    while True:
        p.elapsed = elapsed_at_start + (time.time() - session_start)
        if stop["signal"] is not None or p.elapsed >= budget or (max_steps and p.step >= max_steps):
            break
        loss, n, info = step_loss()
        lr = cfg["lr"] * min(1.0, (p.step + 1) / cfg["warmup"])
        if cfg.get("anneal"):
            # Over the last cfg["anneal"] fraction of the budget the rate falls
            # linearly towards 0: the weights settle instead of ending mid-stride.
            lr *= min(1.0, (budget - p.elapsed) / (cfg["anneal"] * budget))
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        p.step += 1
        if ema is not None:
            # The decay warms up so the average is not dominated by the random init.
            decay = min(cfg["ema_decay"], (1 + p.step) / (10 + p.step))
            with torch.no_grad():
                for pe, pm in zip(ema.parameters(), model.parameters()):
                    pe.lerp_(pm, 1 - decay)

        lv = loss.item()
        p.loss_ema = lv if p.loss_ema is None else 0.98 * p.loss_ema + 0.02 * lv
        win_crops += n
        if p.step % args.log_every == 0:
            now = time.time()
            rate = win_crops / (now - win_t)
            win_t, win_crops = now, 0
            p.history.append([p.step, round(p.elapsed, 1), p.loss_ema])
            log(f"step {p.step} loss {lv:.4f} loss_ema {p.loss_ema:.4f}{info} lr {lr:.2e} "
                f"{rate:.1f} crops/s elapsed {p.elapsed / 60:.1f} min")
        if validate is not None and args.val_every and p.step % args.val_every == 0:
            validate()
        if p.elapsed >= next_save:
            save_checkpoint(ckpt_path, state())
            log(f"checkpoint at step {p.step}")
            next_save = p.elapsed + args.save_minutes * 60.0

    if (validate is not None and args.val_every and stop["signal"] is None
            and (not p.val_history or p.val_history[-1][0] != p.step)):
        # The last weights are the ones an export takes by default: measure
        # them too, so best.pt is chosen over the whole run.
        validate()
    save_checkpoint(ckpt_path, state())
    if stop["signal"] is not None:
        why = f"signal {stop['signal']}"
    elif max_steps and p.step >= max_steps:
        why = "max steps reached"
    else:
        why = "budget reached"
    log(f"stopped ({why}) at step {p.step}, elapsed {p.elapsed / 60:.1f} min, loss_ema {p.loss_ema}; "
        f"saved {ckpt_path}")


def warm_start(model, cfg, log):
    """Loads the weights of the prior at cfg["init_onnx"] into model, which
    may have more blocks: those must be the ones that start as the identity."""
    base_arch = {k: cfg[k] for k in ("channels", "num_res_blocks", "groups")}
    base = load_onnx_weights(build_unet(base_arch), cfg["init_onnx"])
    # The base's middle blocks keep their order among the grown model's.
    from unet import ResBlock
    res_at = [i for i, m in enumerate(model.mid) if isinstance(m, ResBlock)]
    state = {}
    for k, v in base.state_dict().items():
        if k.startswith("mid."):
            i, rest = k[4:].split(".", 1)
            k = f"mid.{res_at[int(i)]}.{rest}"
        state[k] = v
    result = model.load_state_dict(state, strict=False)
    new = sorted({k.rsplit(".", 2)[0] for k in result.missing_keys})
    if result.unexpected_keys:
        raise SystemExit(f"warm start from {cfg['init_onnx']}: unexpected weights {result.unexpected_keys[:5]}")
    log(f"warm start from {cfg['init_onnx']}; new blocks, starting as the identity: {', '.join(new)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", choices=sorted(CONFIGS), default="cpu")
    ap.add_argument("--name", help="run name (default: the config name)")
    ap.add_argument("--run-dir", help="run folder (default: models/train/runs/<name>)")
    ap.add_argument("--data", default=DATA_ROOT, help="folder holding " + ", ".join(DATA_FOLDERS))
    ap.add_argument("--minutes", type=float, default=95.0,
                    help="total training wall-clock budget for the run, counting earlier sessions")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: no limit)")
    ap.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoint")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default from config)")
    ap.add_argument("--batch", type=int, help="override the config's batch size")
    ap.add_argument("--crop", type=int, help="override the config's crop size")
    ap.add_argument("--save-minutes", type=float, default=5.0, help="checkpoint interval")
    ap.add_argument("--first-save-minutes", type=float, default=2.0,
                    help="time of the first checkpoint, early so export can be tried")
    ap.add_argument("--log-every", type=int, default=10, help="steps between log lines")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    ap.add_argument("--val-every", type=int, default=400,
                    help="steps between validations (DDRM sr4 PSNR on held-out crops; 0: none)")
    args = ap.parse_args()

    name = args.name or args.config
    run_dir = args.run_dir or os.path.join(HERE, "runs", name)
    ckpt_path, log, ckpt = open_run(run_dir, args.resume)
    if ckpt is not None:
        cfg = ckpt["config"]  # the architecture must match the checkpoint
    else:
        cfg = dict(CONFIGS[args.config])
        cfg["config"] = args.config
        if args.batch:
            cfg["batch"] = args.batch
        if args.crop:
            cfg["crop"] = args.crop
    threads = args.threads or cfg["threads"]
    torch.set_num_threads(threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))

    model = build_unet(cfg).to(device)
    if ckpt is None and cfg.get("init_onnx"):
        warm_start(model, cfg, log)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    n_params = sum(p.numel() for p in model.parameters())

    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        ema.load_state_dict(ckpt["ema"])
        opt.load_state_dict(ckpt["optimizer"])
    progress = Progress(ckpt, rng, device)

    t0 = time.time()
    val_files, val_clean = validation_set(args.data)
    sampler = CropSampler(args.data, DATA_FOLDERS, cfg["crop"], rng, held_out=set(val_files))
    validator = Validator(val_clean) if args.val_every else None
    log(f"run {run_dir}: config {cfg['config']} {json.dumps(cfg)}; {n_params} params; "
        f"{len(sampler.images)} images {sampler.counts} loaded in {time.time() - t0:.1f}s; "
        f"device {device} ({progress.hardware[-1]}); start step {progress.step}, "
        f"elapsed {progress.elapsed / 60:.1f} min")

    betas = torch.linspace(SCHEDULE["beta_start"], SCHEDULE["beta_end"], SCHEDULE["T"], dtype=torch.float64)
    alpha_bar = torch.cumprod(1.0 - betas, 0).float().to(device)

    def state():
        return dict({"config": cfg, "schedule": SCHEDULE, "model": model.state_dict(), "ema": ema.state_dict(),
                     "optimizer": opt.state_dict(), "params": n_params,
                     "data": {"root": args.data, "folders": sampler.counts}}, **progress.state())

    def step_loss():
        late = cfg.get("late_step") and progress.step >= cfg["late_step"]
        crop, batch = (cfg["late_crop"], cfg["late_batch"]) if late else (cfg["crop"], cfg["batch"])
        x0 = sampler.batch(batch, crop).to(device)
        t = torch.randint(0, SCHEDULE["T"], (x0.shape[0],), device=device)
        eps = torch.randn_like(x0)
        ab = alpha_bar[t][:, None, None, None]
        return F.mse_loss(model(ab.sqrt() * x0 + (1 - ab).sqrt() * eps, t), eps), x0.shape[0], ""

    best_path = os.path.join(run_dir, "best.pt")

    def validate():
        t1 = time.time()
        v = validator.psnr(ema)
        progress.val_history.append([progress.step, round(progress.elapsed, 1), v])
        better = progress.best_val is None or v > progress.best_val
        if better:
            progress.best_val = v
            save_checkpoint(best_path, state())
        log(f"validation at step {progress.step}: DDRM sr4 PSNR {v:.3f} dB on {len(val_clean)} held-out crops "
            f"(bicubic {validator.baseline:.3f}){' best, saved ' + best_path if better else ''} "
            f"[{time.time() - t1:.0f}s]")

    if validator is not None and not progress.val_history:
        validate()
    train(model=model, ema=ema, opt=opt, cfg=cfg, args=args, progress=progress, step_loss=step_loss, state=state,
          log=log, ckpt_path=ckpt_path, max_steps=args.max_steps, validate=validate if validator else None)


if __name__ == "__main__":
    main()
