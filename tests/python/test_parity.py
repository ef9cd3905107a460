#!/usr/bin/python3
"""Parity of the gradcam CLI with PyTorch on the committed fixtures.

What it is: for every case in tests/fixtures/parity/manifest.json it runs
`gradcam explain` on the case's model and input (.npy batch or JPEG), reads
the raw CAM and logits the CLI wrote, and compares them with the arrays
PyTorch produced (make_parity_fixtures.py): relative error
max|ours-ref| / max|ref| within the case's tolerance (1e-4; 1e-3 for the
JPEG, whose pixels go through our decoder and resize). An all-zero
reference map needs an all-zero map within 1e-6 absolute. It also checks
that bad requests fail: an unknown layer, a class out of range, and a
module that runs twice.

What it deliberately does not do: import torch (the expected arrays are
committed), or look at the PNG/JSON outputs (other tests own those).

Usage: test_parity.py --gradcam PATH/TO/gradcam --fixtures DIR [-k SUBSTR]
Exit status 0 when every case passes, 1 otherwise.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

TIMEOUT_S = 120
ZERO_ABS = 1e-6


def rel_err(ours, ref):
    ours = np.asarray(ours, np.float64)
    ref = np.asarray(ref, np.float64)
    scale = np.abs(ref).max() if ref.size else 0.0
    diff = np.abs(ours - ref).max() if ref.size else 0.0
    return float(diff / scale) if scale > 0 else float(diff)


def run_cli(argv):
    """(exit code, stderr text); a timeout or crash is a failure, not a hang."""
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, "timed out after %d s" % TIMEOUT_S
    return p.returncode, p.stderr.decode("utf-8", "replace")


def compare(what, ours_path, ref, tol, zero_ok_abs=None):
    """Returns (ok, error or None, message)."""
    if not os.path.exists(ours_path):
        return False, None, "%s: %s not written" % (what, os.path.basename(ours_path))
    try:
        ours = np.load(ours_path)
    except Exception as e:  # a malformed .npy is a failure of the CLI
        return False, None, "%s: cannot read %s: %s" % (what, ours_path, e)
    if ours.dtype != np.float32:
        return False, None, "%s: dtype %s, want float32" % (what, ours.dtype)
    if ours.shape != ref.shape:
        return False, None, "%s: shape %s, want %s" % (what, ours.shape, ref.shape)
    if not np.all(np.isfinite(ours)):
        return False, None, "%s: non-finite values" % what
    if zero_ok_abs is not None:
        # Per image: a map that PyTorch says is all zero must be all zero.
        for i in range(ref.shape[0]):
            if not np.any(ref[i]) and np.abs(ours[i]).max() > zero_ok_abs:
                return False, float(np.abs(ours[i]).max()), \
                    "%s: image %d should be all zero, max %.3g" % (
                        what, i, np.abs(ours[i]).max())
        if not np.any(ref):
            return True, float(np.abs(ours).max()), ""
    e = rel_err(ours, ref)
    return e <= tol, e, "" if e <= tol else "%s: rel error %.3g > %g" % (what, e, tol)


def run_case(gradcam, fx, case, workdir):
    out = os.path.join(workdir, "out")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    argv = [gradcam, "explain", "--model", os.path.join(fx, case["model"]),
            "--layer", case["layer"], "--method", "gradcam", "--out", out]
    if case.get("class_arg") is not None:
        argv += ["--class", case["class_arg"]]
    if "input" in case:
        argv += ["--input-npy", os.path.join(fx, case["input"])]
        stem = os.path.splitext(case["input"])[0]
    else:
        argv += [os.path.join(fx, case["image"])]
        stem = os.path.splitext(case["image"])[0]
    rc, err = run_cli(argv)
    if rc != 0:
        last = (err.strip().splitlines() or ["(no message)"])[-1]
        return False, "exit %s: %s" % (rc, last)
    ref_logits = np.load(os.path.join(fx, case["expected_logits"]))
    ref_cam = np.load(os.path.join(fx, case["expected_cam"]))
    ok1, e1, m1 = compare("logits", os.path.join(out, stem + ".logits.npy"),
                          ref_logits, case["tol"])
    ok2, e2, m2 = compare("cam", os.path.join(out, stem + ".gradcam.cam.npy"),
                          ref_cam, case["tol"], ZERO_ABS)
    fmt = lambda e: "-" if e is None else "%.2e" % e
    zero = " (zero map)" if not np.all(ref_cam.reshape(len(ref_cam), -1).any(1)) else ""
    msg = "logits %s  cam %s%s" % (fmt(e1), fmt(e2), zero)
    problems = "; ".join(m for m in (m1, m2) if m)
    return ok1 and ok2, msg + ("  <- " + problems if problems else "")


def error_checks(gradcam, fx, manifest, workdir):
    """Requests that must fail with a non-zero exit and a useful message."""
    case = next(c for c in manifest["cases"] if "input" in c)
    model = os.path.join(fx, case["model"])
    x = os.path.join(fx, case["input"])
    out = os.path.join(workdir, "err")
    base = [gradcam, "explain", "--model", model, "--input-npy", x,
            "--method", "gradcam", "--out", out]
    n = manifest["num_classes"]
    checks = [
        ("unknown layer", ["--layer", "layer9.7.conv5"], "layer9.7.conv5"),
        ("class = num_classes", ["--layer", "layer4", "--class", str(n)], None),
        ("class far out of range", ["--layer", "layer4", "--class", "100000"], None),
        ("negative class", ["--layer", "layer4", "--class", "-1"], None),
        ("unknown class name", ["--layer", "layer4", "--class", "no such class"], None),
        ("module that runs twice", ["--layer", "layer1.0.relu"], "layer1.0.relu"),
    ]
    results = []
    for what, extra, needle in checks:
        rc, err = run_cli(base + extra)
        ok = rc is not None and rc != 0 and rc > 0  # > 0: no signal/crash
        msg = "exit %s" % rc
        if ok and not err.strip():
            ok, msg = False, msg + ", nothing on stderr"
        if ok and needle and needle not in err:
            ok, msg = False, msg + ", message does not name %r: %r" % (needle, err.strip())
        results.append((ok, "error: %s -> %s" % (what, msg)))
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gradcam", required=True, help="path to the gradcam binary")
    ap.add_argument("--fixtures", required=True, help="tests/fixtures/parity")
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    a = ap.parse_args()
    if not (os.path.isfile(a.gradcam) and os.access(a.gradcam, os.X_OK)):
        print("FAIL: gradcam binary not found or not executable: %s" % a.gradcam)
        return 1
    mpath = os.path.join(a.fixtures, "manifest.json")
    try:
        with open(mpath) as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        print("FAIL: cannot read %s: %s" % (mpath, e))
        return 1
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="gc-parity-") as work:
        for case in manifest["cases"]:
            if a.k not in case["name"]:
                continue
            ok, msg = run_case(a.gradcam, a.fixtures, case, work)
            print("%s %-58s %s" % ("ok  " if ok else "FAIL", case["name"], msg),
                  flush=True)
            passed += ok
            failed += not ok
        if not a.k:
            for ok, msg in error_checks(a.gradcam, a.fixtures, manifest, work):
                print("%s %s" % ("ok  " if ok else "FAIL", msg), flush=True)
                passed += ok
                failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
