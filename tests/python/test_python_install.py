#!/usr/bin/python3
"""test_python_install.py — the Python package's installation, as a user
does it, offline: a venv made with --system-site-packages (Debian's NumPy,
setuptools and PyTorch stay visible), then `pip install
--no-build-isolation --no-index` of the repository's root. setup.py takes
libgradcam.so and the CLI from this build folder ($GRADCAM_BUILD_DIR)
instead of building them again. CTest's python_package and
python_from_torch tests run in that venv (this test is their fixture).

Usage: test_python_install.py --venv DIR --source SOURCE_DIR --build BUILD_DIR
"""
import argparse
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import check, finish  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--venv", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--build", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.venv, ignore_errors=True)
    p = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", a.venv],
                       capture_output=True, text=True)
    check(p.returncode == 0, "python3 -m venv --system-site-packages", p.stderr[-1000:])
    py = os.path.join(a.venv, "bin", "python")
    env = dict(os.environ, GRADCAM_BUILD_DIR=os.path.abspath(a.build), PIP_NO_INPUT="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    p = subprocess.run([py, "-m", "pip", "install", "--no-build-isolation", "--no-index",
                        a.source], capture_output=True, text=True, env=env)
    check(p.returncode == 0, "pip install --no-build-isolation --no-index .",
          (p.stdout + p.stderr)[-3000:] if p.returncode else "")
    probe = ("import gradcam, os, sys; print(gradcam.version()); "
             "print(os.path.dirname(gradcam.__file__)); print(sys.prefix)")
    p = subprocess.run([py, "-c", probe], capture_output=True, text=True, cwd=a.venv)
    lines = p.stdout.split()
    check(p.returncode == 0 and len(lines) == 3 and lines[1].startswith(lines[2]),
          "import gradcam in the venv", (p.stdout + p.stderr).strip()[-1000:])
    return finish()


if __name__ == "__main__":
    sys.exit(main())
