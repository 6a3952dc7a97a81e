"""Networks of the small SR latent diffusion model (SRLDM).

- AutoencoderKL: a KL-regularised autoencoder with downsampling factor 4 and
  3 latent channels (the "KL-f4" of latent diffusion), fully convolutional.
- CondUNet: an eps-prediction UNet on concat(z_t, low-resolution image) at
  the latent resolution: the bundled DDRM prior's UNet (models/train/unet.py)
  with self-attention in its middle block.
- Encode, Decode: the autoencoder's halves as exported, with the latents'
  unit-variance scale inside.
- bicubic_down: restorelab's bicubic downsampling operator (the sr tasks'
  degradation), so that training sees the low-resolution images the Go side
  will feed.
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from unet import UNet  # noqa: E402


class AEBlock(nn.Module):
    """Residual block without time conditioning."""

    def __init__(self, in_ch, out_ch, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.norm2 = nn.GroupNorm(groups, out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        return self.skip(x) + self.conv2(F.silu(self.norm2(h)))


class Encoder(nn.Module):
    def __init__(self, channels, num_res_blocks, z_channels, groups):
        super().__init__()
        layers = [nn.Conv2d(3, channels[0], 3, padding=1)]
        ch = channels[0]
        for level, out_ch in enumerate(channels):
            for _ in range(num_res_blocks):
                layers.append(AEBlock(ch, out_ch, groups))
                ch = out_ch
            if level != len(channels) - 1:
                layers.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1))
        layers += [nn.GroupNorm(groups, ch), nn.SiLU(), nn.Conv2d(ch, 2 * z_channels, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        """Returns the mean and log-variance of the latent, [B, z, H/f, W/f] each."""
        mean, logvar = self.net(x).chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)


class Decoder(nn.Module):
    def __init__(self, channels, num_res_blocks, z_channels, groups):
        super().__init__()
        ch = channels[-1]
        layers = [nn.Conv2d(z_channels, ch, 3, padding=1)]
        for level, out_ch in reversed(list(enumerate(channels))):
            for _ in range(num_res_blocks + 1):  # the decoder gets the extra capacity
                layers.append(AEBlock(ch, out_ch, groups))
                ch = out_ch
            if level != 0:
                # The convolution after upsampling narrows to the next level's
                # width: half the cost of keeping this level's at the larger size.
                next_ch = channels[level - 1]
                layers += [nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(ch, next_ch, 3, padding=1)]
                ch = next_ch
        layers += [nn.GroupNorm(groups, ch), nn.SiLU(), nn.Conv2d(ch, 3, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)


class AutoencoderKL(nn.Module):
    def __init__(self, channels, num_res_blocks, z_channels, groups):
        super().__init__()
        self.factor = 2 ** (len(channels) - 1)
        self.encoder = Encoder(channels, num_res_blocks, z_channels, groups)
        self.decoder = Decoder(channels, num_res_blocks, z_channels, groups)

    def forward(self, x):
        """Reconstruction from a sampled latent, and the KL divergence to
        N(0, I) summed over each image's latent elements."""
        mean, logvar = self.encoder(x)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        kl = 0.5 * (mean ** 2 + logvar.exp() - 1 - logvar).flatten(1).sum(1)
        return self.decoder(z), kl


class Encode(nn.Module):
    """The latent's mean (encoding is deterministic) times the unit-variance
    scale. The mean is sliced off the encoder's output, whose first half it
    is, rather than split off as Encoder.forward does: torch's ONNX export
    leaves the channels of a split dynamic, and package models needs the
    latent channels fixed."""

    def __init__(self, ae, channels, scale):
        super().__init__()
        self.net, self.channels, self.scale = ae.encoder.net, channels, scale

    def forward(self, x):
        return self.net(x)[:, :self.channels] * self.scale


class Decode(nn.Module):
    def __init__(self, ae, scale):
        super().__init__()
        self.decoder, self.scale = ae.decoder, scale

    def forward(self, z):
        return self.decoder(z / self.scale)


class AttnBlock(nn.Module):
    """Multi-head self-attention over positions, with a residual connection."""

    def __init__(self, ch, heads, groups):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, ch)
        self.qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.proj = nn.Conv2d(ch, ch, 1)
        nn.init.zeros_(self.proj.weight)  # starts as the identity, like the ResBlocks
        nn.init.zeros_(self.proj.bias)

    def forward(self, x):
        b, c, h, w = x.shape
        d = c // self.heads
        q, k, v = self.qkv(self.norm(x)).reshape(b * self.heads, 3 * d, h * w).split(d, dim=1)
        attn = torch.softmax(torch.bmm(q.transpose(1, 2), k) / math.sqrt(d), dim=-1)  # [bh, hw(q), hw(k)]
        out = torch.bmm(v, attn.transpose(1, 2)).reshape(b, c, h, w)
        return x + self.proj(out)


class CondUNet(UNet):
    """eps = CondUNet(concat(z_t, low-res image), t) at the latent resolution:
    the DDRM prior's UNet with attention in its middle block."""

    def __init__(self, channels, num_res_blocks, heads, groups, z_channels=3, cond_channels=3, dropout=0.0):
        super().__init__(channels, num_res_blocks, groups, dropout, in_channels=z_channels + cond_channels,
                         out_channels=z_channels, mid_attention=lambda ch: AttnBlock(ch, heads, groups))


def _keys(x, a=-0.5):
    x = np.abs(x)
    return np.where(x <= 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                    np.where(x < 2, ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, 0.0))


def resample_matrix(n_in, factor):
    """The n_in/factor x n_in matrix of restorelab's bicubic downsampling
    (restore.ResizeBicubic): Keys cubic stretched by the factor, pixel-centre
    grid, half-sample symmetric reflection at the borders, rows summing to 1."""
    n_out = n_in // factor
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        c = (i + 0.5) * factor - 0.5
        ks = np.arange(math.ceil(c - 2 * factor), math.floor(c + 2 * factor) + 1)
        w = _keys((ks - c) / factor)
        j = ks % (2 * n_in)
        j = np.where(j >= n_in, 2 * n_in - 1 - j, j)
        np.add.at(m[i], j, w / w.sum())
    return torch.from_numpy(m).float()


def bicubic_down(x, factor):
    """Downsamples images [B, C, H, W] (H, W multiples of factor) by factor."""
    rh = resample_matrix(x.shape[-2], factor)
    rw = resample_matrix(x.shape[-1], factor)
    return torch.einsum("ih,bchw,jw->bcij", rh, x, rw)
