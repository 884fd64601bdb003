"""Shared helpers for batchbench's PyTorch-side tools.

Needs Debian's /usr/bin/python3 with python3-torch and python3-torchvision
(torch 1.13, torchvision 0.14).  Nothing else (no `safetensors` package).

    build_model(name, head)       torchvision model, weights=None, eval mode
    randomise_(model, seed)       every parameter and buffer -> seeded values
    write_safetensors(path, sd)   F32 / I64 safetensors writer
"""

import json
import struct
import sys
import zlib

import numpy as np

import torch
import torch.nn as nn
import torchvision.models as tvm

MODELS = [
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "mobilenet_v2", "efficientnet_v2_s", "efficientnet_v2_l",
    "vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32",
]
HEADS = ["features", "classifier"]

# attribute holding the classification head, per family
_HEAD_ATTR = {"resnet": "fc", "mobilenet": "classifier",
              "efficientnet": "classifier", "vit": "heads"}


def head_attr(name):
    for prefix, attr in _HEAD_ATTR.items():
        if name.startswith(prefix):
            return attr
    raise ValueError(f"unknown model family: {name}")


def build_model(name, head="classifier"):
    """torchvision.models.<name>(weights=None) in eval mode.

    head == "features": the classification head (ResNet `fc`, MobileNetV2 /
    EfficientNetV2 `classifier`, ViT `heads`) is replaced by nn.Identity, so
    the output is the pooled feature vector [N, D].  head == "classifier":
    the model as is, output [N, 1000].
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {MODELS}")
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; expected one of {HEADS}")
    model = getattr(tvm, name)(weights=None)
    if head == "features":
        setattr(model, head_attr(name), nn.Identity())
    return model.eval()


# ---------------------------------------------------------------------------
# Randomisation
#
# Every tensor gets its own generator, seeded from (seed, state_dict name), so
# a tensor's values do not depend on which other tensors exist: the
# "features" and "classifier" variants of a model share bit-identical
# backbones, and adding/removing a head never shifts anything else.
#
# Scheme (all uniform unless noted):
#   conv / linear weight     U(-a, a), var = gain / fan_in,  fan_in = in/groups*kh*kw
#                            (*kd for a 3-D conv)
#                            gain 2.0, except 0.5 for the last linear of a ViT
#                            residual branch (out_proj, mlp.3) and the last conv of
#                            a ResNet block (irrelevant there: BN re-centres)
#   any bias                 U(-0.1, 0.1)   (conv_proj, linears, SE fc1/fc2, in_proj)
#   BatchNorm weight         U(0.5, 1.5)     bias U(-0.2, 0.2)   (1-D, 2-D and 3-D)
#             running_mean   mu  + U(-0.2, 0.2) * sigma   } mu, var: the BN input's
#             running_var    var * U(0.5, 2.0)            } actual per-channel stats
#                            on a seeded calibration batch (_calibrate_batchnorm_)
#             num_batches_tracked  random int in [0, 1000)  (unused in eval)
#   other integer buffers (Swin's, EfficientFormer's attention indices) are
#   structure, not weights: kept as built
#   LayerNorm weight         U(0.5, 1.5)     bias U(-0.2, 0.2)
#   ViT class_token, encoder.pos_embedding   N(0, 0.2^2)
#
# make_parity_case.py --check verifies that every module output of all 12
# networks is finite with RMS in [1e-2, 1e2] and that the outputs still
# depend on the input.
# ---------------------------------------------------------------------------

DEFAULT_GAIN = 2.0
RESIDUAL_GAIN = 0.5    # last layer of a residual branch
RESNET_BRANCH_GAMMA = 0.25  # scales the gamma of a ResNet branch's last BN
BIAS_RANGE = 0.1
POS_STD = 0.2


def _tensor_generator(seed, name):
    g = torch.Generator()
    g.manual_seed((int(seed) * 1000003 + zlib.crc32(name.encode())) & ((1 << 63) - 1))
    return g


def _uniform(shape, lo, hi, g):
    return torch.rand(shape, generator=g, dtype=torch.float32) * (hi - lo) + lo


def _fan_in(shape):
    fan = shape[1]
    for s in shape[2:]:
        fan *= s
    return fan


def _is_residual_branch_end(pname, keys):
    """True for the weight of the last conv / linear of a residual branch,
    decided structurally from the state_dict names."""
    if pname.startswith("layer") and "layer1.0.conv1.weight" in keys:
        # ResNet: last conv of Bottleneck (conv3) / BasicBlock (conv2)
        last = "conv3" if "layer1.0.conv3.weight" in keys else "conv2"
        return pname.endswith("." + last + ".weight")
    # ViT encoder block: attention output projection and second MLP linear
    return pname.endswith("self_attention.out_proj.weight") or pname.endswith(".mlp.3.weight")


def _is_resnet_branch_end_bn(pname, keys):
    """True for the BatchNorm after a ResNet block's last conv (bn2 / bn3)."""
    if not pname.startswith("layer") or ".bn" not in pname:
        return False
    return _is_residual_branch_end(pname.replace(".bn", ".conv"), keys)


def weight_gain(pname, keys):
    """Variance gain for the conv/linear weight `pname` (var = gain/fan_in)."""
    if _is_residual_branch_end(pname, keys):
        return RESIDUAL_GAIN
    return DEFAULT_GAIN


def randomise_(model, seed, gains=None, rule=None, size=224):
    """Set EVERY parameter and buffer of `model` to seeded random values (in
    place) and return the model.  `gains(param_name, all_keys) -> float` may
    override the weight-gain rule (used for experiments); `rule(name, t, g)`
    may give values for tensors the scheme has no rule for (None: none);
    `size` is the calibration batch's per-item dims (calibration_dims): an
    int S for (3, S, S), or a tuple such as a video model's (3, 16, S, S)."""
    gain_fn = gains or weight_gain
    sd = model.state_dict(keep_vars=True)
    keys = set(sd)

    # module that owns each tensor
    owner = {}
    for mname, mod in model.named_modules():
        for tname, _ in list(mod.named_parameters(recurse=False)) + list(mod.named_buffers(recurse=False)):
            owner[(mname + "." + tname) if mname else tname] = mod

    with torch.no_grad():
        for name, t in sd.items():
            g = _tensor_generator(seed, name)
            mod = owner.get(name)
            leaf = name.rsplit(".", 1)[-1]
            if t.dtype == torch.int64 and leaf == "num_batches_tracked":
                t.copy_(torch.randint(0, 1000, t.shape, generator=g, dtype=torch.int64))
                continue
            if not t.is_floating_point() and leaf != "num_batches_tracked":
                continue  # indices (Swin, EfficientFormer): structure, not weights
            if not t.is_floating_point():
                raise TypeError(f"unexpected dtype {t.dtype} for {name}")
            if isinstance(mod, (*_BN_TYPES, nn.LayerNorm, nn.GroupNorm)):
                if leaf == "weight" and _is_resnet_branch_end_bn(name, keys):
                    # smaller residual branches keep 50-block ResNets out of
                    # the chaotic regime: float32 rounding is not amplified
                    # (ResNet-152: f32 vs f64 error 6e-5 -> 3e-6), while the
                    # features still differ by ~20% between two inputs
                    v = _uniform(t.shape, 0.5, 1.5, g) * RESNET_BRANCH_GAMMA
                elif leaf == "weight":
                    v = _uniform(t.shape, 0.5, 1.5, g)
                elif leaf == "bias":
                    v = _uniform(t.shape, -0.2, 0.2, g)
                elif leaf == "running_mean":
                    v = _uniform(t.shape, -0.2, 0.2, g)
                elif leaf == "running_var":
                    v = _uniform(t.shape, 0.5, 2.0, g)
                else:
                    raise KeyError(f"unhandled norm tensor {name}")
            elif leaf in ("class_token", "pos_embedding"):
                v = torch.randn(t.shape, generator=g, dtype=torch.float32) * POS_STD
            elif t.dim() >= 2:
                a = (3.0 * gain_fn(name, keys) / _fan_in(t.shape)) ** 0.5
                v = _uniform(t.shape, -a, a, g)
            elif t.dim() == 1 and (leaf == "bias" or leaf.endswith("_bias")):
                v = _uniform(t.shape, -BIAS_RANGE, BIAS_RANGE, g)
            elif rule is None or (v := rule(name, t, g)) is None:
                raise KeyError(f"no randomisation rule for {name} {tuple(t.shape)}")
            t.copy_(v)
        _calibrate_batchnorm_(model, seed, size)
    return model


CALIB_SEED_OFFSET = 104729
_BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def calibration_dims(size):
    """Per-item dims of a calibration batch: an int S is an image's (3, S,
    S), as every caller passed before video models (so the zoo's batch, and
    with it every calibrated statistic, is bit-identical to what it was); a
    tuple is taken as it is (tools/bb_onnx.py's input_dims)."""
    return (3, int(size), int(size)) if np.ndim(size) == 0 else tuple(int(d) for d in size)


def _calibrate_batchnorm_(model, seed, size=224):
    """Re-centre every BatchNorm's running statistics on the actual
    statistics of its input (measured on a seeded calibration batch, not the
    test input), then perturb them randomly:

        running_mean = mu  + U(-0.2, 0.2) * sigma
        running_var  = var * U(0.5, 2.0)

    Without this, random running stats do not centre anything: post-ReLU
    means accumulate into large input-independent per-channel offsets
    (ResNet-152 features varied by 0.3% between two inputs) and the
    EfficientNets' activations grow exponentially (1e11 in v2_l).  With it,
    every BN output is O(1) and input dependent, like in a trained network,
    and the folded scale/shift are still far from identity.  `size`: as
    randomise_'s (calibration_dims).
    """
    bns = [m for m in model.modules() if isinstance(m, _BN_TYPES)]
    if not bns:
        return
    saved = [(m, m.training, getattr(m, "momentum", None)) for m in model.modules()]
    model.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None          # cumulative average: one batch -> its stats
        m.train()                  # only the BNs: dropout/stochastic depth stay off
    g = torch.Generator()
    g.manual_seed(int(seed) + CALIB_SEED_OFFSET)
    x = torch.randn((2, *calibration_dims(size)), generator=g, dtype=torch.float32)
    try:
        model(x)
    finally:
        for m, training, momentum in saved:
            m.train(training)
            if isinstance(m, _BN_TYPES):
                m.momentum = momentum
    for name, m in model.named_modules():
        if not isinstance(m, _BN_TYPES):
            continue
        var = m.running_var.clamp_min(1e-4)
        sd = var.sqrt()
        g = _tensor_generator(seed, name + ".running_mean")
        m.running_mean.add_(_uniform(sd.shape, -0.2, 0.2, g) * sd)
        g = _tensor_generator(seed, name + ".running_var")
        m.running_var.copy_(var * _uniform(sd.shape, 0.5, 2.0, g))
        g = _tensor_generator(seed, name + ".num_batches_tracked")
        m.num_batches_tracked.copy_(torch.randint(0, 1000, (), generator=g, dtype=torch.int64))


# ---------------------------------------------------------------------------
# safetensors writer (no dependency on the `safetensors` package)
# ---------------------------------------------------------------------------

_DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def write_safetensors(path, state_dict, metadata=None):
    """Write `state_dict` as safetensors: float tensors as F32 (other float
    dtypes are converted), int64 tensors (e.g. BatchNorm num_batches_tracked)
    as I64, under their exact state_dict names, in state_dict order.
    Returns the number of bytes written."""
    assert sys.byteorder == "little", "safetensors data is little-endian"
    tensors = []
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    for name, t in state_dict.items():
        t = t.detach().cpu()
        if t.is_floating_point():
            t = t.to(torch.float32)
        if t.dtype not in _DTYPES:
            raise TypeError(f"{name}: unsupported dtype {t.dtype}")
        t = t.contiguous()
        nbytes = t.numel() * t.element_size()
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + nbytes]}
        tensors.append(t)
        offset += nbytes
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    pad = (-(8 + len(hjson))) % 8
    hjson += b" " * pad
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for t in tensors:
            f.write(t.numpy().reshape(-1).view(np.uint8))
    return 8 + len(hjson) + offset


def read_safetensors(path):
    """Minimal reader (for self-tests): returns {name: torch.Tensor}."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    np_dt = {"F32": np.float32, "I64": np.int64}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        arr = np.frombuffer(data[b:e], dtype=np_dt[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out
