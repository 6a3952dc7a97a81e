#!/usr/bin/python3
"""Make fid_fixture.npz and fid_fixture.json: FID by pytorch-fid 0.3.0 itself,
and KID by an independent NumPy transcription of the standard unbiased
polynomial-kernel estimator, on a small set of real images, for
TestPytorchFIDFixture.

pytorch-fid runs unmodified from its own source (a checkout of its v0.3.0 tag,
e.g. 'git archive v0.3.0 | tar -x -C /tmp/pytorch-fid'), with its own data
loading, resizing and statistics. Its Inception weights are replaced by
random ones in the exact layout of pt_inception-2015-12-05 (the state dict
fid_inception_v3 loads): the network is built by pytorch-fid's
fid_inception_v3 with its download swapped for a seeded random state dict.
Its batch-norm statistics are calibrated on 16 of the images, so that the
features vary. The fixture is about the distances, not the weights, so features are taken
at pytorch-fid's --dims 64 (its first max-pooling block) to keep the file
small: 80 images per set, more than the 64 dimensions, so that both
covariances have full rank.

Set A is the first 80 images of ../shared/data/eval/imagenet256; set B is
the same images blurred (PIL GaussianBlur, radius 2). Written:

  fid_fixture.npz   features_a, features_b: float32 [80, 64], the
                    activations pytorch-fid computed; mu_a, sigma_a, mu_b,
                    sigma_b: float64, the statistics it computed
  fid_fixture_stats_a.npz
                    set A's statistics as pytorch-fid's save_fid_stats
                    writes them (mu, sigma; compressed)
  fid_fixture.json  fid (pytorch-fid's calculate_fid_given_paths), kid
                    (NumPy, subsets of the whole sets), how it was made

Run: /usr/bin/python3 bench/testdata/make_fid_fixture.py --pytorch-fid /tmp/pytorch-fid/src
(needs torch, torchvision, scipy and Pillow; about a minute on 2 cores).
"""

import argparse
import json
import os
import sys
import tempfile

import numpy as np
import torch
from PIL import Image, ImageFilter

HERE = os.path.dirname(os.path.abspath(__file__))
N, DIMS, SEED = 80, 64, 20261201


def random_state_dict(inception):
    """A seeded random state dict of the FID Inception's exact layout. The
    layout is read off pytorch-fid's own fid_inception_v3, built with its
    download and its load_state_dict call made no-ops."""
    download, load = inception.load_state_dict_from_url, torch.nn.Module.load_state_dict
    inception.load_state_dict_from_url = lambda *a, **k: None
    torch.nn.Module.load_state_dict = lambda *a, **k: None
    try:
        layout = inception.fid_inception_v3().state_dict()
    finally:
        inception.load_state_dict_from_url, torch.nn.Module.load_state_dict = download, load
    g = torch.Generator().manual_seed(SEED)
    state = {}
    for name, t in layout.items():
        if name.endswith("running_var"):
            state[name] = 0.5 + torch.rand(t.shape, generator=g)
        elif name.endswith("running_mean"):
            state[name] = 0.1 * torch.randn(t.shape, generator=g)
        elif name.endswith("num_batches_tracked"):
            state[name] = t.clone()
        elif t.dim() > 1:  # He-scaled weights keep activations O(1)
            state[name] = torch.randn(t.shape, generator=g) * (2.0 / t[0].numel()) ** 0.5
        elif name.endswith("bn.weight"):
            state[name] = 1 + 0.1 * torch.randn(t.shape, generator=g)
        else:
            state[name] = 0.1 * torch.randn(t.shape, generator=g)
    return state


def calibrate(inception, state, images):
    """Sets the batch-norm statistics of the random network to those of its
    activations on images (as pytorch-fid feeds them: bilinear to 299,
    scaled to [-1, 1]), so that the features vary from image to image."""
    inception.load_state_dict_from_url = lambda *a, **k: state
    net = inception.fid_inception_v3()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # a cumulative average over the batch
    x = torch.nn.functional.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False)
    net.train()
    with torch.no_grad():
        net(2 * x - 1)
    return net.state_dict()


def kid(f1, f2):
    """Unbiased MMD^2 with k(x, y) = (x.y / d + 1)^3 over the whole sets,
    as clean-fid's kernel_distance computes each of its subsets."""
    n = f1.shape[1]
    m = min(len(f1), len(f2))
    x, y = f2[:m].astype(np.float64), f1[:m].astype(np.float64)
    a = (x @ x.T / n + 1) ** 3 + (y @ y.T / n + 1) ** 3
    b = (x @ y.T / n + 1) ** 3
    t = (a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m
    return t / m


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pytorch-fid", required=True, help="the src folder of a pytorch-fid v0.3.0 checkout")
    ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "..", "shared", "data", "eval", "imagenet256"))
    args = ap.parse_args()
    sys.path.insert(0, args.pytorch_fid)
    import pytorch_fid
    from pytorch_fid import fid_score, inception

    assert pytorch_fid.__version__ == "0.3.0", pytorch_fid.__version__
    torch.set_num_threads(2)
    names = sorted(f for f in os.listdir(args.data) if f.endswith(".png"))[:N]
    first = [np.asarray(Image.open(os.path.join(args.data, f)).convert("RGB"), dtype=np.float32) / 255 for f in names[:16]]
    state = calibrate(inception, random_state_dict(inception), torch.from_numpy(np.stack(first)).permute(0, 3, 1, 2))
    inception.load_state_dict_from_url = lambda *a, **k: state

    with tempfile.TemporaryDirectory() as tmp:
        dirs = [os.path.join(tmp, "a"), os.path.join(tmp, "b")]
        for d in dirs:
            os.mkdir(d)
        for f in names:
            img = Image.open(os.path.join(args.data, f)).convert("RGB")
            img.save(os.path.join(dirs[0], f))
            img.filter(ImageFilter.GaussianBlur(2)).save(os.path.join(dirs[1], f))
        fid = fid_score.calculate_fid_given_paths(dirs, batch_size=20, device="cpu", dims=DIMS, num_workers=0)
        fid_score.save_fid_stats([dirs[0], os.path.join(HERE, "fid_fixture_stats_a.npz")], batch_size=20, device="cpu", dims=DIMS, num_workers=0)
        block = inception.InceptionV3.BLOCK_INDEX_BY_DIM[DIMS]
        model = inception.InceptionV3([block]).eval()
        feats = []
        for d in dirs:
            files = sorted(os.path.join(d, f) for f in os.listdir(d))
            feats.append(fid_score.get_activations(files, model, batch_size=20, dims=DIMS, device="cpu", num_workers=0))
    mu = [f.mean(axis=0) for f in feats]
    sigma = [np.cov(f, rowvar=False) for f in feats]
    np.savez(os.path.join(HERE, "fid_fixture.npz"),
             features_a=feats[0].astype(np.float32), features_b=feats[1].astype(np.float32),
             mu_a=mu[0], sigma_a=sigma[0], mu_b=mu[1], sigma_b=sigma[1])
    again = fid_score.calculate_frechet_distance(mu[0], sigma[0], mu[1], sigma[1])
    record = {
        "fid": float(fid),
        "fid_from_saved_activations": float(again),
        "kid": float(kid(feats[0], feats[1])),
        "images": N,
        "dims": DIMS,
        "pytorch_fid": pytorch_fid.__version__,
        "weights": "random, seeded %d, in the layout of pt_inception-2015-12-05" % SEED,
        "sets": "A: the first %d of eval/imagenet256; B: the same, PIL GaussianBlur(2)" % N,
    }
    with open(os.path.join(HERE, "fid_fixture.json"), "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
