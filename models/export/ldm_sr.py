#!/usr/bin/python3
"""Export CompVis ldm-super-resolution-4x-openimages (diffusers layout) to ONNX.

The model is latent diffusion's 4x super-resolution: a VQ-f4 autoencoder (3
latent channels, 8192 codebook entries) and a UNet that predicts eps from
concat(z_t, low-resolution image) at the low resolution. diffusers is not
needed: UNet2DModel and VQModel are defined here with the module and parameter
names of the published diffusers state dicts (diffusers 0.8, which named the
attention layers query, key, value and proj_attn; files saved by later
diffusers, with to_q, to_k, to_v and to_out.0, are renamed on load), so both
load with strict=True.

    /usr/bin/python3 models/export/ldm_sr.py --snapshot REPO_DIR --out DIR

reads REPO_DIR/unet/diffusion_pytorch_model.bin and
REPO_DIR/vqvae/diffusion_pytorch_model.bin (checking REPO_DIR/*/config.json
against the architecture, when present) and writes DIR as an ldm-sr bundle,
the folder that package models' OpenLDM opens and that
'restorelab restore --method ldm|ddrm-ldm --ldm-model DIR' takes:

    DIR/model.json  role ldm-sr: factor 4, parts unet, encoder and decoder
    DIR/unet        role ldm-unet, cond_channels 3: x = concat(z_t, low-res
                    image in [-1,1]) [B,6,h,w], t int64 [B] -> eps [B,3,h,w],
                    schedule scaled_linear 0.0015..0.0155, T = 1000
    DIR/encoder     role ldm-encoder: image [B,3,H,W] in [-1,1] -> z [B,3,H/4,W/4]
                    (the latent before quantisation)
    DIR/decoder     role ldm-decoder: z -> image [B,3,4h,4w] about [-1,1],
                    quantising z to the codebook first

Each part folder holds model.onnx, model.json and reference.npz (a PyTorch
input/output pair). These are the conventions of latent diffusion's SR model
and of diffusers' LDMSuperResolutionPipeline: the low-resolution image is
concatenated in [-1, 1] at the latent's size, and the VQ-f4 latents have no
scale factor (1.0).

    /usr/bin/python3 models/export/ldm_sr.py --random-tiny --out DIR

does the same for tiny random-weight instances of the same architectures,
loaded back through the checkpoint path, for tests.
"""
import argparse
import json
import math
import os
import sys
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

# unet/config.json and vqvae/config.json of the published model.
UNET_CONFIG = dict(in_channels=6, out_channels=3, block_out_channels=(160, 320, 320, 640), layers_per_block=2,
                   attn_levels=(3,), attention_head_dim=32, norm_num_groups=32, norm_eps=1e-5)
VQ_CONFIG = dict(block_out_channels=(128, 256, 512), layers_per_block=2, latent_channels=3,
                 num_vq_embeddings=8192, norm_num_groups=32)
# The same structures at a tiny width, for tests (fewer GroupNorm groups for
# the narrow layers; the codebook keeps its 8192 entries).
UNET_TINY = dict(UNET_CONFIG, block_out_channels=(8, 16, 16, 16), attention_head_dim=4, norm_num_groups=4)
VQ_TINY = dict(VQ_CONFIG, block_out_channels=(8, 16, 16), norm_num_groups=4)

SCHEDULE = {"type": "scaled_linear", "beta_start": 0.0015, "beta_end": 0.0155, "T": 1000}
# Key names of the attention layers in files saved by diffusers >= 0.17.0.
RENAMED_ATTENTION = {"to_q.": "query.", "to_k.": "key.", "to_v.": "value.", "to_out.0.": "proj_attn."}
WEIGHTS = "diffusion_pytorch_model.bin"


def timestep_embedding(t, dim):
    """diffusers' Timesteps(dim, flip_sin_to_cos=True, freq_shift=0): [cos, sin]."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class TimestepEmbedding(nn.Module):
    def __init__(self, channels, dim):
        super().__init__()
        self.linear_1 = nn.Linear(channels, dim)
        self.act = nn.SiLU()
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, x):
        return self.linear_2(self.act(self.linear_1(x)))


class ResnetBlock2D(nn.Module):
    def __init__(self, in_channels, out_channels, temb_channels, groups, eps):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_channels, eps=eps)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb_channels, out_channels) if temb_channels else None
        self.norm2 = nn.GroupNorm(groups, out_channels, eps=eps)
        self.dropout = nn.Dropout(0.0)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def forward(self, x, temb=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if temb is not None:
            h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(x)
        return x + h


class AttentionBlock(nn.Module):
    """diffusers' (pre-0.17.0) AttentionBlock: self-attention over positions."""

    def __init__(self, channels, num_head_channels, groups, eps):
        super().__init__()
        self.num_heads = channels // num_head_channels if num_head_channels else 1
        self.group_norm = nn.GroupNorm(groups, channels, eps=eps)
        self.query = nn.Linear(channels, channels)
        self.key = nn.Linear(channels, channels)
        self.value = nn.Linear(channels, channels)
        self.proj_attn = nn.Linear(channels, channels)

    def forward(self, x):
        b, c, h, w = x.shape
        hs = self.group_norm(x).reshape(b, c, h * w).transpose(1, 2)
        d = c // self.num_heads

        def heads(p):  # [b, hw, c] -> [b * heads, hw, d]
            return p.reshape(b, h * w, self.num_heads, d).permute(0, 2, 1, 3).reshape(b * self.num_heads, h * w, d)

        q, k, v = heads(self.query(hs)), heads(self.key(hs)), heads(self.value(hs))
        probs = torch.softmax(torch.bmm(q, k.transpose(1, 2)) * (1 / math.sqrt(d)), dim=-1)
        out = torch.bmm(probs, v).reshape(b, self.num_heads, h * w, d).permute(0, 2, 1, 3).reshape(b, h * w, c)
        return self.proj_attn(out).transpose(1, 2).reshape(b, c, h, w) + x


class Downsample2D(nn.Module):
    def __init__(self, channels, padding):
        super().__init__()
        self.padding = padding
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=padding)

    def forward(self, x):
        if self.padding == 0:  # the VQ encoder pads one row and column at the end
            x = F.pad(x, (0, 1, 0, 1))
        return self.conv(x)


class Upsample2D(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DownBlock2D(nn.Module):
    """DownBlock2D, AttnDownBlock2D (head_dim set) and, without temb,
    DownEncoderBlock2D."""

    def __init__(self, in_channels, out_channels, temb_channels, num_layers, add_downsample, padding, groups, eps,
                 attention_head_dim=None):
        super().__init__()
        self.resnets = nn.ModuleList(
            [ResnetBlock2D(in_channels if i == 0 else out_channels, out_channels, temb_channels, groups, eps)
             for i in range(num_layers)])
        self.attentions = nn.ModuleList(
            [AttentionBlock(out_channels, attention_head_dim, groups, eps) for _ in range(num_layers)]
            if attention_head_dim else [])
        if add_downsample:
            self.downsamplers = nn.ModuleList([Downsample2D(out_channels, padding)])

    def forward(self, h, temb=None):
        states = ()
        for i, resnet in enumerate(self.resnets):
            h = resnet(h, temb)
            if self.attentions:
                h = self.attentions[i](h)
            states += (h,)
        if hasattr(self, "downsamplers"):
            h = self.downsamplers[0](h)
            states += (h,)
        return h, states


class UpBlock2D(nn.Module):
    """UpBlock2D and AttnUpBlock2D: residual blocks fed with the skip connections."""

    def __init__(self, in_channels, prev_output_channel, out_channels, temb_channels, num_layers, add_upsample,
                 groups, eps, attention_head_dim=None):
        super().__init__()
        self.resnets = nn.ModuleList()
        for i in range(num_layers):
            skip = in_channels if i == num_layers - 1 else out_channels
            self.resnets.append(ResnetBlock2D((prev_output_channel if i == 0 else out_channels) + skip, out_channels,
                                              temb_channels, groups, eps))
        self.attentions = nn.ModuleList(
            [AttentionBlock(out_channels, attention_head_dim, groups, eps) for _ in range(num_layers)]
            if attention_head_dim else [])
        if add_upsample:
            self.upsamplers = nn.ModuleList([Upsample2D(out_channels)])

    def forward(self, h, skips, temb):
        for i, resnet in enumerate(self.resnets):
            h = resnet(torch.cat([h, skips[-1 - i]], dim=1), temb)
            if self.attentions:
                h = self.attentions[i](h)
        if hasattr(self, "upsamplers"):
            h = self.upsamplers[0](h)
        return h


class UpDecoderBlock2D(nn.Module):
    def __init__(self, in_channels, out_channels, num_layers, add_upsample, groups, eps):
        super().__init__()
        self.resnets = nn.ModuleList(
            [ResnetBlock2D(in_channels if i == 0 else out_channels, out_channels, None, groups, eps)
             for i in range(num_layers)])
        if add_upsample:
            self.upsamplers = nn.ModuleList([Upsample2D(out_channels)])

    def forward(self, h):
        for resnet in self.resnets:
            h = resnet(h)
        if hasattr(self, "upsamplers"):
            h = self.upsamplers[0](h)
        return h


class UNetMidBlock2D(nn.Module):
    def __init__(self, channels, temb_channels, groups, eps, attention_head_dim):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(channels, channels, temb_channels, groups, eps)
                                      for _ in range(2)])
        self.attentions = nn.ModuleList([AttentionBlock(channels, attention_head_dim, groups, eps)])

    def forward(self, h, temb=None):
        h = self.resnets[0](h, temb)
        return self.resnets[1](self.attentions[0](h), temb)


class UNet2DModel(nn.Module):
    def __init__(self, in_channels, out_channels, block_out_channels, layers_per_block, attn_levels,
                 attention_head_dim, norm_num_groups, norm_eps):
        super().__init__()
        ch0 = block_out_channels[0]
        self.ch0 = ch0
        self.size_multiple = 2 ** (len(block_out_channels) - 1)
        temb = ch0 * 4
        g, eps = norm_num_groups, norm_eps
        self.conv_in = nn.Conv2d(in_channels, ch0, 3, padding=1)
        self.time_embedding = TimestepEmbedding(ch0, temb)

        last = len(block_out_channels) - 1
        self.down_blocks = nn.ModuleList()
        out = ch0
        for i, ch in enumerate(block_out_channels):
            self.down_blocks.append(DownBlock2D(out, ch, temb, layers_per_block, i != last, 1, g, eps,
                                                attention_head_dim if i in attn_levels else None))
            out = ch
        self.mid_block = UNetMidBlock2D(block_out_channels[-1], temb, g, eps, attention_head_dim)
        rev = list(reversed(block_out_channels))
        self.up_blocks = nn.ModuleList()
        out = rev[0]
        for i, ch in enumerate(rev):
            prev, out = out, ch
            self.up_blocks.append(UpBlock2D(rev[min(i + 1, last)], prev, out, temb, layers_per_block + 1, i != last,
                                            g, eps, attention_head_dim if last - i in attn_levels else None))
        self.conv_norm_out = nn.GroupNorm(g, ch0, eps=eps)
        self.conv_act = nn.SiLU()
        self.conv_out = nn.Conv2d(ch0, out_channels, 3, padding=1)

    def forward(self, x, t):
        temb = self.time_embedding(timestep_embedding(t, self.ch0))
        h = self.conv_in(x)
        skips = (h,)
        for block in self.down_blocks:
            h, states = block(h, temb)
            skips += states
        h = self.mid_block(h, temb)
        for block in self.up_blocks:
            n = len(block.resnets)
            h = block(h, skips[-n:], temb)
            skips = skips[:-n]
        return self.conv_out(self.conv_act(self.conv_norm_out(h)))


class Encoder(nn.Module):
    def __init__(self, block_out_channels, layers_per_block, out_channels, groups):
        super().__init__()
        self.conv_in = nn.Conv2d(3, block_out_channels[0], 3, padding=1)
        last = len(block_out_channels) - 1
        out = block_out_channels[0]
        self.down_blocks = nn.ModuleList()
        for i, ch in enumerate(block_out_channels):
            self.down_blocks.append(DownBlock2D(out, ch, None, layers_per_block, i != last, 0, groups, 1e-6))
            out = ch
        self.mid_block = UNetMidBlock2D(out, None, groups, 1e-6, None)
        self.conv_norm_out = nn.GroupNorm(groups, out, eps=1e-6)
        self.conv_act = nn.SiLU()
        self.conv_out = nn.Conv2d(out, out_channels, 3, padding=1)

    def forward(self, x):
        h = self.conv_in(x)
        for block in self.down_blocks:
            h, _ = block(h)
        return self.conv_out(self.conv_act(self.conv_norm_out(self.mid_block(h))))


class Decoder(nn.Module):
    def __init__(self, block_out_channels, layers_per_block, in_channels, groups):
        super().__init__()
        rev = list(reversed(block_out_channels))
        self.conv_in = nn.Conv2d(in_channels, rev[0], 3, padding=1)
        self.mid_block = UNetMidBlock2D(rev[0], None, groups, 1e-6, None)
        self.up_blocks = nn.ModuleList()
        out = rev[0]
        for i, ch in enumerate(rev):
            self.up_blocks.append(UpDecoderBlock2D(out, ch, layers_per_block + 1, i != len(rev) - 1, groups, 1e-6))
            out = ch
        self.conv_norm_out = nn.GroupNorm(groups, out, eps=1e-6)
        self.conv_act = nn.SiLU()
        self.conv_out = nn.Conv2d(out, 3, 3, padding=1)

    def forward(self, z):
        h = self.mid_block(self.conv_in(z))
        for block in self.up_blocks:
            h = block(h)
        return self.conv_out(self.conv_act(self.conv_norm_out(h)))


class VectorQuantizer(nn.Module):
    def __init__(self, n, dim):
        super().__init__()
        self.embedding = nn.Embedding(n, dim)

    def forward(self, z):
        """Replaces each latent vector by its nearest codebook entry. (diffusers
        adds z + (z_q - z).detach(), a straight-through gradient trick that
        only matters in training.)"""
        b, c, h, w = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, c)
        e = self.embedding.weight
        d = (flat ** 2).sum(1, keepdim=True) + (e ** 2).sum(1) - 2 * flat @ e.t()
        return self.embedding(d.argmin(1)).reshape(b, h, w, c).permute(0, 3, 1, 2)


class VQModel(nn.Module):
    def __init__(self, block_out_channels, layers_per_block, latent_channels, num_vq_embeddings, norm_num_groups):
        super().__init__()
        self.encoder = Encoder(block_out_channels, layers_per_block, latent_channels, norm_num_groups)
        self.quant_conv = nn.Conv2d(latent_channels, latent_channels, 1)
        self.quantize = VectorQuantizer(num_vq_embeddings, latent_channels)
        self.post_quant_conv = nn.Conv2d(latent_channels, latent_channels, 1)
        self.decoder = Decoder(block_out_channels, layers_per_block, latent_channels, norm_num_groups)
        self.factor = 2 ** (len(block_out_channels) - 1)


class VQEncode(nn.Module):
    def __init__(self, vq):
        super().__init__()
        self.vq = vq

    def forward(self, x):
        return self.vq.quant_conv(self.vq.encoder(x))


class VQDecode(nn.Module):
    def __init__(self, vq):
        super().__init__()
        self.vq = vq

    def forward(self, z):
        return self.vq.decoder(self.vq.post_quant_conv(self.vq.quantize(z)))


def load_diffusers(module, path):
    """Loads a diffusers state dict with strict=True, renaming the attention
    keys of diffusers >= 0.17.0 to the names the published files use."""
    state = torch.load(path, map_location="cpu")
    for key in list(state):
        new = key
        for a, b in RENAMED_ATTENTION.items():
            if ".attentions." in key:
                new = new.replace("." + a, "." + b)
        state[new] = state.pop(key)
    module.load_state_dict(state, strict=True)
    return module.eval()


def load_snapshot(snapshot, ucfg, vcfg):
    """The UNet and VQ model of a diffusers repository folder."""
    unet = load_diffusers(UNet2DModel(**ucfg), os.path.join(snapshot, "unet", WEIGHTS))
    vq = load_diffusers(VQModel(**vcfg), os.path.join(snapshot, "vqvae", WEIGHTS))
    return unet, vq


def save_diffusers(state, folder):
    os.makedirs(folder)
    torch.save(state, os.path.join(folder, WEIGHTS))


def renamed(key):
    """key as diffusers >= 0.17.0 names it."""
    if ".attentions." not in key:
        return key
    for new, old in RENAMED_ATTENTION.items():
        key = key.replace("." + old, "." + new)
    return key


def ddim_convention(snapshot):
    """The DDIM convention of a snapshot's scheduler/scheduler_config.json
    (diffusers' DDIMScheduler), or None for LDM's own (no such file): where
    the last step goes, set_alpha_to_one, and the steps offset, which must be
    the 1 restorelab's sequence has."""
    path = os.path.join(snapshot, "scheduler", "scheduler_config.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        cfg = json.load(f)
    offset = cfg.get("steps_offset", 0)
    if offset != 1:
        raise SystemExit(f"{path}: steps_offset {offset}; restorelab's DDIM time steps have the offset 1 of LDM and "
                         "of the published scheduler, and no other")
    for key, want in (("beta_start", SCHEDULE["beta_start"]), ("beta_end", SCHEDULE["beta_end"])):
        if key in cfg and abs(cfg[key] - want) > 1e-9:
            raise SystemExit(f"{path}: {key} {cfg[key]}, but the model's schedule has {want}")
    final = "one" if cfg.get("set_alpha_to_one", True) else "alpha_bar_0"
    print(f"{path}: the last DDIM step goes to alpha_bar {'1' if final == 'one' else '0 (1 - beta_0)'}")
    return {"final_alpha": final, "steps_offset": 1}


def check_config(path, want):
    """Checks a published config.json against the architecture defined here."""
    if not os.path.exists(path):
        return
    with open(path) as f:
        cfg = json.load(f)
    diffs = [f"{k}: {cfg[k]!r} there, {v!r} here" for k, v in want.items() if k in cfg and cfg[k] != v]
    if diffs:
        raise SystemExit(f"{path} describes another architecture: " + "; ".join(diffs))


def codebook_latents(vq, shape, g):
    """Latents near codebook entries, so that quantisation is far from ties
    and PyTorch and ONNX Runtime pick the same entries."""
    e = vq.quantize.embedding.weight.detach()
    b, c, h, w = shape
    idx = torch.randint(0, e.shape[0], (b * h * w,), generator=g)
    z = e[idx] + 1e-3 * e.std() * torch.randn(b * h * w, c, generator=g)
    return z.reshape(b, h, w, c).permute(0, 3, 1, 2).contiguous()


def write(out, sub, model, example, ref_inputs, names, axes, manifest):
    d = os.path.join(out, sub)
    os.makedirs(d, exist_ok=True)
    size = common.export_onnx(model, example, os.path.join(d, "model.onnx"), names[:-1], names[-1:], axes)
    with torch.no_grad():
        ref_out = model(*ref_inputs)
    common.save_reference(d, **dict(zip(names, (*ref_inputs, ref_out))))
    common.write_model_json(d, **manifest)
    print(f"wrote {d}: model.onnx {size} bytes")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--snapshot", help="folder with unet/ and vqvae/ of the diffusers repository")
    src.add_argument("--save-tiny-snapshot", metavar="DIR",
                     help="write a tiny random-weight snapshot in the diffusers layout to DIR, and stop (for tests)")
    src.add_argument("--random-tiny", action="store_true", help="tiny random-weight models, for tests")
    ap.add_argument("--out",
                    help="the ldm-sr bundle folder to write: model.json and the part folders unet/, encoder/, decoder/")
    ap.add_argument("--name", help="the bundle's name in model.json (the parts get -unet, -encoder, -decoder)")
    common.add_verification_args(ap)
    args = ap.parse_args()
    if not args.out and not args.save_tiny_snapshot:
        ap.error("--out is required")

    torch.manual_seed(0)
    if args.save_tiny_snapshot:
        unet, vq = UNet2DModel(**UNET_TINY), VQModel(**VQ_TINY)
        common.randomize_(unet, seed=3)
        common.randomize_(vq, seed=4)
        save_diffusers(unet.state_dict(), os.path.join(args.save_tiny_snapshot, "unet"))
        save_diffusers({renamed(k): v for k, v in vq.state_dict().items()}, os.path.join(args.save_tiny_snapshot, "vqvae"))
        # The published repository's scheduler: diffusers' DDIM, last step to alpha 1.
        os.makedirs(os.path.join(args.save_tiny_snapshot, "scheduler"))
        with open(os.path.join(args.save_tiny_snapshot, "scheduler", "scheduler_config.json"), "w") as f:
            json.dump({"_class_name": "DDIMScheduler", "beta_schedule": "scaled_linear", "beta_start": 0.0015,
                       "beta_end": 0.0155, "num_train_timesteps": 1000, "set_alpha_to_one": True,
                       "steps_offset": 1, "clip_sample": False}, f, indent=2)
        print(f"wrote {args.save_tiny_snapshot}: a tiny random-weight ldm-sr snapshot (unet/, vqvae/, scheduler/)")
        return
    if args.random_tiny:
        ucfg, vcfg = UNET_TINY, VQ_TINY
        unet, vq = UNet2DModel(**ucfg), VQModel(**vcfg)
        common.randomize_(unet, seed=3)
        common.randomize_(vq, seed=4)
        with tempfile.TemporaryDirectory() as snap:
            # The UNet is saved with the published key names, the VQ model
            # with those of diffusers >= 0.17.0, so that both load paths run.
            save_diffusers(unet.state_dict(), os.path.join(snap, "unet"))
            save_diffusers({renamed(k): v for k, v in vq.state_dict().items()}, os.path.join(snap, "vqvae"))
            unet, vq = load_snapshot(snap, ucfg, vcfg)
        provs = {k: common.tiny_provenance("models/export/ldm_sr.py") for k in ("unet", "vqvae")}
        ddim = None
        bundle_prov = common.tiny_provenance("models/export/ldm_sr.py")
        name = args.name or "ldm-sr-tiny"
    else:
        # Verify both parts before reading or writing anything else.
        provs = {}
        for part in ("unet", "vqvae"):
            path = os.path.join(args.snapshot, part, WEIGHTS)
            if not os.path.exists(path):
                raise SystemExit(f"{args.snapshot} has no {part}/{WEIGHTS}; give the folder of the diffusers "
                                 "repository CompVis/ldm-super-resolution-4x-openimages (with unet/ and vqvae/)")
            record = common.checkpoint_record(__file__, part, args.records)
            digest, verification = common.verify_checkpoint(path, record, args.allow_unverified)
            provs[part] = common.provenance(record, digest, record["licence"], {
                "data": "OpenImages, 4x super-resolution with bicubic/BSR degradations",
                "notes": "Rombach et al. 2022, 'High-Resolution Image Synthesis with Latent Diffusion Models'"},
                verification)
        # The published snapshot is UNET_CONFIG and VQ_CONFIG; a tiny one is a test's.
        conv_in = torch.load(os.path.join(args.snapshot, "unet", WEIGHTS), map_location="cpu")["conv_in.weight"]
        tiny = conv_in.shape[0] == UNET_TINY["block_out_channels"][0]
        ucfg, vcfg = (UNET_TINY, VQ_TINY) if tiny else (UNET_CONFIG, VQ_CONFIG)
        if not tiny:
            check_config(os.path.join(args.snapshot, "unet", "config.json"), {
                "in_channels": 6, "out_channels": 3, "block_out_channels": [160, 320, 320, 640],
                "down_block_types": ["DownBlock2D", "DownBlock2D", "DownBlock2D", "AttnDownBlock2D"],
                "up_block_types": ["AttnUpBlock2D", "UpBlock2D", "UpBlock2D", "UpBlock2D"],
                "layers_per_block": 2, "attention_head_dim": 32, "flip_sin_to_cos": True, "freq_shift": 0})
            check_config(os.path.join(args.snapshot, "vqvae", "config.json"), {
                "block_out_channels": [128, 256, 512], "latent_channels": 3, "num_vq_embeddings": 8192,
                "layers_per_block": 2})
        unet, vq = load_snapshot(args.snapshot, ucfg, vcfg)
        ddim = ddim_convention(args.snapshot)
        unverified = [p["verification"] for p in provs.values() if p["verification"].startswith("unverified")]
        bundle_prov = {
            "verification": unverified[0] if unverified else "verified: both parts' sha256 match their records",
            "source_url": "https://huggingface.co/CompVis/ldm-super-resolution-4x-openimages",
            "licence": provs["unet"]["licence"],
            "data": provs["unet"]["data"],
            "notes": "Rombach et al. 2022, 'High-Resolution Image Synthesis with Latent Diffusion Models'; "
                     "the parts' model.json files record each checkpoint and its sha256",
        }
        name = args.name or "ldm-sr4-openimages"

    c, f = vcfg["latent_channels"], vq.factor
    cond = ucfg["in_channels"] - c
    if cond != 3 or ucfg["out_channels"] != c:
        raise SystemExit(f"the UNet takes {ucfg['in_channels']} channels and returns {ucfg['out_channels']}; "
                         f"an SR UNet takes the {c} latent channels and the 3 of the low-resolution image")
    g = torch.Generator().manual_seed(1234)
    img = ["B", 3, "H", "W"]
    lat = ["B", c, "h", "w"]
    vq_prov = dict(provs["vqvae"], params=sum(p.numel() for p in vq.parameters()),
                   architecture={k: list(v) if isinstance(v, tuple) else v for k, v in vcfg.items()})

    write(args.out, "encoder", VQEncode(vq), (torch.randn(1, 3, 64, 32),),
          (torch.rand(2, 3, 32, 48, generator=g) * 2 - 1,), ["image", "z"],
          {"image": {0: "B", 2: "H", 3: "W"}, "z": {0: "B", 2: "h", 3: "w"}},
          dict(name=name + "-encoder", role="ldm-encoder",
               description=f"VQ-f{f} encoder: image in [-1, 1] to latents of 1/{f} the size, before quantisation",
               inputs=[common.spec("image", "float32", img)], outputs=[common.spec("z", "float32", lat)],
               size_multiple=f, provenance=dict(vq_prov, scale_factor=1.0)))

    write(args.out, "decoder", VQDecode(vq), (torch.randn(1, c, 16, 8),),
          (codebook_latents(vq, (2, c, 8, 12), g),), ["z", "image"],
          {"z": {0: "B", 2: "h", 3: "w"}, "image": {0: "B", 2: "H", 3: "W"}},
          dict(name=name + "-decoder", role="ldm-decoder",
               description=f"VQ-f{f} decoder: quantises z to the nearest of the {vcfg['num_vq_embeddings']} "
                           f"codebook entries, then decodes to an image {f} times the size, about [-1, 1]",
               inputs=[common.spec("z", "float32", lat)], outputs=[common.spec("image", "float32", img)],
               size_multiple=1, provenance=dict(vq_prov, scale_factor=1.0)))

    unet_prov = dict(provs["unet"], params=sum(p.numel() for p in unet.parameters()),
                     architecture={k: list(v) if isinstance(v, tuple) else v for k, v in ucfg.items()})
    # z_t is Gaussian; the conditioning is an image in [-1, 1].
    x = torch.cat([torch.randn(2, c, 16, 24, generator=g), torch.rand(2, cond, 16, 24, generator=g) * 2 - 1], 1)
    write(args.out, "unet", unet, (torch.randn(1, ucfg["in_channels"], 32, 16), torch.tensor([10])),
          (x, torch.tensor([999, 250])), ["x", "t", "eps"],
          {"x": {0: "B", 2: "h", 3: "w"}, "t": {0: "B"}, "eps": {0: "B", 2: "h", 3: "w"}},
          dict(name=name + "-unet", role="ldm-unet",
               description=f"latent UNet of LDM {f}x super-resolution: eps from concat(z_t, low-res image in [-1, 1])",
               inputs=[common.spec("x", "float32", ["B", ucfg["in_channels"], "h", "w"]),
                       common.spec("t", "int64", ["B"])],
               outputs=[common.spec("eps", "float32", ["B", ucfg["out_channels"], "h", "w"])],
               schedule=SCHEDULE, size_multiple=unet.size_multiple, cond_channels=cond, provenance=unet_prov,
               ddim=ddim))

    multiple = common.write_ldm_bundle_json(
        args.out, name=name, factor=f, unet_multiple=unet.size_multiple, encoder_multiple=f, decoder_multiple=1,
        description=f"latent diffusion {f}x super-resolution (CompVis ldm-super-resolution-4x-openimages): "
                    f"VQ-f{f} autoencoder, {c} latent channels, {vcfg['num_vq_embeddings']} codebook entries",
        provenance=dict(bundle_prov, scale_factor=1.0))
    print(f"wrote {args.out}: ldm-sr bundle, factor {f}, output sides a multiple of {multiple}")


if __name__ == "__main__":
    main()
