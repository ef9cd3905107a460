#!/usr/bin/python3
"""The CPU kernel tiers (src/ops/cpu.h) from the CLI.

What it is: for the parity fixtures' .npy inputs (each model, layer4, top
class) it runs `gradcam explain`
with GC_CPU unset (the best tier) and again forced to every tier this
machine has (--tiers, from the configure step), and requires the same
Grad-CAM maps and logits within 1e-4 relative (max|a-b| / max|b|); that
`gradcam --version` names the tier it runs; and that a GC_CPU naming no
tier, or a tier the machine lacks, stops the CLI with a non-zero exit and
a message saying so.

What it deliberately does not do: compare with PyTorch (test_parity.py does,
under each tier), or time anything.

Usage: test_cpu_tiers.py --gradcam PATH --fixtures DIR --tiers T [T ...]
Exit status 0 when every check passes, 1 otherwise.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ALL_TIERS = ["portable", "avx2", "avx512"]
TOL = 1e-4
TIMEOUT_S = 300


def run(argv, tier):
    env = dict(os.environ)
    env.pop("GC_CPU", None)
    if tier is not None:
        env["GC_CPU"] = tier
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       timeout=TIMEOUT_S)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def explain(gradcam, fx, case, tier, out):
    argv = [gradcam, "explain", "--model", os.path.join(fx, case["model"]),
            "--layer", case["layer"], "--method", "gradcam", "--out", out,
            "--input-npy", os.path.join(fx, case["input"])]
    if case.get("class_arg") is not None:
        argv += ["--class", case["class_arg"]]
    rc, _, err = run(argv, tier)
    if rc != 0:
        raise RuntimeError("GC_CPU=%s: exit %d: %s" % (tier, rc, err.strip()))
    stem = os.path.splitext(case["input"])[0]
    return (np.load(os.path.join(out, stem + ".gradcam.cam.npy")),
            np.load(os.path.join(out, stem + ".logits.npy")))


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = np.abs(b).max()
    diff = np.abs(a - b).max()
    return diff / scale if scale > 0 else diff


def same_maps(gradcam, fx, tiers, work):
    """(ok, message) per case and tier: forced tier against the default."""
    manifest = json.load(open(os.path.join(fx, "manifest.json")))
    # One request per model and input: layer4, the top class (every layer
    # runs for it; the parity tests cover the other layers).
    cases = [c for c in manifest["cases"]
             if "input" in c and c["layer"] == "layer4" and c.get("class_arg") is None]
    results = []
    for i, case in enumerate(cases):
        ref = explain(gradcam, fx, case, None, os.path.join(work, "%d_default" % i))
        if not np.any(ref[0]):
            results.append((True, "%s: (zero map)" % case["name"]))
        for tier in tiers:
            cam, logits = explain(gradcam, fx, case, tier, os.path.join(work, "%d_%s" % (i, tier)))
            e_cam, e_log = rel_err(cam, ref[0]), rel_err(logits, ref[1])
            ok = cam.shape == ref[0].shape and e_cam <= TOL and e_log <= TOL
            results.append((ok, "%s GC_CPU=%s: cam %.2e, logits %.2e" % (
                case["name"], tier, e_cam, e_log)))
    return results, cases[0]


def version_names(gradcam, tiers):
    results = []
    for tier in tiers:
        rc, out, _ = run([gradcam, "--version"], tier)
        ok = rc == 0 and ("CPU kernels: %s)" % tier) in out
        results.append((ok, "--version under GC_CPU=%s: %r" % (tier, out.strip())))
    return results


def bad_values(gradcam, fx, case, tiers, work):
    """An unknown name and each tier this machine lacks must fail clearly."""
    argv = [gradcam, "explain", "--model", os.path.join(fx, case["model"]),
            "--layer", case["layer"], "--out", os.path.join(work, "bad"),
            "--input-npy", os.path.join(fx, case["input"])]
    wanted = [("bogus", "GC_CPU=bogus: unknown tier"), ("AVX2", "GC_CPU=AVX2: unknown tier")]
    wanted += [(t, "GC_CPU=%s: this CPU cannot run" % t) for t in ALL_TIERS if t not in tiers]
    results = []
    for value, needle in wanted:
        rc, _, err = run(argv, value)
        ok = rc is not None and rc > 0 and needle in err
        results.append((ok, "GC_CPU=%s -> exit %s, %r" % (value, rc, err.strip())))
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradcam", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--tiers", nargs="+", required=True)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        results, case = same_maps(a.gradcam, a.fixtures, a.tiers, work)
        results += version_names(a.gradcam, a.tiers)
        results += bad_values(a.gradcam, a.fixtures, case, a.tiers, work)
    for ok, msg in results:
        print("%s  %s" % ("ok  " if ok else "FAIL", msg))
    failed = sum(1 for ok, _ in results if not ok)
    print("%d checks, %d failed" % (len(results), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
