"""Helpers shared by the export scripts.

Checkpoint records and hashes, strict state-dict loading, float16 weight
storage, ONNX export, model.json manifests (the schema of package models) and
PyTorch reference outputs for the Go tests.
"""
import hashlib
import json
import math
import os
import tempfile

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.utils.parametrize as parametrize

OPSET = 17  # the highest opset onnx 1.12 knows
# An ONNX file is a single protobuf message, and package models loads it as
# one (no external data), so it must stay below protobuf's 2 GiB limit.
PROTOBUF_LIMIT = 2**31 - 1

LINEAR_SCHEDULE = {"type": "linear", "beta_start": 0.0001, "beta_end": 0.02, "T": 1000}


def file_digest(path, algorithm):
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def add_verification_args(ap):
    """Adds the options of the verification policy (verify_checkpoint)."""
    ap.add_argument("--allow-unverified", action="store_true",
                    help="export a checkpoint whose hashes match no record (a re-saved copy, a conversion, a "
                         "fine-tune): its sha256 and 'unverified' go into the provenance")
    ap.add_argument("--records", help="a JSON file of checkpoint records to use instead of the one beside the "
                                      "script (for tests)")


def checkpoint_record(script, name, records=None):
    """The record of checkpoint `name` in the JSON file next to `script`, or
    in `records` when given."""
    path = records or os.path.splitext(script)[0] + ".json"
    with open(path) as f:
        table = json.load(f)["checkpoints"]
    if name not in table:
        raise SystemExit(f"{path} has no checkpoint {name!r}; known: {', '.join(sorted(table))}")
    return dict(table[name], json_path=path)


def tensor_sha256(state):
    """A hash of a state dict's tensors that a re-save, another container or
    a float32 round trip leaves unchanged: sha256 over the tensors in name
    order, each as its name, shape and values (floating-point ones as
    little-endian float32, others as their own little-endian bytes)."""
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name]
        if not torch.is_tensor(t):
            continue
        t = t.detach().cpu().contiguous()
        if t.is_floating_point():
            t = t.float()
        h.update(name.encode())
        h.update(json.dumps(list(t.shape)).encode())
        h.update(t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes())
    return h.hexdigest()


def verify_checkpoint(path, record, allow_unverified=False, tensors=None):
    """Checks a checkpoint file against its record before anything is written.

    The file is verified when its sha256 is the record's or one of its
    alternates (such as a published float16 revision), when its md5 is the
    published one, when the record has only the 8-hex-digit prefix its
    publisher puts in the file name and the sha256 starts with it, or when
    tensors (the loaded state dict; see tensor_sha256) hash to the record's
    tensor_sha256. Otherwise it is refused, unless allow_unverified. Returns
    the file's sha256 and the verification to record in the provenance."""
    digest = file_digest(path, "sha256")
    name = os.path.basename(record["file"])
    hashes = {record["sha256"]: "the record"} if record.get("sha256") else {}
    for alt in record.get("alternates", []):
        hashes[alt["sha256"]] = alt["note"]
    verification = None
    if digest in hashes:
        verification = f"verified: sha256 matches {hashes[digest]} ({record['json_path']})"
    elif record.get("md5") and file_digest(path, "md5") == record["md5"]:
        verification = "verified: md5 matches the published value"
    elif record.get("sha256_prefix") and digest.startswith(record["sha256_prefix"]):
        verification = (f"verified: sha256 starts with {record['sha256_prefix']}, the prefix in the published file "
                        "name (the whole hash is not published; torch.hub checks the same)")
    elif tensors is not None and record.get("tensor_sha256") and tensor_sha256(tensors) == record["tensor_sha256"]:
        verification = "verified: the tensors hash to the record's tensor_sha256"
    if verification:
        print(f"{path}: {verification}")
        return digest, verification
    known = [f"sha256 {h}" for h in hashes]
    if record.get("md5"):
        known.append(f"md5 {record['md5']}")
    if record.get("sha256_prefix"):
        known.append(f"sha256 prefix {record['sha256_prefix']}")
    what = "; recorded: " + ", ".join(known) if known else "; no hash of it is published"
    if not allow_unverified:
        raise SystemExit(
            f"{path}: sha256 {digest} matches no record of {name}{what}. It may be a re-saved copy, a conversion, "
            f"a fine-tune, or a corrupt or truncated download. If you trust the file, run again with "
            f"--allow-unverified: the model then records its sha256 and 'unverified' in its provenance. "
            f"Nothing was written.")
    verification = f"unverified: sha256 {digest} matches no record{what}"
    print(f"{path}: {verification} (--allow-unverified)")
    return digest, verification


def load_state_dict(module, path):
    """Loads a plain state dict file into module with strict=True."""
    state = torch.load(path, map_location="cpu")
    module.load_state_dict(state, strict=True)
    return module


def randomize_(model, seed):
    """Gives every parameter random values, zero-initialised ones included, so
    that a random-weight test exercises every layer: weights N(0, 1/fan_in),
    biases N(0, 0.1^2), normalisation scales 1 + N(0, 0.1^2)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() > 1:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
            elif name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def save_tiny_checkpoint(model, seed, path, what):
    """Randomises model (randomize_) and saves its state dict to path, as a
    published checkpoint is saved: a test's stand-in for the real file."""
    randomize_(model, seed)
    torch.save(model.state_dict(), path)
    print(f"wrote {path}: a tiny random-weight {what} checkpoint")


def roundtrip_state_dict(model, make_model):
    """Saves model's weights, then loads them into a fresh make_model() the
    way a published checkpoint is loaded (file, torch.load, strict=True)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "random_tiny.pt")
        torch.save(model.state_dict(), path)
        return load_state_dict(make_model(), path).eval()


class _Float16Storage(nn.Module):
    def forward(self, w):
        return w.float()

    def right_inverse(self, w):
        # A sequence: torch 1.13 refuses a dtype change for a single tensor.
        return (w.half(),)


def store_float16(modules):
    """Keeps the weights and biases of modules as float16 tensors, cast to
    float32 where they are used: the ONNX file stores float16 initialisers
    feeding Cast nodes, half the size, and still runs on ONNX Runtime's CPU
    kernels, which compute in float32. Export such a model with
    fold_constants=False, or the Casts are folded back into float32."""
    for m in modules:
        for pname in ("weight", "bias"):
            if getattr(m, pname, None) is not None:
                parametrize.register_parametrization(m, pname, _Float16Storage())


def param_bytes(model):
    return sum(p.numel() * p.element_size() for p in model.parameters())


def export_onnx(model, args, path, input_names, output_names, dynamic_axes, fold_constants=True):
    """Exports model to a self-contained ONNX file at path and checks it."""
    if param_bytes(model) > PROTOBUF_LIMIT:
        raise SystemExit(f"the weights take {param_bytes(model) / 2**30:.2f} GiB, over the 2 GiB an ONNX file can hold "
                         "without external data, which package models does not load; use --fp16")
    with torch.no_grad():
        torch.onnx.export(model, args, path, opset_version=OPSET, input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic_axes,
                          do_constant_folding=fold_constants)
    onnx.checker.check_model(path)
    return os.path.getsize(path)


def spec(name, dtype, shape):
    return {"name": name, "dtype": dtype, "shape": shape}


def write_model_json(out_dir, *, name, role, description, inputs, outputs, size_multiple, provenance,
                     value_range=(-1, 1), schedule=None, learned_variance=False, cond_channels=0,
                     onnx_file="model.onnx", ddim=None):
    """Writes out_dir/model.json in the schema of package models. cond_channels
    is, for an ldm-unet, the number of conditioning channels its image input
    has after the latent's."""
    manifest = {
        "name": name,
        "role": role,
        "description": description,
        "files": [{"path": onnx_file, "sha256": file_digest(os.path.join(out_dir, onnx_file), "sha256")}],
        "inputs": inputs,
        "outputs": outputs,
        "size_multiple": size_multiple,
        "value_range": list(value_range),
        "provenance": provenance,
    }
    if schedule is not None:
        manifest["schedule"] = schedule
    if learned_variance:
        manifest["learned_variance"] = True
    if cond_channels:
        manifest["cond_channels"] = cond_channels
    if ddim:
        manifest["ddim"] = ddim
    _dump_json(os.path.join(out_dir, "model.json"), manifest)


# The part folders of an ldm-sr bundle, relative to the bundle's folder.
LDM_PARTS = {"unet": "unet", "encoder": "encoder", "decoder": "decoder"}


def write_ldm_bundle_json(out_dir, *, name, description, factor, unet_multiple, encoder_multiple, decoder_multiple,
                          provenance):
    """Writes out_dir/model.json of an ldm-sr bundle (package models'
    OpenLDM): no files of its own, its parts in LDM_PARTS, each a model
    folder with its own model.json, and the super-resolution factor (the
    autoencoder's downsampling). size_multiple, which the output image's
    sides must have, is the least one that suits all three parts: the UNet
    and the decoder work at 1/factor of the output's size."""
    size_multiple = math.lcm(factor * unet_multiple, encoder_multiple, factor * decoder_multiple)
    manifest = {
        "name": name,
        "role": "ldm-sr",
        "description": description,
        "parts": dict(LDM_PARTS),
        "factor": factor,
        "size_multiple": size_multiple,
        "value_range": [-1, 1],
        "provenance": provenance,
    }
    _dump_json(os.path.join(out_dir, "model.json"), manifest)
    return size_multiple


def _dump_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def save_reference(out_dir, **arrays):
    """Writes out_dir/reference.npz: inputs and PyTorch's outputs, as float32
    (the Go reader takes float32 and float64; time steps are stored as floats)."""
    np.savez(os.path.join(out_dir, "reference.npz"),
             **{k: v.detach().float().numpy().astype(np.float32) for k, v in arrays.items()})


def provenance(record, checkpoint_sha256, licence, extra=None, verification=None, tensors=None):
    p = {
        "source_url": record["url"],
        "checkpoint": record["file"],
        "checkpoint_sha256": checkpoint_sha256,
        "licence": licence,
    }
    if verification:
        p["verification"] = verification
    if tensors is not None:
        p["tensor_sha256"] = tensor_sha256(tensors)
    p.update(extra or {})
    return p


def tiny_provenance(script):
    return {
        "data": "none: random weights",
        "notes": f"a tiny random-weight instance of the architecture, written by {script} --random-tiny "
                 "to test the export path; its outputs mean nothing",
        "licence": "same as restorelab",
    }
