"""Small fully convolutional eps-prediction UNet used as the DDRM prior.

No attention and no size-dependent layers, so the same weights run at any
H, W that is a multiple of size_multiple (2 ** number of downsamplings).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def timestep_embedding(t, freqs):
    """Sinusoidal embedding of integer time steps t [B] -> [B, 2*len(freqs)]."""
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, in_ch, out_ch, temb_dim, groups, dropout):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.temb = nn.Linear(temb_dim, out_ch)
        self.norm2 = nn.GroupNorm(groups, out_ch)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        # Zero init makes every block start as the identity, which trains faster.
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb(temb)[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class Downsample(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Upsample(nn.Module):
    # The conv runs before the nearest upsampling: a quarter of the cost of
    # convolving at the high resolution, and the next ResBlock refines anyway.
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return F.interpolate(self.conv(x), scale_factor=2.0, mode="nearest")


class UNet(nn.Module):
    """DDPM-style UNet: eps = UNet(x_t, t), x_t in [-1, 1]-image space, t in 0..T-1."""

    def __init__(self, channels=(32, 64, 128, 128), num_res_blocks=2, groups=8, dropout=0.0,
                 in_channels=3, out_channels=3, mid_attention=None, extra_mid_blocks=0):
        """mid_attention, a function making a module of the middle width, or
        None, puts that module between the two middle residual blocks;
        extra_mid_blocks residual blocks follow them. Every new block starts
        as the identity, so a trained UNet grown by them computes the same
        function until it trains on."""
        super().__init__()
        self.channels = tuple(channels)
        self.size_multiple = 2 ** (len(channels) - 1)
        ch0 = channels[0]
        sin_dim = max(ch0, 64)  # keep enough frequencies for 1000 steps in narrow nets
        temb_dim = 4 * ch0
        half = sin_dim // 2
        self.register_buffer(
            "freqs", torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half),
            persistent=False)
        self.temb_mlp = nn.Sequential(nn.Linear(sin_dim, temb_dim), nn.SiLU(), nn.Linear(temb_dim, temb_dim))

        self.conv_in = nn.Conv2d(in_channels, ch0, 3, padding=1)
        self.down = nn.ModuleList()
        skip_chs = [ch0]
        ch = ch0
        for level, out_ch in enumerate(channels):
            for _ in range(num_res_blocks):
                self.down.append(ResBlock(ch, out_ch, temb_dim, groups, dropout))
                ch = out_ch
                skip_chs.append(ch)
            if level != len(channels) - 1:
                self.down.append(Downsample(ch))
                skip_chs.append(ch)

        mid = [ResBlock(ch, ch, temb_dim, groups, dropout), ResBlock(ch, ch, temb_dim, groups, dropout)]
        if mid_attention is not None:
            mid.insert(1, mid_attention(ch))
        mid += [ResBlock(ch, ch, temb_dim, groups, dropout) for _ in range(extra_mid_blocks)]
        self.mid = nn.ModuleList(mid)

        self.up = nn.ModuleList()
        for level, out_ch in reversed(list(enumerate(channels))):
            for _ in range(num_res_blocks + 1):
                self.up.append(ResBlock(ch + skip_chs.pop(), out_ch, temb_dim, groups, dropout))
                ch = out_ch
            if level != 0:
                self.up.append(Upsample(ch))

        self.norm_out = nn.GroupNorm(groups, ch)
        self.conv_out = nn.Conv2d(ch, out_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, x, t):
        temb = self.temb_mlp(timestep_embedding(t, self.freqs))
        h = self.conv_in(x)
        hs = [h]
        for m in self.down:
            h = m(h, temb) if isinstance(m, ResBlock) else m(h)
            hs.append(h)
        for m in self.mid:
            h = m(h, temb) if isinstance(m, ResBlock) else m(h)
        for m in self.up:
            if isinstance(m, ResBlock):
                h = m(torch.cat([h, hs.pop()], dim=1), temb)
            else:
                h = m(h)
        return self.conv_out(F.silu(self.norm_out(h)))
