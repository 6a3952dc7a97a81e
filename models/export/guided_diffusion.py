#!/usr/bin/python3
"""Export OpenAI guided-diffusion's 256x256 unconditional ImageNet model to ONNX.

The UNet is defined here with guided-diffusion's module and parameter names
(openai/guided-diffusion, guided_diffusion/unet.py), so the published state
dict loads with strict=True. Only the options that checkpoint uses are
implemented: residual blocks with scale-shift norm for resampling, legacy
attention order, no class conditioning.

    /usr/bin/python3 models/export/guided_diffusion.py \\
        --checkpoint 256x256_diffusion_uncond.pt --out DIR --fp16

writes DIR/model.onnx, DIR/model.json (role ddrm-prior, 6 output channels:
eps then the learned variance) and DIR/reference.npz (a PyTorch input/output
pair). The checkpoint's weights take 2.2 GB in float32, more than one ONNX
file can hold, so the real model needs --fp16: the torso's weights stored in
float16, arithmetic, x and eps in float32 (see README.md).

    /usr/bin/python3 models/export/guided_diffusion.py --random-tiny --out DIR [--fp16]

does the same for a tiny random-weight instance of the same architecture,
loaded back through the checkpoint path, for tests.
"""
import argparse
import math
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

# The flags of the 256x256 unconditional model in guided-diffusion's README
# (and DDRM's configs/imagenet_256.yml); channel_mult is the default for 256.
CONFIG_256 = dict(model_channels=256, channel_mult=(1, 1, 2, 2, 4, 4), num_res_blocks=2,
                  attention_ds=(8, 16, 32), num_head_channels=64, learn_sigma=True, groups=32)
# The same structure at a tiny width, with one residual block per level so
# that the test fixture stays small; 8 channels need fewer GroupNorm groups
# than the 32 guided-diffusion always uses.
CONFIG_TINY = dict(model_channels=8, channel_mult=(1, 1, 1, 1, 2, 2), num_res_blocks=1,
                   attention_ds=(8, 16, 32), num_head_channels=4, learn_sigma=True, groups=4)


def timestep_embedding(t, dim, max_period=10000):
    """guided-diffusion's sinusoidal embedding: [cos, sin] of t * freqs."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def normalization(ch, groups):
    return nn.GroupNorm(groups, ch)


class TimestepEmbedSequential(nn.Sequential):
    """Passes the time embedding to the residual blocks among its children."""

    def forward(self, x, emb):
        for layer in self:
            x = layer(x, emb) if isinstance(layer, ResBlock) else layer(x)
        return x


class ResBlock(nn.Module):
    """Residual block with scale-shift conditioning; up or down resamples
    both paths by nearest upsampling or 2x2 average pooling."""

    def __init__(self, channels, emb_channels, groups, out_channels=None, up=False, down=False):
        super().__init__()
        out_channels = out_channels or channels
        self.in_layers = nn.Sequential(normalization(channels, groups), nn.SiLU(),
                                       nn.Conv2d(channels, out_channels, 3, padding=1))
        self.updown = up or down
        if up:
            self.h_upd = self.x_upd = nn.Upsample(scale_factor=2, mode="nearest")
        elif down:
            self.h_upd = self.x_upd = nn.AvgPool2d(2, 2)
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_channels, 2 * out_channels))
        self.out_layers = nn.Sequential(normalization(out_channels, groups), nn.SiLU(), nn.Dropout(0.0),
                                        nn.Conv2d(out_channels, out_channels, 3, padding=1))
        self.skip_connection = nn.Identity() if out_channels == channels else nn.Conv2d(channels, out_channels, 1)

    def forward(self, x, emb):
        if self.updown:
            h = self.h_upd(self.in_layers[:-1](x))
            x = self.x_upd(x)
            h = self.in_layers[-1](h)
        else:
            h = self.in_layers(x)
        scale, shift = self.emb_layers(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.out_layers[0](h) * (1 + scale) + shift
        return self.skip_connection(x) + self.out_layers[1:](h)


class QKVAttentionLegacy(nn.Module):
    """Attention over positions; heads are split before q, k, v."""

    def __init__(self, n_heads):
        super().__init__()
        self.n_heads = n_heads

    def forward(self, qkv):
        bs, width, length = qkv.shape
        ch = width // (3 * self.n_heads)
        q, k, v = qkv.reshape(bs * self.n_heads, ch * 3, length).split(ch, dim=1)
        scale = 1 / math.sqrt(math.sqrt(ch))
        weight = torch.softmax(torch.einsum("bct,bcs->bts", q * scale, k * scale), dim=-1)
        return torch.einsum("bts,bcs->bct", weight, v).reshape(bs, -1, length)


class AttentionBlock(nn.Module):
    def __init__(self, channels, num_head_channels, groups):
        super().__init__()
        self.norm = normalization(channels, groups)
        self.qkv = nn.Conv1d(channels, channels * 3, 1)
        self.attention = QKVAttentionLegacy(channels // num_head_channels)
        self.proj_out = nn.Conv1d(channels, channels, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        x = x.reshape(b, c, -1)
        out = self.proj_out(self.attention(self.qkv(self.norm(x))))
        return (x + out).reshape(b, c, h, w)


class UNetModel(nn.Module):
    """guided-diffusion's UNetModel with resblock_updown and use_scale_shift_norm."""

    def __init__(self, model_channels, channel_mult, num_res_blocks, attention_ds, num_head_channels,
                 learn_sigma, groups, in_channels=3):
        super().__init__()
        self.model_channels = model_channels
        self.size_multiple = 2 ** (len(channel_mult) - 1)
        emb = model_channels * 4
        self.time_embed = nn.Sequential(nn.Linear(model_channels, emb), nn.SiLU(), nn.Linear(emb, emb))

        ch = model_channels * channel_mult[0]
        self.input_blocks = nn.ModuleList([TimestepEmbedSequential(nn.Conv2d(in_channels, ch, 3, padding=1))])
        chans = [ch]
        ds = 1
        for level, mult in enumerate(channel_mult):
            for _ in range(num_res_blocks):
                layers = [ResBlock(ch, emb, groups, mult * model_channels)]
                ch = mult * model_channels
                if ds in attention_ds:
                    layers.append(AttentionBlock(ch, num_head_channels, groups))
                self.input_blocks.append(TimestepEmbedSequential(*layers))
                chans.append(ch)
            if level != len(channel_mult) - 1:
                self.input_blocks.append(TimestepEmbedSequential(ResBlock(ch, emb, groups, ch, down=True)))
                chans.append(ch)
                ds *= 2

        self.middle_block = TimestepEmbedSequential(ResBlock(ch, emb, groups),
                                                    AttentionBlock(ch, num_head_channels, groups),
                                                    ResBlock(ch, emb, groups))

        self.output_blocks = nn.ModuleList()
        for level, mult in list(enumerate(channel_mult))[::-1]:
            for i in range(num_res_blocks + 1):
                layers = [ResBlock(ch + chans.pop(), emb, groups, model_channels * mult)]
                ch = model_channels * mult
                if ds in attention_ds:
                    layers.append(AttentionBlock(ch, num_head_channels, groups))
                if level and i == num_res_blocks:
                    layers.append(ResBlock(ch, emb, groups, ch, up=True))
                    ds //= 2
                self.output_blocks.append(TimestepEmbedSequential(*layers))

        out_channels = 2 * in_channels if learn_sigma else in_channels
        self.out = nn.Sequential(normalization(ch, groups), nn.SiLU(), nn.Conv2d(ch, out_channels, 3, padding=1))

    def forward(self, x, t):
        emb = self.time_embed(timestep_embedding(t, self.model_channels))
        hs = []
        h = x
        for module in self.input_blocks:
            h = module(h, emb)
            hs.append(h)
        h = self.middle_block(h, emb)
        for module in self.output_blocks:
            h = module(torch.cat([h, hs.pop()], dim=1), emb)
        return self.out(h)


def torso_convs(model):
    """The layers guided-diffusion's convert_to_fp16 turns to float16."""
    return [m for part in (model.input_blocks, model.middle_block, model.output_blocks)
            for m in part.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="256x256_diffusion_uncond.pt")
    src.add_argument("--save-tiny-checkpoint", metavar="FILE",
                     help="write a tiny random-weight checkpoint in the published format to FILE, and stop (for tests)")
    src.add_argument("--random-tiny", action="store_true", help="tiny random-weight model, for tests")
    ap.add_argument("--out", help="output model folder")
    ap.add_argument("--fp16", action="store_true", help="float16 storage of the torso convolutions (as upstream's use_fp16); x and eps stay float32")
    ap.add_argument("--name", help="model name in model.json")
    common.add_verification_args(ap)
    args = ap.parse_args()
    if not args.out and not args.save_tiny_checkpoint:
        ap.error("--out is required")

    torch.manual_seed(0)
    if args.save_tiny_checkpoint:
        common.save_tiny_checkpoint(UNetModel(**CONFIG_TINY), 1, args.save_tiny_checkpoint, "guided-diffusion")
        return
    if args.random_tiny:
        cfg = CONFIG_TINY
        net = UNetModel(**cfg)
        common.randomize_(net, seed=1)
        net = common.roundtrip_state_dict(net, lambda: UNetModel(**cfg))
        prov = common.tiny_provenance("models/export/guided_diffusion.py")
        name = args.name or "guided-diffusion-tiny" + ("-f16" if args.fp16 else "")
    else:
        record = common.checkpoint_record(__file__, "256x256_diffusion_uncond", args.records)
        state = torch.load(args.checkpoint, map_location="cpu")
        digest, verification = common.verify_checkpoint(args.checkpoint, record, args.allow_unverified, state)
        # The published checkpoint is CONFIG_256; a tiny one is a test's.
        tiny = state["input_blocks.0.0.weight"].shape[0] == CONFIG_TINY["model_channels"]
        cfg = CONFIG_TINY if tiny else CONFIG_256
        net = UNetModel(**cfg)
        net.load_state_dict(state, strict=True)
        net.eval()
        prov = common.provenance(record, digest, record["licence"], {
            "data": "ImageNet (ILSVRC 2012) training set, 256x256, unconditional",
            "notes": "Dhariwal & Nichol 2021, 'Diffusion Models Beat GANs on Image Synthesis'; "
                     "the prior DDRM uses for ImageNet"}, verification, state)
        name = args.name or "guided-diffusion-256-uncond" + ("-f16" if args.fp16 else "")
    os.makedirs(args.out, exist_ok=True)

    # x and eps stay float32 with --fp16, as upstream's: use_fp16 converts
    # only the torso, and its output layer runs in float32.
    model = net
    if args.fp16:
        common.store_float16(torso_convs(net))
    model.eval()

    # Trace at a small non-square size and check at another: B, H and W are dynamic.
    example = (torch.randn(1, 3, 32, 64), torch.tensor([10]))
    axes = {"x": {0: "B", 2: "H", 3: "W"}, "t": {0: "B"}, "eps": {0: "B", 2: "H", 3: "W"}}
    size = common.export_onnx(model, example, os.path.join(args.out, "model.onnx"), ["x", "t"], ["eps"], axes,
                              fold_constants=not args.fp16)

    g = torch.Generator().manual_seed(1234)
    ref_x = torch.randn(2, 3, 64, 32, generator=g).clamp(-3, 3)
    ref_t = torch.tensor([999, 250])
    with torch.no_grad():
        ref_eps = model(ref_x, ref_t)
    common.save_reference(args.out, x=ref_x, t=ref_t, eps=ref_eps)

    prov["params"] = sum(p.numel() for p in net.parameters())
    prov["architecture"] = {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()}
    if args.fp16:
        prov["precision"] = "float16 storage of the torso convolutions; float32 arithmetic, x and eps"
    x4 = ["B", 3, "H", "W"]
    common.write_model_json(
        args.out, name=name, role="ddrm-prior",
        description="guided-diffusion UNet (openai/guided-diffusion), eps and learned variance",
        inputs=[common.spec("x", "float32", x4), common.spec("t", "int64", ["B"])],
        outputs=[common.spec("eps", "float32", ["B", 6, "H", "W"])],
        schedule=common.LINEAR_SCHEDULE, size_multiple=net.size_multiple, learned_variance=True,
        provenance=prov)
    weights = "float16 torso weights" if args.fp16 else "float32"
    print(f"wrote {args.out}: model.onnx {size} bytes, {prov['params']} parameters, {weights}")


if __name__ == "__main__":
    main()
