#!/usr/bin/python3
"""Make the image pairs and reference PSNR/SSIM values that metrics_test.go checks.

Run from anywhere with Debian's python (numpy and scikit-image 0.19):

    /usr/bin/python3 restore/testdata/make_metric_fixtures.py

It writes metric_<name>_{a,b}.npy (float32, [C, H, W]) and metrics_fixture.json
next to itself. The output is deterministic for a given numpy version.
"""

import json
import os

import numpy as np
import skimage
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

HERE = os.path.dirname(os.path.abspath(__file__))


def smooth(rng, c, h, w):
    """Smooth colour gradients and waves: the structure SSIM is meant to see."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    out = np.empty((c, h, w))
    for k in range(c):
        fy, fx, ph = rng.uniform(0.05, 0.4, size=3)
        out[k] = 0.5 + 0.35 * np.sin(fy * y + ph) * np.cos(fx * x - ph) + 0.1 * (x / w - 0.5)
    return out


def pairs():
    rng = np.random.default_rng(20240611)
    # Smooth colour image and a noisy, clipped copy.
    a = smooth(rng, 3, 24, 32)
    yield "smooth_rgb", a, a + rng.normal(0, 0.05, a.shape)
    # Uniform noise against a contrast-changed, noisy copy: low SSIM, odd sizes.
    a = rng.uniform(0, 1, (1, 17, 13))
    yield "random_gray", a, 0.7 * a + 0.15 + rng.normal(0, 0.1, a.shape)
    # Smallest allowed size: one SSIM window, the cropped map is a single pixel.
    a = smooth(rng, 3, 11, 11)
    yield "minimal_rgb", a, a[:, ::-1, :] * 0.9 + rng.normal(0, 0.02, a.shape)
    # Mostly flat image with a dark square, blurred and shifted in brightness.
    a = np.full((1, 20, 26), 0.8)
    a[:, 5:13, 8:19] = 0.1
    b = a.copy()
    b[:, 1:-1, 1:-1] = (a[:, :-2, 1:-1] + a[:, 2:, 1:-1] + a[:, 1:-1, :-2] + a[:, 1:-1, 2:]) / 4
    yield "blocks_gray", a, b - 0.03


def main():
    fixtures = []
    for name, a, b in pairs():
        a = np.clip(a, 0, 1).astype(np.float32)
        b = np.clip(b, 0, 1).astype(np.float32)
        np.save(os.path.join(HERE, f"metric_{name}_a.npy"), a)
        np.save(os.path.join(HERE, f"metric_{name}_b.npy"), b)
        # Reference values in float64 from the exact float32 pixels, as the Go code
        # accumulates in float64 (skimage would otherwise filter in float32).
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        psnr = peak_signal_noise_ratio(a64, b64, data_range=1.0)
        ssim = structural_similarity(
            a64, b64, channel_axis=0, gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False, data_range=1.0)
        ssim32 = structural_similarity(
            a, b, channel_axis=0, gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False, data_range=1.0)
        fixtures.append({
            "name": name,
            "a": f"metric_{name}_a.npy",
            "b": f"metric_{name}_b.npy",
            "shape": list(a.shape),
            "psnr": float(psnr),
            "ssim": float(ssim),
            "ssim_float32": float(ssim32),
        })
    doc = {
        "generator": "make_metric_fixtures.py",
        "skimage": skimage.__version__,
        "numpy": np.__version__,
        "ssim_call": "structural_similarity(a, b, channel_axis=0, gaussian_weights=True, "
                     "sigma=1.5, use_sample_covariance=False, data_range=1.0)",
        "psnr_call": "peak_signal_noise_ratio(a, b, data_range=1.0)",
        "pairs": fixtures,
    }
    with open(os.path.join(HERE, "metrics_fixture.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
