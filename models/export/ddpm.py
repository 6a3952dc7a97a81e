#!/usr/bin/python3
"""Export the DDPM UNet (Ho et al. 2020) that DDRM uses for CelebA-HQ and LSUN.

The network is DDRM's models/diffusion.py Model (also ermongroup/ddim's and
pesser/pytorch_diffusion's), defined here with the same module and parameter
names, so the published state dicts load with strict=True. The 256x256
configuration: ch 128, ch_mult (1, 1, 2, 2, 4, 4), 2 residual blocks per
level, attention at 16x16, resampling with convolutions, eps output.

    /usr/bin/python3 models/export/ddpm.py --checkpoint celeba_hq.ckpt --which celeba_hq --out DIR

writes DIR/model.onnx, DIR/model.json (role ddrm-prior) and DIR/reference.npz
(a PyTorch input/output pair). --which names the record in ddpm.json (the
published file name, address and hashes); the LSUN ones are
ema_lsun_bedroom, ema_lsun_cat and ema_lsun_church.

    /usr/bin/python3 models/export/ddpm.py --random-tiny --out DIR

does the same for a tiny random-weight instance of the same architecture,
loaded back through the checkpoint path, for tests.
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

CONFIG_256 = dict(ch=128, ch_mult=(1, 1, 2, 2, 4, 4), num_res_blocks=2, attn_resolutions=(16,), resolution=256,
                  groups=32)
# The same structure at a tiny width, for tests; 8 channels need fewer
# GroupNorm groups than DDPM's 32. Attention lands at the same level (the
# fifth, 16x16 for 256x256 images).
CONFIG_TINY = dict(ch=8, ch_mult=(1, 1, 2, 2, 2, 2), num_res_blocks=2, attn_resolutions=(16,), resolution=256,
                   groups=4)


def get_timestep_embedding(t, dim):
    """DDPM's sinusoidal embedding: [sin, cos], frequencies 10000^(-i/(half-1))."""
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32) * -(math.log(10000) / (half - 1)))
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


def Normalize(ch, groups):
    return nn.GroupNorm(num_groups=groups, num_channels=ch, eps=1e-6, affine=True)


class Upsample(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, stride=1, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Downsample(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, stride=2, padding=0)

    def forward(self, x):
        # The TensorFlow original pads asymmetrically: one row and column at the end.
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class ResnetBlock(nn.Module):
    def __init__(self, in_channels, out_channels, temb_channels, groups):
        super().__init__()
        self.norm1 = Normalize(in_channels, groups)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=1, padding=1)
        self.temb_proj = nn.Linear(temb_channels, out_channels)
        self.norm2 = Normalize(out_channels, groups)
        self.dropout = nn.Dropout(0.0)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1)
        if in_channels != out_channels:
            self.nin_shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=1, padding=0)

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        if hasattr(self, "nin_shortcut"):
            x = self.nin_shortcut(x)
        return x + h


class AttnBlock(nn.Module):
    def __init__(self, ch, groups):
        super().__init__()
        self.norm = Normalize(ch, groups)
        self.q = nn.Conv2d(ch, ch, 1)
        self.k = nn.Conv2d(ch, ch, 1)
        self.v = nn.Conv2d(ch, ch, 1)
        self.proj_out = nn.Conv2d(ch, ch, 1)

    def forward(self, x):
        h_ = self.norm(x)
        q, k, v = self.q(h_), self.k(h_), self.v(h_)
        b, c, h, w = q.shape
        q = q.reshape(b, c, h * w).permute(0, 2, 1)  # b, hw, c
        w_ = torch.bmm(q, k.reshape(b, c, h * w)) * (int(c) ** -0.5)  # b, hw(q), hw(k)
        w_ = torch.softmax(w_, dim=2).permute(0, 2, 1)
        h_ = torch.bmm(v.reshape(b, c, h * w), w_).reshape(b, c, h, w)
        return x + self.proj_out(h_)


class Model(nn.Module):
    def __init__(self, ch, ch_mult, num_res_blocks, attn_resolutions, resolution, groups, in_channels=3, out_ch=3):
        super().__init__()
        self.ch = ch
        self.temb_ch = ch * 4
        self.num_resolutions = len(ch_mult)
        self.num_res_blocks = num_res_blocks
        self.size_multiple = 2 ** (len(ch_mult) - 1)

        self.temb = nn.Module()
        self.temb.dense = nn.ModuleList([nn.Linear(ch, self.temb_ch), nn.Linear(self.temb_ch, self.temb_ch)])
        self.conv_in = nn.Conv2d(in_channels, ch, 3, stride=1, padding=1)

        curr_res = resolution
        in_ch_mult = (1,) + tuple(ch_mult)
        self.down = nn.ModuleList()
        for i_level in range(self.num_resolutions):
            block, attn = nn.ModuleList(), nn.ModuleList()
            block_in, block_out = ch * in_ch_mult[i_level], ch * ch_mult[i_level]
            for _ in range(num_res_blocks):
                block.append(ResnetBlock(block_in, block_out, self.temb_ch, groups))
                block_in = block_out
                if curr_res in attn_resolutions:
                    attn.append(AttnBlock(block_in, groups))
            down = nn.Module()
            down.block, down.attn = block, attn
            if i_level != self.num_resolutions - 1:
                down.downsample = Downsample(block_in)
                curr_res //= 2
            self.down.append(down)

        self.mid = nn.Module()
        self.mid.block_1 = ResnetBlock(block_in, block_in, self.temb_ch, groups)
        self.mid.attn_1 = AttnBlock(block_in, groups)
        self.mid.block_2 = ResnetBlock(block_in, block_in, self.temb_ch, groups)

        self.up = nn.ModuleList()
        for i_level in reversed(range(self.num_resolutions)):
            block, attn = nn.ModuleList(), nn.ModuleList()
            block_out = ch * ch_mult[i_level]
            skip_in = ch * ch_mult[i_level]
            for i_block in range(num_res_blocks + 1):
                if i_block == num_res_blocks:
                    skip_in = ch * in_ch_mult[i_level]
                block.append(ResnetBlock(block_in + skip_in, block_out, self.temb_ch, groups))
                block_in = block_out
                if curr_res in attn_resolutions:
                    attn.append(AttnBlock(block_in, groups))
            up = nn.Module()
            up.block, up.attn = block, attn
            if i_level != 0:
                up.upsample = Upsample(block_in)
                curr_res *= 2
            self.up.insert(0, up)  # prepend, so that up[i] is level i

        self.norm_out = Normalize(block_in, groups)
        self.conv_out = nn.Conv2d(block_in, out_ch, 3, stride=1, padding=1)

    def forward(self, x, t):
        temb = self.temb.dense[1](F.silu(self.temb.dense[0](get_timestep_embedding(t, self.ch))))
        hs = [self.conv_in(x)]
        for i_level in range(self.num_resolutions):
            for i_block in range(self.num_res_blocks):
                h = self.down[i_level].block[i_block](hs[-1], temb)
                if len(self.down[i_level].attn) > 0:
                    h = self.down[i_level].attn[i_block](h)
                hs.append(h)
            if i_level != self.num_resolutions - 1:
                hs.append(self.down[i_level].downsample(hs[-1]))
        h = hs[-1]
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h, temb)), temb)
        for i_level in reversed(range(self.num_resolutions)):
            for i_block in range(self.num_res_blocks + 1):
                h = self.up[i_level].block[i_block](torch.cat([h, hs.pop()], dim=1), temb)
                if len(self.up[i_level].attn) > 0:
                    h = self.up[i_level].attn[i_block](h)
            if i_level != 0:
                h = self.up[i_level].upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


def infer_which(path, records=None):
    """The record whose published file name path has, or an error asking for --which."""
    table = json.load(open(records or os.path.splitext(__file__)[0] + ".json"))["checkpoints"]
    base = os.path.basename(path)
    hits = [k for k, r in table.items() if os.path.basename(r["file"]) == base]
    if len(hits) != 1:
        raise SystemExit(f"{path}: cannot tell which DDPM this is from its name; give --which, one of "
                         f"{', '.join(sorted(table))} (the record names its data, address and licence)")
    return hits[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="the checkpoint file, e.g. celeba_hq.ckpt or model-2388000.ckpt")
    src.add_argument("--save-tiny-checkpoint", metavar="FILE",
                     help="write a tiny random-weight checkpoint in the published format to FILE, and stop (for tests)")
    src.add_argument("--random-tiny", action="store_true", help="tiny random-weight model, for tests")
    ap.add_argument("--which", help="the checkpoint's record in ddpm.json (celeba_hq, ema_lsun_bedroom, ...); "
                                    "inferred from the file name when it is the published one")
    ap.add_argument("--out", help="output model folder")
    ap.add_argument("--name", help="model name in model.json")
    common.add_verification_args(ap)
    args = ap.parse_args()
    if not args.out and not args.save_tiny_checkpoint:
        ap.error("--out is required")

    torch.manual_seed(0)
    if args.save_tiny_checkpoint:
        common.save_tiny_checkpoint(Model(**CONFIG_TINY), 2, args.save_tiny_checkpoint, "DDPM")
        return
    if args.random_tiny:
        cfg = CONFIG_TINY
        net = Model(**cfg)
        common.randomize_(net, seed=2)
        net = common.roundtrip_state_dict(net, lambda: Model(**cfg))
        prov = common.tiny_provenance("models/export/ddpm.py")
        name = args.name or "ddpm-tiny"
    else:
        which = args.which or infer_which(args.checkpoint, args.records)
        record = common.checkpoint_record(__file__, which, args.records)
        state = torch.load(args.checkpoint, map_location="cpu")
        digest, verification = common.verify_checkpoint(args.checkpoint, record, args.allow_unverified, state)
        # The published checkpoints are CONFIG_256; a tiny one is a test's.
        cfg = CONFIG_TINY if state["conv_in.weight"].shape[0] == CONFIG_TINY["ch"] else CONFIG_256
        net = Model(**cfg)
        net.load_state_dict(state, strict=True)
        prov = common.provenance(record, digest, record["licence"], {"data": record["data"], "notes": record["notes"]},
                                 verification, state)
        name = args.name or "ddpm-" + which.replace("_", "-")
    net.eval()
    os.makedirs(args.out, exist_ok=True)

    example = (torch.randn(1, 3, 32, 64), torch.tensor([10]))
    axes = {"x": {0: "B", 2: "H", 3: "W"}, "t": {0: "B"}, "eps": {0: "B", 2: "H", 3: "W"}}
    size = common.export_onnx(net, example, os.path.join(args.out, "model.onnx"), ["x", "t"], ["eps"], axes)

    g = torch.Generator().manual_seed(1234)
    ref_x = torch.randn(2, 3, 64, 32, generator=g).clamp(-3, 3)
    ref_t = torch.tensor([999, 250])
    with torch.no_grad():
        ref_eps = net(ref_x, ref_t)
    common.save_reference(args.out, x=ref_x, t=ref_t, eps=ref_eps)

    prov["params"] = sum(p.numel() for p in net.parameters())
    prov["architecture"] = {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()}
    x4 = ["B", 3, "H", "W"]
    common.write_model_json(
        args.out, name=name, role="ddrm-prior",
        description="DDPM UNet (Ho et al. 2020) as used by DDRM, eps prediction",
        inputs=[common.spec("x", "float32", x4), common.spec("t", "int64", ["B"])],
        outputs=[common.spec("eps", "float32", x4)],
        schedule=common.LINEAR_SCHEDULE, size_multiple=net.size_multiple, provenance=prov)
    print(f"wrote {args.out}: model.onnx {size} bytes, {prov['params']} parameters")


if __name__ == "__main__":
    main()
