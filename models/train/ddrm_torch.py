#!/usr/bin/python3
"""DDRM for bicubic super-resolution in PyTorch: the training runs' validation
metric, and the yardstick restorelab's Go sampler is timed against.

It follows the same equations as restore.DDRM (restore/ddrm.go): the skip
sequence, the initialisation from y where it is informative, the three
cases per spectral component (noisier than y, less noisy, missing) with eta
and eta_b, and the final image clamped after (x + 1) / 2. The operator is
restorelab's sr4 (models/train/ldm/nets.py resample_matrix, the Keys cubic
with half-sample symmetric borders), applied through the SVD of its 1-D
matrix: H = A (x) A, so V^T x = Va^T X Va per channel and the singular
values are the products sa_i sa_j. Noise comes from torch's generator, so
outputs agree with restorelab's in distribution, not bit for bit.

Time a 20-step restore of one 256x256 image with the bundled prior's
weights, read from its ONNX file:

    /usr/bin/python3 models/train/ddrm_torch.py --image samples/cat.png --threads 2
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "ldm"))
from nets import resample_matrix  # noqa: E402

# restore.singularCutoff: components below this fraction of the largest
# singular value count as unobserved.
SINGULAR_CUTOFF = 1e-4


def linear_alpha_bar(T=1000, beta_start=1e-4, beta_end=0.02):
    betas = torch.linspace(beta_start, beta_end, T, dtype=torch.float64)
    return torch.cumprod(1.0 - betas, 0)


class SeparableSR:
    """Bicubic downsampling by factor of n x n images through its SVD."""

    def __init__(self, n, factor):
        a = resample_matrix(n, factor).double().numpy()
        u, s, vt = np.linalg.svd(a, full_matrices=True)
        self.m = a.shape[0]
        self.a = torch.from_numpy(a).float()
        self.ua = torch.from_numpy(u).float()
        self.va = torch.from_numpy(vt.T.copy()).float()
        full = np.zeros(n)
        full[: self.m] = s
        s2 = np.outer(full, full)
        s2[s2 <= SINGULAR_CUTOFF * s2.max()] = 0
        self.s = torch.from_numpy(s2).float()  # [n, n] singular values, 0 where unobserved

    def H(self, x):
        return torch.einsum("ih,bchw,jw->bcij", self.a, x, self.a)

    def Vt(self, x):
        return torch.einsum("hi,bchw,wj->bcij", self.va, x, self.va)

    def V(self, xb):
        return torch.einsum("ih,bchw,jw->bcij", self.va, xb, self.va)

    def y_bar(self, y):
        """U^T y / s in the spectral layout, 0 where unobserved."""
        m = self.m
        out = torch.zeros(y.shape[0], y.shape[1], self.s.shape[0], self.s.shape[1])
        out[:, :, :m, :m] = torch.einsum("hi,bchw,wj->bcij", self.ua, y, self.ua)
        obs = self.s > 0
        out = torch.where(obs, out / torch.where(obs, self.s, torch.ones_like(self.s)), torch.zeros_like(out))
        return out


@torch.no_grad()
def ddrm(model, op, y, sigma_y=0.0, steps=20, eta=0.85, eta_b=1.0, generator=None):
    """Restores y (images in [0, 1], [B, 3, m, m]) with eps-model model;
    returns images in [0, 1]."""
    ab_all = linear_alpha_bar()
    T = ab_all.shape[0]
    skip = T // steps
    seq = [(steps - 1 - i) * skip for i in range(steps)]
    ab = lambda t: 1.0 if t < 0 else float(ab_all[t])  # noqa: E731
    sig = lambda t: math.sqrt(1 - ab(t)) / math.sqrt(ab(t))  # noqa: E731
    sy = 2 * sigma_y
    s = op.s
    observed = s > 0
    yb = op.y_bar(2 * y - 1)  # H 1 = 1: every row of the operator sums to 1
    randn = lambda like: torch.randn(like.shape, generator=generator)  # noqa: E731

    sig_t = sig(seq[0])
    z = randn(yb)
    init_y = observed & (s * sig_t > sy)
    var = torch.clamp(sig_t ** 2 - sy ** 2 / torch.where(observed, s, torch.ones_like(s)) ** 2, min=0)
    x_bar = torch.where(init_y, yb + var.sqrt() * z, sig_t * z)
    x = math.sqrt(ab(seq[0])) * op.V(x_bar)
    for i, t in enumerate(seq):
        tn = seq[i + 1] if i + 1 < len(seq) else -1
        a_t = ab(t)
        sig_t, sig_n = sig(t), sig(tn)
        tt = torch.full((x.shape[0],), t, dtype=torch.int64)
        eps = model(x, tt)
        x0 = (x - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
        x0_bar = op.Vt(x0)
        if sig_n == 0:
            x = x0
            break
        z = randn(x0_bar)
        noisier = observed & (s * sig_n > sy)
        less = observed & ~noisier
        safe_s = torch.where(observed, s, torch.ones_like(s))
        eps_bar = (x_bar - x0_bar) / sig_t
        v_noisier = x0_bar + eta_b * (yb - x0_bar) + torch.sqrt(
            torch.clamp(sig_n ** 2 - eta_b ** 2 * sy ** 2 / safe_s ** 2, min=0)) * z
        w_less = math.sqrt(1 - eta ** 2) * sig_n * safe_s / sy if sy > 0 else torch.full_like(s, eta_b)
        v_less = x0_bar + w_less * (yb - x0_bar) + eta * sig_n * z
        v_missing = x0_bar + math.sqrt(1 - eta ** 2) * sig_n * eps_bar + eta * sig_n * z
        x_bar = torch.where(noisier, v_noisier, torch.where(less, v_less, v_missing))
        x = math.sqrt(ab(tn)) * op.V(x_bar)
    return ((x + 1) / 2).clamp(0, 1)


def psnr(a, b):
    mse = ((a - b) ** 2).flatten(1).mean(1)
    return (10 * torch.log10(1 / mse)).tolist()


def load_image(path):
    from PIL import Image
    img = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(img).permute(2, 0, 1)[None]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", default=os.path.join(HERE, "..", "..", "samples", "cat.png"))
    ap.add_argument("--onnx", default=os.path.join(HERE, "..", "bundled", "ddrm-unet-small", "model.onnx"),
                    help="the prior's ONNX file; its weights are loaded into models/train/unet.py's UNet")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--eta", type=float, default=0.85)
    ap.add_argument("--eta-b", type=float, default=1.0)
    ap.add_argument("--sigma-y", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1, help="restores to time")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from onnx_weights import unet_from_onnx
    torch.set_num_threads(args.threads)
    model = unet_from_onnx(args.onnx).eval()
    x = load_image(args.image)
    op = SeparableSR(x.shape[-1], 4)
    g = torch.Generator().manual_seed(args.seed)
    y = op.H(x) + args.sigma_y * torch.randn(op.H(x).shape, generator=g)
    forward = [0.0]

    def timed(xt, t):
        start = time.perf_counter()
        eps = model(xt, t)
        forward[0] += time.perf_counter() - start
        return eps

    times = []
    for _ in range(args.repeat):
        forward[0] = 0.0
        start = time.perf_counter()
        out = ddrm(timed, op, y, args.sigma_y, args.steps, args.eta, args.eta_b, generator=g)
        times.append(time.perf_counter() - start)
    print(f"ddrm_torch: {args.steps} steps, {x.shape[-1]}x{x.shape[-2]}, {args.threads} threads: "
          f"{min(times):.3f} s/image (best of {len(times)}), network {1000 * forward[0] / args.steps:.1f} ms/step "
          f"(last run), PSNR {psnr(out, x)[0]:.2f} dB")


if __name__ == "__main__":
    main()
