#!/usr/bin/env python3
"""Compare two .npy outputs: a reference A (e.g. `batchbench infer --device
cpu`, fp32) and B (e.g. the same model, seed and input on the GPU).

    compare_npy.py A.npy B.npy BOUND [MIN_COSINE]

BOUND is a number (the largest accepted max relative error; MIN_COSINE then
defaults to 0.99) or a precision name, which sets both bounds:

    precision  max rel err  min cosine
    fp32       1e-4         0.99999
    tf32       2e-2         0.999
    fp16       5e-2         0.999     (not used by scripts/gpu-check.sh)
    bf16       1e-1         0.99

Prints one line,
    max rel err X (bound B), cosine C (min M) PASS|FAIL
and exits 0 on PASS, 1 on FAIL (either bound exceeded, a NaN/Inf in B, or
a shape mismatch, which prints "shape mismatch ... FAIL"), 2 on bad
arguments or an unreadable file. Needs only numpy.

Metrics (computed in float64):
  max rel err = max|A - B| / max(1, max|A|): the error relative to the
      output's scale, as the CPU parity tests use (README: 1e-4 for fp32).
  cosine = min over items (rows of axis 0) of cos(A_i, B_i): direction of
      each item's output vector, insensitive to a uniform scale.

Why these bounds. fp32 against fp32 differs only in summation order and
algorithm (cuDNN may pick a Winograd or FFT convolution, whose rounding
differs slightly): 1e-4 is the CPU parity bound (README). The reduced
precisions round at every layer:
  TF32 keeps 10 explicit mantissa bits of each matmul/conv input: unit
      roundoff u = 2^-11 ~ 4.9e-4.
  bf16 keeps 7 explicit mantissa bits in weights and activations (fp32
      accumulation): u = 2^-8 ~ 3.9e-3.
Independent rounding errors of L layers add like a random walk, so the
relative error of the output grows ~ u * sqrt(L); these networks have
L ~ 20-300 conv/linear layers (sqrt(L) ~ 4.5-17), times a small constant
for the several roundings per layer (input, weight, output, residual sum)
and for normalisations (LayerNorm, softmax) that amplify an error a little.
That predicts up to ~5e-3 for TF32 and ~5e-2 for bf16; the bounds (2e-2,
1e-1) leave a factor ~2-4 on top and stay far below what a real bug gives
(a wrong layer, layout, scale or a missing bias moves the max relative
error to O(0.1-1) and the cosine well below 0.99). The cosine bounds
(0.999 TF32, 0.99 bf16) catch an error spread over the whole output that
the max-based metric could let through.
Checked by simulation with PyTorch 1.13 on the CPU, all 12 models x both
heads, bb_torch.randomise_ weights (seed 1), batch 2, against fp32:
  bf16 (model.to(bfloat16), input in bf16): max rel err 9.4e-3 .. 5.6e-2
      (largest resnet152 features; ViTs 1.7e-2 .. 3.2e-2), min cosine 0.9990
      (mobilenet_v2), others >= 0.9994.
  TF32 emulated (conv/linear inputs and weights rounded to 10 mantissa
      bits; attention's two matmuls not rounded): max rel err 5.0e-4 ..
      5.2e-3 (resnet152), min cosine 0.999994.
"""
import sys

import numpy as np

BOUNDS = {"fp32": (1e-4, 0.99999), "tf32": (2e-2, 0.999), "fp16": (5e-2, 0.999), "bf16": (1e-1, 0.99)}
DEFAULT_MIN_COSINE = 0.99


def compare(a, b):
    """(max rel err, min per-item cosine) of B against the reference A."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    err = float(np.max(np.abs(a - b))) / max(1.0, float(np.max(np.abs(a)))) if a.size else 0.0
    a2 = a.reshape(a.shape[0], int(np.prod(a.shape[1:]))) if a.ndim > 1 else a.reshape(1, -1)
    b2 = b.reshape(a2.shape)
    na, nb = np.linalg.norm(a2, axis=1), np.linalg.norm(b2, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.sum(a2 * b2, axis=1) / (na * nb)
    cos = np.where((na == 0) & (nb == 0), 1.0, cos)  # two zero vectors agree
    return err, float(np.min(cos)) if cos.size else 1.0


def parse_bounds(argv):
    if len(argv) not in (3, 4):
        raise ValueError("usage: compare_npy.py A.npy B.npy BOUND|fp32|tf32|fp16|bf16 [MIN_COSINE]")
    if argv[2] in BOUNDS:
        bound, min_cos = BOUNDS[argv[2]]
    else:
        try:
            bound, min_cos = float(argv[2]), DEFAULT_MIN_COSINE
        except ValueError:
            raise ValueError(f"BOUND must be a number or one of {', '.join(BOUNDS)}, not {argv[2]!r}") from None
    if len(argv) == 4:
        try:
            min_cos = float(argv[3])
        except ValueError:
            raise ValueError(f"MIN_COSINE must be a number, not {argv[3]!r}") from None
    if not bound >= 0 or not -1 <= min_cos <= 1:
        raise ValueError(f"bad bounds: {argv[2:]}")
    return bound, min_cos


def main(argv):
    try:
        bound, min_cos = parse_bounds(argv)
    except ValueError as e:
        print(f"compare_npy.py: {e}", file=sys.stderr)
        return 2
    try:
        a, b = np.load(argv[0]), np.load(argv[1])
    except (OSError, ValueError) as e:
        print(f"compare_npy.py: {e}", file=sys.stderr)
        return 2
    if a.shape != b.shape:
        print(f"shape mismatch {a.shape} vs {b.shape} FAIL")
        return 1
    err, cos = compare(a, b)
    ok = bool(np.all(np.isfinite(b))) and err <= bound and cos >= min_cos
    verdict = "PASS" if ok else "FAIL"
    print(f"max rel err {err:.3e} (bound {bound:.10g}), cosine {cos:.7f} (min {min_cos:.10g}) {verdict}"
          + ("" if np.all(np.isfinite(b)) else " (non-finite values in B)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
