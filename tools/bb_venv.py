"""Running a script under the repository's .venv/ when it needs ONNX Runtime.

Debian has no onnxruntime package: scripts/install-deps.sh pip-installs it
into .venv/ (made with --system-site-packages, so Debian's torch and
torchvision are there too). Scripts that need it start with

    import bb_venv
    bb_venv.reexec_with_onnxruntime(needed, "pass --engines batchbench,pytorch")

which returns when onnxruntime imports here (or is not needed), re-runs the
calling script with the same arguments under .venv/bin/python when it is
installed there, and exits with a message otherwise. Standard library only.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv")


def reexec_with_onnxruntime(needed=True, alternative=""):
    """Re-runs the running script (sys.argv[0]) under .venv/bin/python when
    onnxruntime is needed and missing here but that interpreter exists; never
    re-runs from inside .venv itself (no loop). `alternative` is appended to
    the error message, e.g. a flag that avoids ONNX Runtime."""
    if not needed:
        return
    try:
        import onnxruntime  # noqa: F401
        return
    except ImportError:
        pass
    script = os.path.basename(sys.argv[0])
    venv_py = os.path.join(VENV, "bin", "python")
    if os.path.exists(venv_py) and os.path.realpath(sys.prefix) != os.path.realpath(VENV):
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(venv_py, [venv_py, os.path.abspath(sys.argv[0])] + sys.argv[1:])
    sys.exit(f"{script}: needs onnxruntime, which is not installed for {sys.executable}; run "
             "scripts/install-deps.sh (it installs it into .venv/)" + (f" or {alternative}" if alternative else ""))
