#!/usr/bin/python3
"""Export pytorch-fid's FID Inception v3 to ONNX for restorelab's FID and KID.

The network is the one pytorch-fid (and, through it, most published FIDs)
uses: torchvision's Inception v3 layout with 1008 logits and the patches that
make it match TensorFlow's 2015-12-05 Inception graph:

  - FIDInceptionA, FIDInceptionC and FIDInceptionE_1 average-pool without
    counting the zero padding (count_include_pad=False), as TensorFlow does;
  - FIDInceptionE_2 (Mixed_7c) max-pools in its pool branch;
  - batch norm uses eps = 0.001.

The exported graph takes images [B, 3, H, W] of any size with values in
[0, 1], resizes them to 299 x 299 (bilinear, align_corners=False, no
antialiasing, as pytorch-fid does), maps them to [-1, 1] and returns the pool3
features [B, 2048] (the final average pool). The logits layer is defined only
so that the checkpoint loads with strict=True; it is not in the graph.

Real weights: pt_inception-2015-12-05-6726825d.pth from pytorch-fid's GitHub
releases (its record is in fid_inception.json). It is downloaded unless
--checkpoint names a local copy, and its SHA-256 must start with the 8 hex
digits in its name, the only part of the hash that is published (or pass
--allow-unverified for a copy you trust). Write:

    /usr/bin/python3 models/export/fid_inception.py --out ~/.config/restorelab/models/fid-inception

then 'restorelab bench --inception fid-inception ...' finds it in the user
models folder (or pass the folder's path). To check ONNX Runtime's features
against PyTorch's for it:

    RESTORELAB_FID_INCEPTION=~/.config/restorelab/models/fid-inception go test ./models -run InceptionMatchesPyTorch

Test fixture: --random-tiny builds the same architecture with random weights
and every channel count scaled by --width (default 1/8, which gives 256
features and a model of about 1.4 MB; the full width is 87 MB), calibrates the
batch-norm statistics on random images so that activations stay O(1), and
writes it with reference.npz (inputs and PyTorch's features):

    /usr/bin/python3 models/export/fid_inception.py --random-tiny --out models/testdata/inception_tiny

Each output folder gets model.onnx, model.json (role inception) and
reference.npz: 'input' [2, 3, 40, 56] (see reference_small) with its 'features',
and 'features_large' for the 320 x 336 image that reference_large() defines
by formula (so that the Go test rebuilds it rather than storing 1.3 MB), which
exercises downscaling. Needs torch (1.13 tested) and onnx (1.12), no
torchvision.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import urllib.request

import common
import numpy as np
import onnx
import torch
import torch.nn.functional as F
from torch import nn

# The checkpoint's record (address, the published part of its hash, licence)
# is in fid_inception.json, checked as every exporter checks its files
# (common.verify_checkpoint).
RECORD = "pt_inception"

OPSET = 17  # the highest opset onnx 1.12 knows
SIDE = 299
FEATURES = 2048


class BasicConv2d(nn.Module):
    """Convolution without bias, batch norm (eps 0.001) and ReLU."""

    def __init__(self, cin, cout, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def avg_pool_tf(x):
    # TensorFlow's average pool leaves the zero padding out of the mean.
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class FIDInceptionA(nn.Module):
    def __init__(self, cin, pool_features, ch):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, ch(64), kernel_size=1)
        self.branch5x5_1 = BasicConv2d(cin, ch(48), kernel_size=1)
        self.branch5x5_2 = BasicConv2d(ch(48), ch(64), kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, ch(64), kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(ch(64), ch(96), kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(ch(96), ch(96), kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, kernel_size=1)
        self.out_channels = 2 * ch(64) + ch(96) + pool_features

    def forward(self, x):
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(avg_pool_tf(x))
        return torch.cat([b1, b5, b3, bp], 1)


class InceptionB(nn.Module):
    def __init__(self, cin, ch):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, ch(384), kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, ch(64), kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(ch(64), ch(96), kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(ch(96), ch(96), kernel_size=3, stride=2)
        self.out_channels = ch(384) + ch(96) + cin

    def forward(self, x):
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, bd, bp], 1)


class FIDInceptionC(nn.Module):
    def __init__(self, cin, c7, ch):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, ch(192), kernel_size=1)
        self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, ch(192), kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, ch(192), kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, ch(192), kernel_size=1)
        self.out_channels = 4 * ch(192)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        for conv in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = conv(bd)
        bp = self.branch_pool(avg_pool_tf(x))
        return torch.cat([b1, b7, bd, bp], 1)


class InceptionD(nn.Module):
    def __init__(self, cin, ch):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, ch(192), kernel_size=1)
        self.branch3x3_2 = BasicConv2d(ch(192), ch(320), kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, ch(192), kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(ch(192), ch(192), kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(ch(192), ch(192), kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(ch(192), ch(192), kernel_size=3, stride=2)
        self.out_channels = ch(320) + ch(192) + cin

    def forward(self, x):
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_1(x)
        for conv in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b7 = conv(b7)
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, b7, bp], 1)


class FIDInceptionE(nn.Module):
    """Mixed_7b (FIDInceptionE_1, max_pool=False) and Mixed_7c
    (FIDInceptionE_2, max_pool=True): they differ only in the pool branch."""

    def __init__(self, cin, ch, max_pool):
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(cin, ch(320), kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, ch(384), kernel_size=1)
        self.branch3x3_2a = BasicConv2d(ch(384), ch(384), kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(ch(384), ch(384), kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, ch(448), kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(ch(448), ch(384), kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(ch(384), ch(384), kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(ch(384), ch(384), kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, ch(192), kernel_size=1)
        self.out_channels = ch(320) + 4 * ch(384) + ch(192)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        if self.max_pool:
            # pytorch-fid's FIDInceptionE_2: the TensorFlow graph max-pools here.
            pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        else:
            pooled = avg_pool_tf(x)
        return torch.cat([b1, b3, bd, self.branch_pool(pooled)], 1)


class FIDInception3(nn.Module):
    """pytorch-fid's fid_inception_v3 with module names that match the
    checkpoint's keys. forward maps [0, 1] images of any size to pool3
    features. width scales every channel count, for test fixtures only."""

    def __init__(self, width=1.0):
        super().__init__()

        def ch(c):
            return max(1, int(round(c * width)))

        self.Conv2d_1a_3x3 = BasicConv2d(3, ch(32), kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(ch(32), ch(32), kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(ch(32), ch(64), kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(ch(64), ch(80), kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(ch(80), ch(192), kernel_size=3)
        self.Mixed_5b = FIDInceptionA(ch(192), ch(32), ch)
        self.Mixed_5c = FIDInceptionA(self.Mixed_5b.out_channels, ch(64), ch)
        self.Mixed_5d = FIDInceptionA(self.Mixed_5c.out_channels, ch(64), ch)
        self.Mixed_6a = InceptionB(self.Mixed_5d.out_channels, ch)
        c = self.Mixed_6a.out_channels
        self.Mixed_6b = FIDInceptionC(c, ch(128), ch)
        self.Mixed_6c = FIDInceptionC(c, ch(160), ch)
        self.Mixed_6d = FIDInceptionC(c, ch(160), ch)
        self.Mixed_6e = FIDInceptionC(c, ch(192), ch)
        self.Mixed_7a = InceptionD(c, ch)
        self.Mixed_7b = FIDInceptionE(self.Mixed_7a.out_channels, ch, max_pool=False)
        self.Mixed_7c = FIDInceptionE(self.Mixed_7b.out_channels, ch, max_pool=True)
        self.features = self.Mixed_7c.out_channels
        # The 1008 logits (TensorFlow's 1001 classes, padded): unused, but part
        # of the checkpoint, so strict loading needs them.
        self.fc = nn.Linear(self.features, 1008)

    def forward(self, images):
        x = F.interpolate(images, size=(SIDE, SIDE), mode="bilinear", align_corners=False)
        x = 2 * x - 1
        for layer in (self.Conv2d_1a_3x3, self.Conv2d_2a_3x3, self.Conv2d_2b_3x3):
            x = layer(x)
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for block in (
            self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b,
            self.Mixed_6c, self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c,
        ):
            x = block(x)
        return torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1)


def fetch_checkpoint(path, cache, record):
    """Returns a local checkpoint, downloading it into cache when path is
    empty."""
    if path:
        return path
    path = os.path.join(cache, os.path.basename(record["file"]))
    if not os.path.exists(path):
        os.makedirs(cache, exist_ok=True)
        print(f"downloading {record['url']}", file=sys.stderr)
        # Download beside the target and rename, so that an interrupted
        # download never passes for the checkpoint.
        fd, tmp = tempfile.mkstemp(dir=cache, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f, urllib.request.urlopen(record["url"]) as r:
                shutil.copyfileobj(r, f)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    return path


def calibrate(model, seed, batches=2, batch=4):
    """Sets the batch-norm statistics of a randomly initialised model to
    those of random images, so that activations stay O(1) through its ~90
    layers instead of vanishing, and gives each batch norm a random affine map
    so that a mix-up of parameters shows in the features."""
    g = torch.Generator().manual_seed(seed + 1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batches
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.uniform_(-0.2, 0.2, generator=g)
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.rand(batch, 3, 64, 64, generator=g))
    model.eval()


def reference_large():
    """The 320 x 336 test image the Go test rebuilds: values in [0, 1] from a
    formula computed in float64, then rounded to float32."""
    b, c, h, w = np.meshgrid(np.arange(1), np.arange(3), np.arange(320), np.arange(336), indexing="ij")
    return (0.5 + 0.5 * np.sin(0.05 * h * (c + 1) + 0.07 * w + 0.3 * b)).astype(np.float32)


def reference_small(seed):
    """Two 40 x 56 test images: random smooth patterns (sums of sinusoids)
    with 5% uniform noise. Smooth content keeps the features well
    conditioned; on pure noise, a random-weight network amplifies float32
    rounding to ~2e-4 relative (PyTorch float32 against float64)."""
    rng = np.random.default_rng(seed)
    h, w = np.arange(40)[:, None], np.arange(56)[None, :]
    x = np.full((2, 3, 40, 56), 0.5)
    for b in range(2):
        for c in range(3):
            for _ in range(4):
                fh, fw, phase = rng.uniform(-0.4, 0.4), rng.uniform(-0.4, 0.4), rng.uniform(0, 2 * np.pi)
                x[b, c] += np.sin(fh * h + fw * w + phase) / 8
    x += 0.05 * rng.uniform(-1, 1, x.shape)
    return np.clip(x, 0, 1).astype(np.float32)


def write_reference(model, out, seed):
    small = reference_small(seed)
    with torch.no_grad():
        feats = model(torch.from_numpy(small)).numpy()
        large = model(torch.from_numpy(reference_large())).numpy()
    np.savez(os.path.join(out, "reference.npz"), input=small, features=feats, features_large=large)
    return feats


def export(model, path):
    torch.onnx.export(
        model,
        torch.rand(2, 3, 64, 80),
        path,
        opset_version=OPSET,
        input_names=["images"],
        output_names=["features"],
        dynamic_axes={"images": {0: "B", 2: "H", 3: "W"}, "features": {0: "B"}},
        do_constant_folding=True,
    )
    onnx.checker.check_model(onnx.load(path))


def write_manifest(out, name, description, features, provenance):
    onnx_path = os.path.join(out, "model.onnx")
    manifest = {
        "name": name,
        "role": "inception",
        "description": description,
        "files": [{"path": "model.onnx", "sha256": common.file_digest(onnx_path, "sha256")}],
        "inputs": [{"name": "images", "dtype": "float32", "shape": ["B", 3, "H", "W"]}],
        "outputs": [{"name": "features", "dtype": "float32", "shape": ["B", features]}],
        "size_multiple": 1,
        "value_range": [0, 1],
        "provenance": provenance,
    }
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="output folder (created if missing)")
    ap.add_argument("--checkpoint", help="local pt_inception-2015-12-05-6726825d.pth; downloaded into --cache when not given")
    ap.add_argument(
        "--cache",
        default=os.path.join(os.path.expanduser("~"), ".cache", "restorelab", "checkpoints"),
        help="where a downloaded checkpoint is kept",
    )
    ap.add_argument("--name", help="model name (default fid-inception, or fid-inception-tiny with --random-tiny)")
    ap.add_argument("--random-tiny", action="store_true", help="random weights, to test the export path")
    ap.add_argument("--width", type=float, default=0.125, help="channel multiplier for --random-tiny")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random weights and test inputs")
    ap.add_argument("--save-tiny-checkpoint", metavar="FILE",
                    help="write a random-weight checkpoint of --width in the published layout to FILE, and stop (for tests)")
    common.add_verification_args(ap)
    args = ap.parse_args()
    if not args.out and not args.save_tiny_checkpoint:
        ap.error("--out is required")

    torch.manual_seed(args.seed)
    if args.save_tiny_checkpoint:
        model = FIDInception3(width=args.width)
        calibrate(model, args.seed)
        torch.save(model.state_dict(), args.save_tiny_checkpoint)
        print(f"wrote {args.save_tiny_checkpoint}: a random-weight FID Inception checkpoint at width {args.width:g}")
        return
    if args.random_tiny:
        model = FIDInception3(width=args.width)
        calibrate(model, args.seed)
        name = args.name or "fid-inception-tiny"
        description = (
            f"test fixture: FID Inception v3 architecture at width {args.width:g} with random weights "
            f"({model.features} features); not for real FIDs"
        )
        provenance = {
            "data": "none: random weights, batch norm calibrated on random images",
            "licence": "same as restorelab",
            "source_url": "models/export/fid_inception.py",
            "notes": "fid_inception.py --random-tiny --width %g --seed %d" % (args.width, args.seed),
        }
    else:
        record = common.checkpoint_record(__file__, RECORD, args.records)
        ckpt = fetch_checkpoint(args.checkpoint, args.cache, record)
        state = torch.load(ckpt, map_location="cpu")
        digest, verification = common.verify_checkpoint(ckpt, record, args.allow_unverified, state)
        # The published checkpoint is full width; a narrower one is a test's.
        width = state["Conv2d_1a_3x3.conv.weight"].shape[0] / 32
        model = FIDInception3(width=width)
        model.load_state_dict(state, strict=True)
        model.eval()
        name = args.name or "fid-inception"
        description = "pytorch-fid's FID Inception v3 (TensorFlow inception-2015-12-05 weights): pool3, 2048 features"
        if width != 1:
            description = f"FID Inception v3 architecture at width {width:g} ({model.features} features), from {ckpt}"
        provenance = common.provenance(record, digest, record["licence"], {
            "data": "ImageNet (TensorFlow's inception-2015-12-05 release)",
            "notes": "input resized to 299 (bilinear, align_corners=False) and mapped to [-1, 1] inside the graph",
        }, verification, state)
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "model.onnx")
    export(model, onnx_path)
    write_manifest(args.out, name, description, model.features, provenance)
    feats = write_reference(model, args.out, args.seed)
    print(
        f"wrote {args.out}: model.onnx ({os.path.getsize(onnx_path)} bytes), model.json, reference.npz "
        f"(features of the test input: mean {feats.mean():.4f}, std {feats.std():.4f})"
    )


if __name__ == "__main__":
    main()
