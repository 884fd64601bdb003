"""Shared helpers for the ONNX side: a torchvision classification model with
seeded random weights, exported by torch.onnx, and run by ONNX Runtime.

Used by tests/onnx/run_onnx_parity.py (parity of `batchbench infer --model
F.onnx` against ONNX Runtime) and peers/vs_peers.py (the `onnxruntime` and
`batchbench-onnx` engines run the same exported file).

    build_model(name, head)        any torchvision classification model, eval mode, or
                                   "timm:NAME": timm's (PyPI, installed into .venv by
                                   scripts/install-deps.sh), not pretrained, or
                                   "video:NAME": one of torchvision's video classifiers
    randomise_(model, seed, name)  bb_torch.randomise_ (the zoo: exactly), plus for the
                                   models outside it: ConvNeXt layer scale, Swin
                                   attention, BN statistics measured in eval mode,
                                   networks without normalisation re-centred
    input_size(name)               299 for inception_v3, a timm model's own, 112 for the
                                   video ResNets, else 224
    input_dims(name)               one item's input dims: (3, S, S), a video model's
                                   (3, 16, S, S), a file's own
    export(model, path, name, ...) torch.onnx.export, dynamic batch axis
    ort_session(path, threads)     onnxruntime.InferenceSession on the CPU provider
    ort_run(sess, x)               its output on a numpy batch
    seeded_input(name, batch, seed) float32 [batch, *input_dims(name)], ~N(0, 1)
    is_file(name), file_input_shape(path)  a user's own .onnx file in place of a model name
    onnx_macs(path, shape)         multiply-accumulates per item of an exported file

Needs Debian's python3-torch / python3-torchvision (build, randomise, export);
onnxruntime (ort_session, onnx_macs) and onnx (onnx_macs) are imported only
when used.
"""
import functools
import inspect
import os
import warnings

import numpy as np
import torch
import torch.nn as nn
import torchvision.models as tvm

import bb_torch

ZOO = list(bb_torch.MODELS)           # the models batchbench builds itself
EXTRA = ["resnext50_32x4d", "wide_resnet50_2", "mobilenet_v3_large", "efficientnet_b0", "regnet_y_800mf",
         "densenet121", "convnext_tiny", "squeezenet1_1", "shufflenet_v2_x1_0", "googlenet", "vgg11_bn",
         "inception_v3", "swin_t"]
PARITY_MODELS = ZOO + EXTRA           # tests/onnx/run_onnx_parity.py's default list
# torchvision classification models that PyTorch 1.13's exporter cannot
# export (so nothing here can be run on them): swin_v2_* ("Exporting the
# operator 'aten::zero' to ONNX opset version 17 is not supported") and
# maxvit_t (IndexError inside the export).
NOT_EXPORTABLE = ["swin_v2_t", "swin_v2_s", "swin_v2_b", "maxvit_t"]
# A few small ones of the families above that nothing in the engine was
# written for (other widths and depths, mobilenet_v3_small's smaller SE
# blocks, regnet_x without SE, squeezenet1_0's 7x7 stem): the proof in
# `make onnx-parity` that other models of these families import without
# special cases. `--models siblings` runs every other exportable one.
SIBLINGS_QUICK = ["mobilenet_v3_small", "shufflenet_v2_x0_5", "regnet_x_400mf", "squeezenet1_0",
                  "efficientnet_b1", "mnasnet0_5"]
DEFAULT_OPSET = 17
TRANSFORMERS = ("vit_", "swin_", "maxvit_")  # name prefixes: family "transformer" in result files

# constructor arguments: no auxiliary classifiers (they only run in training
# mode anyway), and no init pass (randomise_ overwrites every tensor)
_CTOR_KW = {"googlenet": {"aux_logits": False, "init_weights": False},
            "inception_v3": {"aux_logits": False, "init_weights": False}}


def classification_models():
    """Every torchvision classification model name (torchvision.models itself,
    not its detection/segmentation/video/quantization submodules)."""
    return sorted(tvm.list_models(module=tvm))


def siblings():
    """Every exportable torchvision classification model outside PARITY_MODELS."""
    return [m for m in classification_models() if m not in PARITY_MODELS and m not in NOT_EXPORTABLE]


# Models from timm (PyPI), which nothing in the engine was written for: each
# brings an op or a pattern torchvision's models do not have (PoolFormer's
# GroupNorm as InstanceNormalization, ECA's 1-D conv, HRNet's nearest Resize
# and activation-then-add, MixNet's mixed kernel sizes, ResNeSt's split
# attention with ReduceSum, MobileViT's unfolding reshapes around attention,
# FastViT's channel-multiplier convs and branch sums, TResNet's reflect pads,
# XCiT's position encoding computed on constants and tiled over the batch,
# GhostNetV2's nearest resize from 3 to 7, Swin V2's MLP on constant
# coordinates, ConViT's relative indices traced in every block, Sequencer's
# bidirectional LSTMs over rows and columns: src/onnx/onnx_rnn.c).
# `make onnx-parity` and `make check` run them.
TIMM = "timm:"
TIMM_QUICK = ["timm:poolformer_s12", "timm:ecaresnet26t", "timm:hrnet_w18_small", "timm:mixnet_s",
              "timm:resnest14d", "timm:mobilevit_xxs", "timm:fastvit_t8", "timm:tresnet_m",
              "timm:xcit_nano_12_p16_224", "timm:ghostnetv2_100", "timm:swinv2_cr_tiny_ns_224", "timm:convit_tiny",
              "timm:dpn68", "timm:mvitv2_tiny", "timm:resnet50_gn", "timm:sequencer2d_s"]

# Activation variants, as users' own models have them (InsightFace's PReLU
# ResNets, YOLOv4's Mish, ELU and SELU networks, a log-softmax output):
# "BASE+ACT" is torchvision's BASE, a ResNet of basic blocks (resnet18,
# resnet34), with every nn.ReLU module replaced by ACT (PReLU: one slope
# per channel), or with ACT log_softmax its output passed through
# log_softmax. `make onnx-parity` and `make check` run ACTIVATIONS.
ACT_MODULES = {"prelu": lambda c: nn.PReLU(c), "elu": lambda c: nn.ELU(0.8), "selu": lambda c: nn.SELU(),
               "celu": lambda c: nn.CELU(0.7), "softplus": lambda c: nn.Softplus(),
               "mish": lambda c: nn.Mish(), "softsign": lambda c: nn.Softsign(),
               "gelu_tanh": lambda c: nn.GELU(approximate="tanh")}
ACT_BASES = ("resnet18", "resnet34")
ACTIVATIONS = [f"resnet18+{a}" for a in [*ACT_MODULES, "log_softmax"]]

# torchvision's video classifiers (torchvision.models.video), on clips of
# VIDEO_FRAMES frames at their weights' crop size (112 for the ResNets, 224
# for S3D; 16 frames is the clip_len their accuracies were measured at):
# 3-D convolutions and pools (r3d_18's full 3x3x3, mc3_18's mix of 3-D and
# 2-D ones, r2plus1d_18's 1x3x3 then 3x1x1, s3d's separable ones with
# inception branches, a 3-D max pool and an average pool that is not global)
# and BatchNorm3d; and the transformer mvit_v1_b (a Conv3d patch embedding,
# attention pooled per head by 3-D max pools, and the Loops and Ifs torch
# writes for tensor_split and squeeze: src/onnx/onnx_flatten.c), and its
# sibling mvit_v2_s (attention pooled by depthwise Conv3d, relative positions
# over 7 axes written into the scores as torch writes `attn[:, :, 1:, 1:] +=`:
# src/onnx/onnx_need.c). `--models video` runs them.
VIDEO = "video:"
VIDEO_MODELS = ["video:r3d_18", "video:mc3_18", "video:r2plus1d_18", "video:s3d", "video:mvit_v1_b", "video:mvit_v2_s"]
VIDEO_FRAMES = 16
_VIDEO_SIZE = {"r3d_18": 112, "mc3_18": 112, "r2plus1d_18": 112, "s3d": 224, "mvit_v1_b": 224, "mvit_v2_s": 224}

MODEL_SETS = {"all": lambda: PARITY_MODELS, "siblings": siblings, "siblings-quick": lambda: SIBLINGS_QUICK,
              "timm-quick": lambda: TIMM_QUICK, "activations": lambda: ACTIVATIONS, "video": lambda: VIDEO_MODELS}


def expand_models(spec):
    """A --models value: comma-separated model names and set names (all =
    the 25 of issue 18, siblings, siblings-quick, video, ...: MODEL_SETS),
    expanded in order, each model once."""
    out = []
    for tok in (t for t in spec.split(",") if t):
        for m in MODEL_SETS[tok]() if tok in MODEL_SETS else [tok]:
            if m not in out:
                out.append(m)
    return out


def family(name):
    if is_file(name):
        return "imported"  # as batchbench's own results of an ONNX file say
    return "transformer" if name.startswith(TRANSFORMERS) else "conv"


def is_file(name):
    """A user's own ONNX file given where a model name goes (it ends in
    .onnx): nothing is built or exported, the file itself is run."""
    return name.endswith(".onnx")


@functools.lru_cache(maxsize=None)
def file_input_shape(path):
    """The dims after the batch of the one input of the ONNX file at `path`
    (e.g. (3, 224, 224)), read from its graph (external weights are not
    loaded). ValueError naming the file when it has no single input with
    fixed numbers there."""
    import onnx
    try:
        g = onnx.load(path, load_external_data=False).graph
    except Exception as e:  # noqa: BLE001 -- protobuf's DecodeError and OSError alike
        raise ValueError(f"{path}: not a readable ONNX file: {e}") from e
    inits = {t.name for t in g.initializer}
    ins = [i for i in g.input if i.name not in inits]
    if len(ins) != 1:
        raise ValueError(f"{path}: {len(ins)} graph inputs; one is expected")
    dims = ins[0].type.tensor_type.shape.dim
    shape = tuple(d.dim_value if d.HasField("dim_value") else 0 for d in dims[1:])
    if not dims or not shape or min(shape) < 1:
        said = ",".join(str(d.dim_value) if d.HasField("dim_value") else d.dim_param or "?" for d in dims)
        raise ValueError(f"{path}: input '{ins[0].name}' is [{said}]; the dims after the batch must be numbers")
    return shape


def _timm():
    try:
        import timm
    except ImportError as e:
        raise ValueError("timm models need timm (PyPI): scripts/install-deps.sh installs it into .venv") from e
    return timm


def known_model(name):
    """A torchvision classification model, timm:NAME for one of timm's,
    video:NAME for one of VIDEO_MODELS, or an existing .onnx file."""
    if is_file(name):
        return os.path.isfile(name)
    if name.startswith(VIDEO):
        return name in VIDEO_MODELS
    if "+" in name:
        base, _, act = name.partition("+")
        return base in ACT_BASES and (act in ACT_MODULES or act == "log_softmax")
    if name.startswith(TIMM):
        return name[len(TIMM):] in _timm().list_models()
    return name in classification_models()


def input_size(name):
    """The input's height and width (square)."""
    if name.startswith(TIMM):
        return int(_timm().models.get_pretrained_cfg(name[len(TIMM):]).input_size[1])
    if name.startswith(VIDEO):
        return _VIDEO_SIZE[name[len(VIDEO):]]
    return 299 if name.startswith("inception") else 224


def input_dims(name):
    """The dims of one item of the model's input, after the batch: (3, S, S)
    for an image classifier (S = input_size(name)), (3, VIDEO_FRAMES, S, S)
    for a video one, a file's own. The one place the input's shape is
    decided: the export's trace, the seeded test input and every calibration
    batch take it from here, so a model whose input is not (3, S, S) gets
    its own shape everywhere."""
    if is_file(name):
        return file_input_shape(name)
    s = input_size(name)
    return (3, VIDEO_FRAMES, s, s) if name.startswith(VIDEO) else (3, s, s)


def _features_head_(model, name):
    """Replaces the classification layer by nn.Identity. For the zoo this is
    bb_torch's definition (ResNet fc, MobileNetV2/EfficientNetV2 classifier,
    ViT heads: each ends in the model's last nn.Linear, the layers before it
    in that head being dropout); elsewhere it is the last nn.Linear
    (mobilenet_v3_large: 1280-d after the Hardswish, vgg: 4096-d, convnext:
    768-d after the LayerNorm), or for SqueezeNet, which has none, the final
    1x1 convolution (512-d after ReLU and pooling)."""
    if name.startswith("squeezenet"):
        model.classifier[1] = nn.Identity()
        return model
    last = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not last:
        raise ValueError(f"{name}: no nn.Linear to remove for --head features")
    parent, _, leaf = last[-1].rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, leaf, nn.Identity())
    return model


def build_model(name, head="classifier"):
    """torchvision.models.<name>(weights=None) in eval mode: the zoo through
    bb_torch.build_model, any other classification model directly (googlenet
    and inception_v3 without aux classifiers), video:NAME as
    torchvision.models.video.NAME(weights=None). head "features" removes the
    classification layer (see _features_head_)."""
    if "+" in name:
        return _with_activation(name, head)
    if name.startswith(VIDEO):
        return _video_model(name, head)
    if name in ZOO:
        return bb_torch.build_model(name, head)
    if name.startswith(TIMM):
        if not known_model(name):
            raise ValueError(f"unknown model {name!r}: not one of timm's")
        model = _timm().create_model(name[len(TIMM):], pretrained=False)
        if head == "features":
            model.reset_classifier(0)
        return model.eval()
    if name not in classification_models():
        raise ValueError(f"unknown model {name!r}: not a torchvision classification model")
    if head not in bb_torch.HEADS:
        raise ValueError(f"unknown head {head!r}; expected one of {bb_torch.HEADS}")
    model = getattr(tvm, name)(weights=None, **_CTOR_KW.get(name, {}))
    if head == "features":
        _features_head_(model, name)
    return model.eval()


def _video_model(name, head):
    """video:NAME (VIDEO_MODELS): the video ResNets' features head is their
    fc, the last nn.Linear (512-d after the global 3-D pooling), as for the
    image models; s3d has no nn.Linear: its classifier is a 1x1x1 Conv3d
    whose output is then averaged over time and space, so the rule every
    other model's features head follows has nothing to remove. It is refused
    by name rather than given a meaning of its own."""
    import torchvision.models.video as tvv
    if name not in VIDEO_MODELS:
        raise ValueError(f"unknown model {name!r}: video:NAME takes NAME in "
                         f"{[m[len(VIDEO):] for m in VIDEO_MODELS]}")
    if head not in bb_torch.HEADS:
        raise ValueError(f"unknown head {head!r}; expected one of {bb_torch.HEADS}")
    if head == "features" and name == "video:s3d":
        raise ValueError(f"{name}: no features head (its classifier ends in a 1x1x1 Conv3d, "
                         "not an nn.Linear); use head classifier")
    model = getattr(tvv, name[len(VIDEO):])(weights=None)
    if head == "features":
        _features_head_(model, name)
    return model.eval()


def _with_activation(name, head):
    """"BASE+ACT" (ACT_MODULES above): a fresh BASE with its activation
    replaced, or its output through log_softmax."""
    base, _, act = name.partition("+")
    if base not in ACT_BASES or (act not in ACT_MODULES and act != "log_softmax"):
        raise ValueError(f"unknown model {name!r}: BASE+ACT takes BASE in {ACT_BASES} and ACT in "
                         f"{[*ACT_MODULES, 'log_softmax']}")
    model = getattr(tvm, base)(weights=None)
    if act == "log_softmax":
        if head == "features":
            raise ValueError(f"{name}: a log-softmax output has no features head")
        return nn.Sequential(model, nn.LogSoftmax(dim=1)).eval()
    if head == "features":
        _features_head_(model, base)
    model.relu = ACT_MODULES[act](model.bn1.num_features)
    for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
        for block in layer:  # a basic block applies its relu after bn1 and after the sum: planes channels
            block.relu = ACT_MODULES[act](block.bn2.num_features)
    return model.eval()


# ---------------------------------------------------------------------------
# Randomisation: bb_torch's scheme (see its comment block), plus what the
# models outside the zoo need to stay O(1) and input dependent:
#   ConvNeXt layer_scale [C,1,1]  U(-0.3, 0.3) (torchvision's init is 1e-6,
#                                 which would make every block an identity)
#   last linear of a residual branch: ConvNeXt block.5, Swin attn.proj (Swin's
#                                 mlp.3 is already ViT's rule)  gain 0.5
#   Swin relative_position_bias_table [(2w-1)^2, heads]  U(-a, a), a^2 = 6/heads
#                                 (the generic weight rule: fan_in = heads)
# Integer buffers other than BatchNorm's num_batches_tracked (Swin's
# relative_position_index) are structure, not weights: bb_torch keeps them.
# ---------------------------------------------------------------------------
LAYER_SCALE_RANGE = 0.3


def weight_gain(pname, keys):
    if pname.endswith(".layer_scale"):
        return LAYER_SCALE_RANGE ** 2 / 3.0      # fan_in 1: U(-0.3, 0.3)
    if pname.endswith(".attn.proj.weight") or (pname.startswith("features.") and pname.endswith(".block.5.weight")):
        return bb_torch.RESIDUAL_GAIN
    return bb_torch.weight_gain(pname, keys)


def randomise_(model, seed, name):
    """Every parameter and every BatchNorm/LayerNorm buffer seeded-random
    (bb_torch.randomise_, with weight_gain above); returns the model. For the
    zoo the values are exactly bb_torch's
    (tests/parity/run_parity.py's); for any other model `name`, the
    BatchNorm running statistics are then re-measured in eval mode
    (_calibrate_batchnorm_eval_). Every calibration batch has the model's
    own input dims (input_dims: a video model's clips)."""
    dims = input_dims(name)
    bb_torch.randomise_(model, seed, gains=weight_gain, rule=_other_rule, size=dims)
    if name not in ZOO:
        _shrink_efficientnet_branches_(model)
        _calibrate_batchnorm_eval_(model, seed, dims)
        _calibrate_unnormalised_(model, seed, dims)
    return model


def _other_rule(name, t, g):
    """Tensors bb_torch's scheme has no rule for, in models outside
    torchvision (timm): a 1-D layer scale (gamma, scale) U(-0.3, 0.3), like
    ConvNeXt's above; any other 1-D or 0-D float U(-0.1, 0.1), a bias's."""
    leaf = name.rsplit(".", 1)[-1]
    if t.dim() == 1 and ("scale" in name or leaf == "gamma"):
        return bb_torch._uniform(t.shape, -LAYER_SCALE_RANGE, LAYER_SCALE_RANGE, g)
    if t.dim() <= 1:
        return bb_torch._uniform(t.shape, -bb_torch.BIAS_RANGE, bb_torch.BIAS_RANGE, g)
    return None


def _shrink_efficientnet_branches_(model):
    """bb_torch's ResNet rule (RESNET_BRANCH_GAMMA) for EfficientNet's
    residual blocks: the gamma of the BatchNorm that ends an MBConv or
    FusedMBConv branch added to the stream is scaled by 0.25. Without it the
    13 residual blocks of efficientnet_b7's sixth stage grew the stream to
    rms ~200 and the logits to ~800, where float32 rounding is amplified:
    PyTorch and ONNX Runtime disagreed by 7e-4 of the output, 7x the parity
    bound, on the same file."""
    for mod in model.modules():
        if type(mod).__name__ in ("MBConv", "FusedMBConv") and getattr(mod, "use_res_connect", False):
            last = mod.block[-1]
            bn = last[-1] if isinstance(last, nn.Sequential) else None
            if isinstance(bn, nn.BatchNorm2d):
                with torch.no_grad():
                    bn.weight.mul_(bb_torch.RESNET_BRANCH_GAMMA)


def _calibration_batch(seed, dims):
    """Two items of per-item dims `dims` (input_dims) ~N(0, 1), seeded as
    bb_torch's calibration batch is."""
    g = torch.Generator()
    g.manual_seed(int(seed) + bb_torch.CALIB_SEED_OFFSET)
    return torch.randn((2, *dims), generator=g, dtype=torch.float32)



def _calibration_pass(model, hooks, seed, dims):
    """One eval-mode forward pass of a seeded calibration batch with the
    given hooks registered (they set statistics as the pass goes), then the
    hooks removed and the model's training flag restored."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(_calibration_batch(seed, dims))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)

def _calibrate_unnormalised_(model, seed, dims):
    """For a network with no normalisation layer at all (SqueezeNet, VGG
    without _bn, AlexNet): random weights and biases leave every ReLU output
    with a positive mean, so input-independent offsets pile up layer after
    layer (squeezenet1_1: the items of a batch gave outputs alike within
    2%). What the BN calibration does for the others is done here on the
    convolutions and linears themselves, in forward order within one eval
    pass on the calibration batch: each output channel is rescaled to unit
    variance and re-centred at U(-0.2, 0.2) (weight /= sigma, bias = (bias -
    mu) / sigma + U(-0.2, 0.2)). A linear's output has no spatial extent, so
    its sigma is pooled over all its channels: per channel it would rest on
    the calibration batch's 2 values alone, and dividing by their tiny
    differences blew alexnet's and vgg11's outputs up to ~2e6. Layers without
    a bias are left alone."""
    if any(isinstance(m, (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)) for m in model.modules()):
        return
    layers = [(n, m) for n, m in model.named_modules()
              if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None]

    def hook(mod, inputs, out, name):
        ch = 1 if isinstance(mod, nn.Conv2d) else out.dim() - 1  # a linear's channels are last (ResMLP's tokens)
        dims = [d for d in range(out.dim()) if d != ch]
        mu = out.mean(dim=dims)
        if out.dim() > 2:
            sd = out.var(dim=dims, unbiased=False).clamp_min(1e-8).sqrt()
        else:  # a linear's output: each channel has only the batch's 2 values
            sd = (out - mu).pow(2).mean().clamp_min(1e-8).sqrt().expand_as(mu)
        shift = bb_torch._uniform(sd.shape, -0.2, 0.2, bb_torch._tensor_generator(seed, name + ".bias.calibrated"))
        mod.weight.div_(sd.view([-1] + [1] * (mod.weight.dim() - 1)))
        mod.bias.copy_((mod.bias - mu) / sd + shift)
        view = [1] * out.dim()
        view[ch] = -1
        return (out - mu.view(view)) / sd.view(view) + shift.view(view)

    _calibration_pass(model, [m.register_forward_hook(lambda mod, inp, out, n=n: hook(mod, inp, out, n))
                              for n, m in layers], seed, dims)


def _calibrate_batchnorm_eval_(model, seed, dims):
    """bb_torch calibrates every BatchNorm on its input in one training-mode
    pass, where the BNs upstream normalise with exact batch statistics; in
    eval mode they use the perturbed running ones, and the mismatch compounds
    along deep chains without a residual path (inception_v3: BN inputs 60x
    their running variance by Mixed_6e, logits ~ +-280, items of a batch
    alike within 4%). Here each BN's statistics are measured on its actual
    eval-mode input, in forward order within one pass (a pre-hook sets them
    just before the BN runs), on a seeded calibration batch of the model's
    input dims, and perturbed as bb_torch does:
        running_mean = mu + U(-0.2, 0.2) * sigma,  running_var = var * U(0.5, 2)
    (per-tensor generators from the seed and the BN's name). BatchNorm3d
    (the video models') alike: the statistics are over every dim but the
    channel's."""
    bns = [(n, m) for n, m in model.named_modules() if isinstance(m, bb_torch._BN_TYPES)]
    if not bns:
        return

    def pre_hook(mod, inputs, name):
        x = inputs[0]
        dims = [d for d in range(x.dim()) if d != 1]
        var = x.var(dim=dims, unbiased=False).clamp_min(1e-4)
        sd = var.sqrt()
        g = bb_torch._tensor_generator(seed, name + ".running_mean")
        mod.running_mean.copy_(x.mean(dim=dims) + bb_torch._uniform(sd.shape, -0.2, 0.2, g) * sd)
        g = bb_torch._tensor_generator(seed, name + ".running_var")
        mod.running_var.copy_(var * bb_torch._uniform(sd.shape, 0.5, 2.0, g))

    _calibration_pass(model, [m.register_forward_pre_hook(lambda mod, inp, n=n: pre_hook(mod, inp, n))
                              for n, m in bns], seed, dims)


def seeded_input(name, batch, seed):
    """float32 [batch, *input_dims(name)] ~N(0, 1) from torch's generator
    seeded with seed ([batch, 3, S, S] for an image classifier, [batch, 3,
    16, S, S] for a video one, [batch] + its input's dims for a file), as a
    numpy array."""
    g = torch.Generator()
    g.manual_seed(int(seed))
    return torch.randn((batch, *input_dims(name)), generator=g, dtype=torch.float32).numpy()


def export(model, path, name, opset=DEFAULT_OPSET, input_name="input", output_name="output", batch_axis="N",
           dtype=torch.float32, device="cpu"):
    """torch.onnx.export of `model` (eval) to `path`: input `input_name`
    [batch_axis, *input_dims(name)] of `dtype` (float32 unless the model was cast,
    e.g. to bfloat16 for tools/trt_bench.py), output `output_name`
    [batch_axis, ...], the batch axis dynamic on both, constant folding on
    (torch's default). Traced with a batch of 2 on `device` (where the model
    is) so that no size-1 batch is baked into a reshape. Written to a
    temporary name first, then renamed."""
    x = torch.zeros((2, *input_dims(name)), dtype=dtype, device=device)
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with warnings.catch_warnings():  # the tracer's notes on shape asserts (ViT, Swin)
            warnings.simplefilter("ignore")
            # not under torch.no_grad(): there nn.MultiheadAttention takes its
            # fused fast path, aten::_native_multi_head_attention, which has
            # no ONNX export
            # the TorchScript exporter: PyTorch 2.9 and later default to the
            # dynamo one (which needs onnxscript); 1.13 has no such argument
            legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
            torch.onnx.export(model.eval(), x, tmp, opset_version=opset, input_names=[input_name],
                              output_names=[output_name],
                              dynamic_axes={input_name: {0: batch_axis}, output_name: {0: batch_axis}},
                              do_constant_folding=True, **legacy)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def ort_session(path, threads, optimize=True):
    """InferenceSession on the CPU provider: intra-op threads = `threads`,
    one inter-op thread, sequential execution, graph optimisations at ORT's
    default (ORT_ENABLE_ALL), or none (optimize=False: the graph op by op;
    ORT 1.32's optimised session crashes on timm's MetaFormer v2 exports,
    caformer_s18 and poolformerv2_s12)."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if not optimize:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_run(sess, x):
    """Output 0 of `sess` on the numpy batch x (fed to its only input)."""
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def onnx_macs(path, input_shape):
    """Multiply-accumulates per item of the model at `path`: Conv (output
    elements x in/groups x kernel size), Gemm and MatMul (output elements x
    the reduced dim); elementwise ops, pooling and normalisations are not
    counted (as in `batchbench models`). The shapes are the real ones: ONNX
    Runtime runs the graph once (no graph optimisations, batch 1 of
    `input_shape` = [1, C, H, W]) with those nodes' operands added as graph
    outputs (ONNX's static shape inference loses track at the traced
    reshapes of ViT and Swin)."""
    import onnx
    import onnxruntime as ort
    from onnx import helper
    m = onnx.load(path)
    g = m.graph
    inits = {t.name: list(t.dims) for t in g.initializer}
    nodes = [n for n in g.node if n.op_type in ("Conv", "Gemm", "MatMul")]
    want = []
    for n in nodes:
        for v in (n.input[0], n.input[1], n.output[0]):
            if v not in inits and v not in want:
                want.append(v)
    have = {o.name for o in g.output}
    for v in want:
        if v not in have:
            g.output.append(helper.make_tensor_value_info(v, onnx.TensorProto.FLOAT, None))
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    del m, g
    x = np.zeros([1] + list(input_shape)[1:], dtype=np.float32)
    shapes = dict(inits)
    shapes.update({v: list(a.shape) for v, a in zip(want, sess.run(want, {sess.get_inputs()[0].name: x}))})
    macs = 0
    for n in nodes:
        a, b, out = shapes[n.input[0]], shapes[n.input[1]], shapes[n.output[0]]
        n_out = int(np.prod(out))
        if n.op_type == "Conv":
            groups = next((at.i for at in n.attribute if at.name == "group"), 1)
            macs += n_out * (a[1] // groups) * int(np.prod(b[2:]))
        elif n.op_type == "Gemm":
            trans_a = next((at.i for at in n.attribute if at.name == "transA"), 0)
            macs += n_out * (a[0] if trans_a else a[-1])
        else:
            macs += n_out * a[-1]
    return macs
