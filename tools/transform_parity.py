#!/usr/bin/env python3
"""transform_parity.py — batchbench's ImageNet transform against torchvision's.

For every JPEG in a folder (DIR/*.jpg and DIR/images/*.jpg, e.g. made with
`batchbench dataset make --kind jpeg --items 20 --out DIR`) it runs
`batchbench dataset transform --in F --out X.npy` and compares X with

    Compose([Resize(256), CenterCrop(224), ToTensor(),
             Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    applied to PIL.Image.open(F).convert('RGB')

and prints per file and overall the max and mean absolute difference; then
the same for `--dct-scale`. Exit 0 when both are within their bounds, 1 when
not (or when batchbench fails), 2 on bad arguments. Run it with Debian's
/usr/bin/python3 (python3-torchvision, python3-pil); without them it prints
"skipped" and exits 0.

Tolerances, and why:
- Full decode: max |ours - torchvision| <= 1e-6, mean <= 1e-7, i.e. equal.
  One 8-bit level is 1/255/0.225 ~ 0.0174 after normalisation, so a bound
  below that means every pixel of the 224x224 crop has the same 8-bit value
  as PIL's; the remaining float arithmetic ((x/255 - mean)/std in float32)
  is done in the same order as torch, so the floats are equal too. This holds
  because batchbench decodes with the same libjpeg-turbo that Debian's PIL
  links (JDCT_ISLOW, fancy upsampling) and computes PIL's resample
  coefficients and fixed-point rounding exactly (src/data/resample.c).
  Measured: 0.0 and 0.0 over the 1,000 images of the default synthetic
  set and over upscaled, 224/256-exact, very wide/tall, grayscale,
  progressive, 4:4:4, 4:2:2 and 1601x1203 JPEGs (PIL 9.4, torchvision
  0.14, libjpeg-turbo 2.1.5). With a PIL that bundles another JPEG
  library (pip wheels) decoded pixels may differ by a level or so; use
  --max-abs 0.035 --mean-abs 0.002 (two levels, well under a tenth of one
  on average) there.
- --dct-scale: libjpeg decodes at M/8 scale in the DCT domain (an ideal
  low-pass, then the same bilinear resize) instead of PIL's bilinear filter
  on the full image, so fine texture comes out differently. Measured on
  these synthetic images (dense 2..16 px texture, a worst case for this):
  20 images (seed 0): mean 0.069 (about 4 levels), worst image mean 0.114,
  max 1.19, correlation with torchvision >= 0.982; 1,000 images (the default
  set): mean 0.071, worst image mean 0.157, max 1.3, correlation >= 0.953.
  Bounds: mean over the images <= 0.1, max <= 2.5 and correlation >= 0.9 for
  every image; they catch a shifted crop (on one image, shifting the
  output by a pixel raised its mean from 0.08 to 0.10..0.23), swapped
  channels or a wrong scale, not small numerical differences (this path is
  an approximation by design).

The mean bound applies to the mean over all images of each image's mean
absolute difference; max and correlation apply to every image.
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def reference_transform():
    from torchvision import transforms as T

    return T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(MEAN, STD)])


def ours(binary, path, dct, out):
    cmd = [binary, "dataset", "transform", "--in", path, "--out", out] + (["--dct-scale"] if dct else [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    import numpy as np

    return np.load(out)


def compare(binary, files, dct, tmp):
    """Per file (name, max abs, mean abs, correlation)."""
    import numpy as np
    from PIL import Image

    tf, rows = reference_transform(), []
    for f in files:
        ref = tf(Image.open(f).convert("RGB")).numpy()
        got = ours(binary, f, dct, os.path.join(tmp, "x.npy"))
        if got.shape != ref.shape:
            raise RuntimeError(f"{f}: shape {got.shape}, expected {ref.shape}")
        d = np.abs(got.astype(np.float64) - ref)
        corr = float(np.corrcoef(got.ravel(), ref.ravel())[0, 1])
        rows.append((os.path.basename(f), float(d.max()), float(d.mean()), corr))
    return rows


def report(title, rows, max_abs, mean_abs, min_corr, verbose):
    worst_max = max(r[1] for r in rows)
    worst_mean = max(r[2] for r in rows)
    avg_mean = sum(r[2] for r in rows) / len(rows)
    worst_corr = min(r[3] for r in rows)
    if verbose:
        for name, mx, mn, c in rows:
            print(f"  {name}: max {mx:.3g} mean {mn:.3g} corr {c:.5f}")
    ok = worst_max <= max_abs and avg_mean <= mean_abs and worst_corr >= min_corr
    print(f"{title}: {len(rows)} images: max abs {worst_max:.3g} (bound {max_abs:g}), "
          f"mean abs {avg_mean:.3g} (bound {mean_abs:g}; worst image {worst_mean:.3g}), "
          f"min corr {worst_corr:.5f} (bound {min_corr:g}) {'PASS' if ok else 'FAIL'}")
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dir", help="folder with *.jpg or images/*.jpg")
    p.add_argument("--bin", default="build/batchbench")
    p.add_argument("--max-abs", type=float, default=1e-6)
    p.add_argument("--mean-abs", type=float, default=1e-7)
    p.add_argument("--dct-max-abs", type=float, default=2.5)
    p.add_argument("--dct-mean-abs", type=float, default=0.1)
    p.add_argument("--dct-min-corr", type=float, default=0.9)
    p.add_argument("--no-dct", action="store_true", help="only the full-decode comparison")
    p.add_argument("-v", "--verbose", action="store_true", help="one line per image")
    a = p.parse_args()
    files = sorted(glob.glob(os.path.join(a.dir, "*.jpg")) + glob.glob(os.path.join(a.dir, "images", "*.jpg")))
    if not files:
        print(f"transform_parity: no JPEG files in {a.dir}", file=sys.stderr)
        return 2
    try:
        import numpy  # noqa: F401
        import torchvision  # noqa: F401
        from PIL import Image  # noqa: F401
    except ImportError as e:
        print(f"transform_parity: skipped: {e} (apt-get install python3-torchvision python3-pil)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        try:
            ok = report("full decode", compare(a.bin, files, False, tmp), a.max_abs, a.mean_abs, 0.0, a.verbose)
            if not a.no_dct:
                rows = compare(a.bin, files, True, tmp)
                ok = report("--dct-scale", rows, a.dct_max_abs, a.dct_mean_abs, a.dct_min_corr, a.verbose) and ok
        except RuntimeError as e:
            print(f"transform_parity: {e}", file=sys.stderr)
            return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
