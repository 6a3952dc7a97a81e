"""Load an exported prior's weights from its ONNX file back into PyTorch.

torch.onnx names every initializer after its parameter except, when the
export folds constants, GroupNorm's scale and shift, which become anonymous
Mul and Add constants ("onnx::Mul_856"). Those are matched to the GroupNorm
modules in the order the graph uses them, which is the modules' forward
order.
"""
import json
import os
import re
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from unet import UNet  # noqa: E402


def onnx_state(path):
    """Returns (named, groupnorm) from the ONNX file: the initializers that
    carry a parameter's name, and the (scale, shift) pairs of the GroupNorm
    layers in graph order."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(path)
    inits = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in m.graph.initializer}
    for node in m.graph.node:
        if node.op_type == "Cast" and node.input[0] in inits:
            # Weights stored as float16 are cast back to float32 in the graph.
            inits[node.output[0]] = inits[node.input[0]].float()
    # Weights stored as float16 through a parametrization keep their
    # parameter's name with ".parametrizations.<p>.original0" in it.
    named = {re.sub(r"\.parametrizations\.(\w+)\.original0$", r".\1", k): v.float()
             for k, v in inits.items() if not k.startswith("onnx::")}
    pairs, pending = [], None
    for node in m.graph.node:
        if node.op_type == "InstanceNormalization":
            pending = []
        elif pending is not None and node.op_type in ("Mul", "Add"):
            anon = [i for i in node.input if i.startswith("onnx::") and i in inits]
            if anon:
                pending.append(inits[anon[0]].float().flatten())
                if len(pending) == 2:
                    pairs.append(tuple(pending))
                    pending = None
    return named, pairs


def load_onnx_weights(model, path):
    """Copies the ONNX file's weights into model, which must have the same
    architecture; fails on any parameter left unset or of the wrong shape."""
    named, pairs = onnx_state(path)
    # Exports without constant folding keep the GroupNorm parameters' names.
    norms = [name for name, mod in model.named_modules()
             if isinstance(mod, torch.nn.GroupNorm) and name + ".weight" not in named]
    if len(norms) != len(pairs):
        raise SystemExit(f"{path}: {len(pairs)} anonymous GroupNorm layers in the graph, {len(norms)} in the model")
    state = model.state_dict()
    for name, (scale, shift) in zip(norms, pairs):
        named[name + ".weight"], named[name + ".bias"] = scale, shift
    missing = [k for k in state if k not in named]
    wrong = [k for k in state if k in named and named[k].shape != state[k].shape]
    if missing or wrong:
        raise SystemExit(f"{path} does not fit the model: missing {missing[:5]}, wrong shapes {wrong[:5]}")
    model.load_state_dict({k: named[k] for k in state})
    return model


def unet_from_onnx(path):
    """The bundled prior at path (a model.onnx beside its model.json) as a
    PyTorch UNet, its architecture read from the manifest's provenance."""
    with open(os.path.join(os.path.dirname(path), "model.json")) as f:
        arch = json.load(f)["provenance"]["architecture"]
    model = build_unet(arch)
    return load_onnx_weights(model, path)


def build_unet(arch):
    """A UNet from an architecture record (train.py's config keys)."""
    attention = None
    if arch.get("mid_attention_heads"):
        sys.path.insert(0, os.path.join(HERE, "ldm"))
        from nets import AttnBlock
        heads, groups = arch["mid_attention_heads"], arch["groups"]
        attention = lambda ch: AttnBlock(ch, heads, groups)  # noqa: E731
    return UNet(arch["channels"], arch["num_res_blocks"], arch["groups"], 0.0,
                mid_attention=attention, extra_mid_blocks=arch.get("extra_mid_blocks", 0))
