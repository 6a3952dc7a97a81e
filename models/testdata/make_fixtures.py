#!/usr/bin/python3
"""Writes the tiny ONNX models that package models' tests run.

Each model computes a closed form of its inputs, so the tests can check the
Go side exactly without a trained network:

    eps[b, c, h, w] = A * x[b, c, h, w] + K[c] * t[b] / 1000

with A = 0.5 and K = (1, -2, 3); K differs per channel so that a channel
mix-up shows. The variants:

    closed_f32   x float32, t int64, eps float32 (exported with torch, as a
                 trained prior would be)
    closed_f16   x float16, t float32, output float16, with the input and
                 output names sample, timestep and out
    learned_var  6 output channels: the closed form, then 3 garbage channels
    nan          the closed form plus sqrt(t - 500) * 0: NaN where t < 500
    wrong_shape  output of shape [B, 3, H/2, W/2]

and, to check other roles, decoder: an ldm-decoder from z [B, 4, h, w] to
its first 3 channels upsampled to [B, 3, 2h, 2w].

ldm is an ldm-sr bundle, a tiny SRLDM in closed form, with three parts:

    ldm/encoder  4x4 average pooling, [B, 3, H, W] -> [B, 3, H/4, W/4]
    ldm/decoder  every latent vector snapped to the nearest entry of a
                 codebook (the 8 x 8 x 8 grid of levels -1 + 2k/7), then
                 nearest upsampling x4
    ldm/unet     x = concat(z_t, low) [B, 6, h, w], t int64 -> the exact
                 posterior-mean eps for the latent prior z0 ~ N(low, TAU^2):
                 eps = sqrt(1 - ab) / (ab TAU^2 + 1 - ab) (z_t - sqrt(ab) low),
                 ab = alpha_bar_t of the scaled_linear schedule
                 (0.0015..0.0155, T = 1000), looked up from t in the graph

All axes but the channels are dynamic and the opset is 17. Each model gets a
folder with model.onnx and a model.json manifest. Run with Debian's python3
(torch and onnx), from anywhere:

    /usr/bin/python3 models/testdata/make_fixtures.py
"""

import hashlib
import io
import json
import os

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

A = 0.5
K = (1.0, -2.0, 3.0)
OPSET = 17
ELEM = {np.float32: TensorProto.FLOAT, np.float16: TensorProto.FLOAT16}
HERE = os.path.dirname(os.path.abspath(__file__))


class ClosedForm(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("k", torch.tensor(K).view(1, 3, 1, 1))

    def forward(self, x, t):
        return A * x + self.k * (t.float() / 1000).view(-1, 1, 1, 1)


def torch_closed_f32():
    buf = io.BytesIO()
    torch.onnx.export(
        ClosedForm(),
        (torch.zeros(2, 3, 8, 8), torch.zeros(2, dtype=torch.int64)),
        buf,
        input_names=["x", "t"],
        output_names=["eps"],
        dynamic_axes={"x": {0: "B", 2: "H", 3: "W"}, "t": {0: "B"}, "eps": {0: "B", 2: "H", 3: "W"}},
        opset_version=OPSET,
    )
    return onnx.load_from_string(buf.getvalue())


def const(name, value, dtype):
    arr = np.asarray(value, dtype=dtype)
    return helper.make_node(
        "Constant", [], [name], value=numpy_helper.from_array(arr, name + "_value")
    )


def closed_form_nodes(x, t, out, fdt, t_is_int):
    """Nodes computing out = A*x + K*t/1000 in float type fdt (numpy)."""
    tf = "t_float"
    return [
        helper.make_node("Cast", [t], [tf], to=ELEM[fdt])
        if t_is_int or fdt != np.float32
        else helper.make_node("Identity", [t], [tf]),
        const("thousand", 1000.0, fdt),
        helper.make_node("Div", [tf, "thousand"], ["t_scaled"]),
        const("shape_b111", [-1, 1, 1, 1], np.int64),
        helper.make_node("Reshape", ["t_scaled", "shape_b111"], ["t_b111"]),
        const("k", np.array(K).reshape(1, 3, 1, 1), fdt),
        helper.make_node("Mul", ["k", "t_b111"], ["kt"]),
        const("a", A, fdt),
        helper.make_node("Mul", [x, "a"], ["ax"]),
        helper.make_node("Add", ["ax", "kt"], [out]),
    ]


def make_model(nodes, inputs, outputs, name):
    graph = helper.make_graph(nodes, name, inputs, outputs)
    model = helper.make_model(
        graph, producer_name="restorelab make_fixtures.py", opset_imports=[helper.make_opsetid("", OPSET)]
    )
    # IR version 8 is what onnx 1.12 writes for opset 17 and what every
    # ONNX Runtime since 1.13 reads.
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def x_info(name, elem):
    return helper.make_tensor_value_info(name, elem, ["B", 3, "H", "W"])


def t_info(name, elem):
    return helper.make_tensor_value_info(name, elem, ["B"])


def closed_f16():
    nodes = closed_form_nodes("sample", "timestep", "out", np.float16, t_is_int=False)
    return make_model(
        nodes,
        [x_info("sample", TensorProto.FLOAT16), t_info("timestep", TensorProto.FLOAT)],
        [x_info("out", TensorProto.FLOAT16)],
        "closed_f16",
    )


def learned_var():
    nodes = closed_form_nodes("x", "t", "eps3", np.float32, t_is_int=True)
    # Garbage variance channels, far from the closed form: 1000*x - 5.
    nodes += [
        const("g_scale", 1000.0, np.float32),
        const("g_shift", 5.0, np.float32),
        helper.make_node("Mul", ["x", "g_scale"], ["g1"]),
        helper.make_node("Sub", ["g1", "g_shift"], ["garbage"]),
        helper.make_node("Concat", ["eps3", "garbage"], ["eps"], axis=1),
    ]
    return make_model(
        nodes,
        [x_info("x", TensorProto.FLOAT), t_info("t", TensorProto.INT64)],
        [helper.make_tensor_value_info("eps", TensorProto.FLOAT, ["B", 6, "H", "W"])],
        "learned_var",
    )


def nan():
    nodes = closed_form_nodes("x", "t", "eps0", np.float32, t_is_int=True)
    # sqrt of a negative number is NaN and NaN * 0 stays NaN, while
    # sqrt(t - 500) * 0 is 0 for t >= 500.
    nodes += [
        const("five_hundred", 500.0, np.float32),
        const("zero", 0.0, np.float32),
        helper.make_node("Reshape", ["t_float", "shape_b111"], ["t_raw"]),
        helper.make_node("Sub", ["t_raw", "five_hundred"], ["tm"]),
        helper.make_node("Sqrt", ["tm"], ["root"]),
        helper.make_node("Mul", ["root", "zero"], ["poison"]),
        helper.make_node("Add", ["eps0", "poison"], ["eps"]),
    ]
    return make_model(
        nodes,
        [x_info("x", TensorProto.FLOAT), t_info("t", TensorProto.INT64)],
        [x_info("eps", TensorProto.FLOAT)],
        "nan",
    )


def wrong_shape():
    nodes = closed_form_nodes("x", "t", "eps_full", np.float32, t_is_int=True)
    nodes += [helper.make_node("AveragePool", ["eps_full"], ["eps"], kernel_shape=[2, 2], strides=[2, 2])]
    return make_model(
        nodes,
        [x_info("x", TensorProto.FLOAT), t_info("t", TensorProto.INT64)],
        [helper.make_tensor_value_info("eps", TensorProto.FLOAT, ["B", 3, "H2", "W2"])],
        "wrong_shape",
    )


def decoder():
    nodes = [
        const("starts", [0], np.int64),
        const("ends", [3], np.int64),
        const("axes", [1], np.int64),
        helper.make_node("Slice", ["z", "starts", "ends", "axes"], ["z3"]),
        const("scales", [1.0, 1.0, 2.0, 2.0], np.float32),
        helper.make_node("Resize", ["z3", "", "scales"], ["image"], mode="nearest"),
    ]
    return make_model(
        nodes,
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["B", 4, "h", "w"])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["B", 3, "H", "W"])],
        "decoder",
    )


TAU = 0.1
LEVELS = 8
LDM_FACTOR = 4


def ldm_alpha_bar():
    betas = np.linspace(np.sqrt(0.0015), np.sqrt(0.0155), 1000, dtype=np.float64) ** 2
    return np.cumprod(1 - betas)


def ldm_unet():
    nodes = [
        const("lo", [0], np.int64),
        const("mid", [3], np.int64),
        const("hi", [6], np.int64),
        const("axis1", [1], np.int64),
        helper.make_node("Slice", ["x", "lo", "mid", "axis1"], ["z"]),
        helper.make_node("Slice", ["x", "mid", "hi", "axis1"], ["low"]),
        const("ab_table", ldm_alpha_bar(), np.float32),
        helper.make_node("Gather", ["ab_table", "t"], ["ab_b"], axis=0),
        const("shape_b111", [-1, 1, 1, 1], np.int64),
        helper.make_node("Reshape", ["ab_b", "shape_b111"], ["ab"]),
        const("one", 1.0, np.float32),
        const("tau2", TAU * TAU, np.float32),
        helper.make_node("Sqrt", ["ab"], ["sab"]),
        helper.make_node("Sub", ["one", "ab"], ["nab"]),
        helper.make_node("Mul", ["ab", "tau2"], ["ab_tau2"]),
        helper.make_node("Add", ["ab_tau2", "nab"], ["denom"]),
        helper.make_node("Sqrt", ["nab"], ["snab"]),
        helper.make_node("Div", ["snab", "denom"], ["gain"]),
        helper.make_node("Mul", ["sab", "low"], ["sab_low"]),
        helper.make_node("Sub", ["z", "sab_low"], ["resid"]),
        helper.make_node("Mul", ["gain", "resid"], ["eps"]),
    ]
    return make_model(
        nodes,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", 6, "h", "w"]), t_info("t", TensorProto.INT64)],
        [helper.make_tensor_value_info("eps", TensorProto.FLOAT, ["B", 3, "h", "w"])],
        "ldm_unet",
    )


def ldm_encoder():
    f = LDM_FACTOR
    nodes = [helper.make_node("AveragePool", ["image"], ["latent"], kernel_shape=[f, f], strides=[f, f])]
    return make_model(
        nodes,
        [x_info("image", TensorProto.FLOAT)],
        [helper.make_tensor_value_info("latent", TensorProto.FLOAT, ["B", 3, "h", "w"])],
        "ldm_encoder",
    )


def ldm_decoder():
    levels = -1 + 2 * np.arange(LEVELS) / (LEVELS - 1)
    codebook = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    f = float(LDM_FACTOR)
    nodes = [
        # Nearest codebook vector of every latent vector, by
        # |z - c|^2 = |z|^2 - 2 z.c + |c|^2.
        helper.make_node("Transpose", ["latent"], ["z_hwc"], perm=[0, 2, 3, 1]),
        helper.make_node("Shape", ["z_hwc"], ["hwc_shape"]),
        const("rows3", [-1, 3], np.int64),
        helper.make_node("Reshape", ["z_hwc", "rows3"], ["zs"]),
        const("codebook_t", codebook.T, np.float32),
        helper.make_node("MatMul", ["zs", "codebook_t"], ["zc"]),
        helper.make_node("ReduceSumSquare", ["zs"], ["z2"], axes=[1], keepdims=1),
        const("c2", (codebook**2).sum(1).reshape(1, -1), np.float32),
        const("two", 2.0, np.float32),
        helper.make_node("Mul", ["zc", "two"], ["zc2"]),
        helper.make_node("Sub", ["z2", "zc2"], ["d0"]),
        helper.make_node("Add", ["d0", "c2"], ["dist"]),
        helper.make_node("ArgMin", ["dist"], ["index"], axis=1, keepdims=0),
        const("codebook", codebook, np.float32),
        helper.make_node("Gather", ["codebook", "index"], ["q"], axis=0),
        helper.make_node("Reshape", ["q", "hwc_shape"], ["q_hwc"]),
        helper.make_node("Transpose", ["q_hwc"], ["q_chw"], perm=[0, 3, 1, 2]),
        const("scales", [1.0, 1.0, f, f], np.float32),
        helper.make_node("Resize", ["q_chw", "", "scales"], ["image"], mode="nearest"),
    ]
    return make_model(
        nodes,
        [helper.make_tensor_value_info("latent", TensorProto.FLOAT, ["B", 3, "h", "w"])],
        [x_info("image", TensorProto.FLOAT)],
        "ldm_decoder",
    )


def ldm_bundle():
    """Writes ldm/: the three parts and the bundle's model.json."""
    x4, z4 = ["B", 3, "H", "W"], ["B", 3, "h", "w"]
    write(
        "ldm/unet",
        ldm_unet(),
        [io_spec("x", "float32", ["B", 6, "h", "w"]), io_spec("t", "int64", ["B"])],
        [io_spec("eps", "float32", z4)],
        description=f"posterior-mean eps for z0 ~ N(low, {TAU}^2), scaled_linear schedule",
        role="ldm-unet",
        size_multiple=2,
        schedule={"type": "scaled_linear", "beta_start": 0.0015, "beta_end": 0.0155, "T": 1000},
        extra={"cond_channels": 3},
    )
    write(
        "ldm/encoder",
        ldm_encoder(),
        [io_spec("image", "float32", x4)],
        [io_spec("latent", "float32", z4)],
        description="4x4 average pooling",
        role="ldm-encoder",
        size_multiple=LDM_FACTOR,
    )
    write(
        "ldm/decoder",
        ldm_decoder(),
        [io_spec("latent", "float32", z4)],
        [io_spec("image", "float32", x4)],
        description=f"nearest of {LEVELS}^3 codebook vectors, then nearest upsampling x{LDM_FACTOR}",
        role="ldm-decoder",
        size_multiple=1,
    )
    bundle = {
        "name": "fixture-ldm",
        "role": "ldm-sr",
        "description": "closed-form SRLDM: pooling encoder, quantising decoder, Gaussian latent prior",
        "parts": {"unet": "unet", "encoder": "encoder", "decoder": "decoder"},
        "factor": LDM_FACTOR,
        "size_multiple": 8,
        "value_range": [-1, 1],
        "provenance": PROVENANCE,
    }
    with open(os.path.join(HERE, "ldm", "model.json"), "w") as f:
        json.dump(bundle, f, indent=2)
        f.write("\n")
    print("ldm/model.json")


PROVENANCE = {
    "data": "none: a closed-form test fixture",
    "steps": 0,
    "licence": "same as restorelab",
    "source_url": "models/testdata/make_fixtures.py",
}


def io_spec(name, dtype, shape):
    return {"name": name, "dtype": dtype, "shape": shape}


def write(
    folder,
    model,
    inputs,
    outputs,
    learned_variance=False,
    description="",
    role="ddrm-prior",
    size_multiple=8,
    schedule=None,
    extra=None,
):
    d = os.path.join(HERE, folder)
    os.makedirs(d, exist_ok=True)
    data = model.SerializeToString()
    with open(os.path.join(d, "model.onnx"), "wb") as f:
        f.write(data)
    manifest = {
        "name": "fixture-" + folder.replace("_", "-").replace("/", "-"),
        "role": role,
        "description": description,
        "files": [{"path": "model.onnx", "sha256": hashlib.sha256(data).hexdigest()}],
        "inputs": inputs,
        "outputs": outputs,
        "size_multiple": size_multiple,
        "value_range": [-1, 1],
        "learned_variance": learned_variance,
        "provenance": PROVENANCE,
    }
    if role == "ddrm-prior":
        manifest["schedule"] = {"type": "linear", "beta_start": 0.0001, "beta_end": 0.02, "T": 1000}
    if schedule is not None:
        manifest["schedule"] = schedule
    manifest.update(extra or {})
    with open(os.path.join(d, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"{folder}/model.onnx  {len(data)} bytes")


def main():
    x4 = ["B", 3, "H", "W"]
    f32_in = [io_spec("x", "float32", x4), io_spec("t", "int64", ["B"])]
    write(
        "closed_f32",
        torch_closed_f32(),
        f32_in,
        [io_spec("eps", "float32", x4)],
        description="closed form, float32 x and int64 t",
    )
    write(
        "closed_f16",
        closed_f16(),
        [io_spec("sample", "float16", x4), io_spec("timestep", "float32", ["B"])],
        [io_spec("out", "float16", x4)],
        description="closed form, float16 x and output, float32 t",
    )
    write(
        "learned_var",
        learned_var(),
        f32_in,
        [io_spec("eps", "float32", ["B", 6, "H", "W"])],
        learned_variance=True,
        description="closed form in the first 3 of 6 output channels",
    )
    write("nan", nan(), f32_in, [io_spec("eps", "float32", x4)], description="NaN output where t < 500")
    write(
        "wrong_shape",
        wrong_shape(),
        f32_in,
        [io_spec("eps", "float32", x4)],
        description="output half the input's size, though the manifest says otherwise",
    )
    write(
        "decoder",
        decoder(),
        [io_spec("z", "float32", ["B", 4, "h", "w"])],
        [io_spec("image", "float32", ["B", 3, "H", "W"])],
        description="first 3 latent channels upsampled twice",
        role="ldm-decoder",
    )
    ldm_bundle()


if __name__ == "__main__":
    main()
