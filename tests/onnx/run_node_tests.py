#!/usr/bin/python3
"""ONNX's own conformance cases, run through `batchbench infer`.

Why this file exists: the import tests elsewhere check whole exported
models (run_onnx_parity.py) and hand-built graphs (make_bad_models.py); the
ONNX project ships, in its source distribution, one small model per op and
attribute combination with inputs and the outputs the specification gives
(onnx/backend/test/data/node: 1168 cases in onnx 1.14.1, opsets up to 19).
scripts/install-deps.sh downloads that sdist from PyPI (sha256-pinned) and
keeps the folder in .venv/onnx-node-tests-1.14.1/node; this script runs
every case batchbench can be handed, as follows.

- The case's first input is the one batchbench feeds (float32, rank >= 1);
  its other inputs become initializers holding their test values; its first
  output is compared. Cases whose first input or output is not float32, or
  that lack test data, are counted as "not applicable" and not run.
- "as is": the model runs at the input's own shape, its first axis taken as
  the batch (batchbench's contract for an imported model).
- "lifted": where every node is elementwise (ELEMENTWISE below) and the case
  is refused as is (an initializer shaped by the test's first axis, a 1-D
  input), the input gets a leading batch axis of 1, and so does the
  expected output: broadcasting against the initializers is unchanged.

Each run must end one of two ways: exit 0 with an output of the expected
shape within 1e-4 * max(1, max|expected|) (non-finite values where the
expected ones are), or exit 1 with a message that names the model file
(refused: an op, attribute or batch layout batchbench does not run). A crash,
any other exit code, a wrong value or shape, or a message that does not name
the file fails the suite.

tests/onnx/node_tests_pass.txt lists the cases that pass ("NAME as-is" or
"NAME lifted"). The suite also fails when a listed case no longer passes, or
a case passes that is not listed: the list is what batchbench is known to
run, kept exact (`--update` rewrites it after a change that adds support).

    run_node_tests.py --bin build/batchbench [--data DIR] [--jobs 2] [--only SUBSTR] [--update]
    run_node_tests.py --write DIR [--data DIR]

--write DIR writes the listed cases as scripts/gpu-ops.sh takes them, to
run on another device where python3-onnx may be missing: node_NAME.onnx
(the other inputs made initializers, lifted where listed so), its input
node_NAME.in.npy and the expected output node_NAME.ref.npy. The folder may
be the one tests/onnx/make_bad_models.py writes its op cases into.
"""
import argparse
import concurrent.futures
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, ".venv", "onnx-node-tests-1.14.1", "node")
PASS_LIST = os.path.join(HERE, "node_tests_pass.txt")
ELEMENTWISE = {
    "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mod", "PRelu", "Where", "Sum", "Mean", "Clip", "Relu",
    "Sigmoid", "Tanh", "Erf", "Sqrt", "Exp", "Log", "Abs", "Neg", "Reciprocal", "Elu", "Selu", "Celu",
    "LeakyRelu", "HardSigmoid", "HardSwish", "Softplus", "Softsign", "ThresholdedRelu", "Mish", "Gelu",
    "Identity", "Dropout", "Cast", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Equal", "Greater", "Less",
    "GreaterOrEqual", "LessOrEqual", "Not", "And", "Or", "Xor", "Shrink", "Constant", "IsNaN", "IsInf",
}


def tensor(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def load_case(case_dir):
    """(model, inputs, expected) with the other inputs made initializers,
    or None when the case does not fit batchbench's single float input."""
    m = onnx.load(os.path.join(case_dir, "model.onnx"))
    inits = {i.name for i in m.graph.initializer}
    ins = [i for i in m.graph.input if i.name not in inits]
    data = os.path.join(case_dir, "test_data_set_0")
    if not ins or not os.path.isfile(os.path.join(data, "output_0.pb")):
        return None
    try:
        xs = [tensor(os.path.join(data, f"input_{i}.pb")) for i in range(len(ins))]
        y = tensor(os.path.join(data, "output_0.pb"))
    except (OSError, KeyError, ValueError, TypeError):
        return None  # an optional input left out, a sequence or an element type numpy lacks
    if xs[0].dtype != np.float32 or y.dtype != np.float32 or xs[0].ndim == 0:
        return None
    for vi, x in zip(ins[1:], xs[1:]):
        m.graph.initializer.append(numpy_helper.from_array(x, vi.name))
        m.graph.input.remove(vi)
    while len(m.graph.output) > 1:
        m.graph.output.pop()
    return m, ins[0].name, xs[0], y


def lift(m, name, x, y):
    """The case with a leading batch axis of 1 on its input and output."""
    m2 = onnx.ModelProto()
    m2.CopyFrom(m)
    vi = next(i for i in m2.graph.input if i.name == name)
    vi.type.tensor_type.shape.dim.insert(0, onnx.TensorShapeProto.Dimension(dim_param="N"))
    for o in m2.graph.output:
        o.type.tensor_type.ClearField("shape")
    return m2, x[None], y[None]


def run_once(binary, tmp, tag, m, x, y):
    """'pass', 'refused' or ('fail', why)."""
    model, xin, yout = (os.path.join(tmp, f"{tag}.{s}") for s in ("onnx", "x.npy", "y.npy"))
    onnx.save(m, model)
    np.save(xin, x)
    p = subprocess.run([binary, "infer", "--model", model, "--input", xin, "--output", yout, "--threads", "1",
                        "--device", "cpu"], capture_output=True, text=True, timeout=300)
    if p.returncode == 1:
        return "refused" if model in p.stderr else ("fail", f"refused without naming the file: {p.stderr.strip()}")
    if p.returncode != 0:
        return ("fail", f"exit {p.returncode}: {p.stderr.strip()[-300:]}")
    got = np.load(yout)
    if got.shape != y.shape:
        return ("fail", f"output shape {list(got.shape)}, expected {list(y.shape)}")
    fin = np.isfinite(y)
    if not np.array_equal(np.isfinite(got), fin):
        return ("fail", "non-finite values where the expected output has none (or the other way)")
    err = float(np.max(np.abs(got[fin].astype(np.float64) - y[fin]))) if fin.any() else 0.0
    tol = 1e-4 * max(1.0, float(np.max(np.abs(y[fin]))) if fin.any() else 1.0)
    return "pass" if err <= tol else ("fail", f"max |ours - expected| {err:.3g} > {tol:.3g}")


def run_case(binary, data, name):
    """(name, 'as-is' | 'lifted' | 'refused' | 'n/a' | ('fail', why))."""
    case = load_case(os.path.join(data, name))
    if case is None:
        return name, "n/a"
    m, inp, x, y = case
    with tempfile.TemporaryDirectory(prefix="bb_node_") as tmp:
        r = run_once(binary, tmp, name, m, x, y)
        if r == "pass":
            return name, "as-is"
        if r == "refused" and all(n.op_type in ELEMENTWISE for n in m.graph.node) and x.ndim < 7:
            r = run_once(binary, tmp, name + "_lifted", *lift(m, inp, x, y))
            if r == "pass":
                return name, "lifted"
    return name, r


def listed_cases():
    """[(name, 'as-is' | 'lifted')] from node_tests_pass.txt."""
    with open(PASS_LIST) as f:
        return [tuple(line.split()) for line in f if line.strip()]


def write_cases(data, out):
    """The listed cases as gpu-ops.sh runs them (see --write); returns how many."""
    os.makedirs(out, exist_ok=True)
    for name, kind in listed_cases():
        case = load_case(os.path.join(data, name))
        if case is None:
            sys.exit(f"run_node_tests: {name}: listed in node_tests_pass.txt but not loadable from {data}")
        m, inp, x, y = case
        if kind == "lifted":
            m, x, y = lift(m, inp, x, y)
        base = os.path.join(out, f"node_{name[len('test_'):]}")
        onnx.save(m, base + ".onnx")
        np.save(base + ".in.npy", x)
        np.save(base + ".ref.npy", y)
    return len(listed_cases())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin")
    ap.add_argument("--write", metavar="DIR", help="write the listed cases for scripts/gpu-ops.sh, run nothing")
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", default="", help="run the cases whose name contains this (no list check)")
    ap.add_argument("--update", action="store_true",
                    help=f"rewrite {os.path.relpath(PASS_LIST, ROOT)} (with --only: the cases it ran)")
    a = ap.parse_args()
    if not os.path.isdir(a.data):
        sys.exit(f"run_node_tests: {a.data}: no ONNX node test cases (scripts/install-deps.sh downloads them)")
    if a.write:
        print(f"run_node_tests: wrote {write_cases(a.data, a.write)} cases to {a.write}")
        return 0
    if not a.bin:
        ap.error("--bin is required (or --write DIR)")
    names = sorted(n for n in os.listdir(a.data) if a.only in n)
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        results = dict(ex.map(lambda n: run_case(a.bin, a.data, n), names))
    fails = {n: r[1] for n, r in results.items() if isinstance(r, tuple)}
    passed = {f"{n} {r}" for n, r in results.items() if r in ("as-is", "lifted")}
    counts = {k: sum(1 for r in results.values() if r == k) for k in ("as-is", "lifted", "refused", "n/a")}
    for n, why in sorted(fails.items()):
        print(f"FAIL {n}: {why}")
    if a.update:  # with --only, the cases it did not run stay listed as they were
        kept = {f"{n} {k}" for n, k in listed_cases() if n not in results}
        with open(PASS_LIST, "w") as f:
            f.write("".join(f"{p}\n" for p in sorted(passed | kept)))
        print(f"run_node_tests: wrote {len(passed | kept)} cases to {PASS_LIST}")
    elif not a.only:
        listed = {f"{n} {k}" for n, k in listed_cases()}
        for p in sorted(listed - passed):
            print(f"FAIL {p}: listed in node_tests_pass.txt, did not pass ({results.get(p.split()[0], 'missing')})")
        for p in sorted(passed - listed):
            print(f"FAIL {p}: passes but is not in node_tests_pass.txt (run with --update)")
        fails.update({p: "list" for p in listed ^ passed})
    print(f"run_node_tests: {len(names)} cases: {counts['as-is']} passed as is, {counts['lifted']} lifted, "
          f"{counts['refused']} refused with a message naming the file, {counts['n/a']} not applicable, "
          f"{len(fails)} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
