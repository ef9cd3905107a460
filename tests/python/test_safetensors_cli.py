#!/usr/bin/python3
"""The same resnet18 as .pth and as .safetensors gives the same outputs.

What it is: converts tests/fixtures/parity/resnet18_w8.pth to
.safetensors in a scratch directory (make_safetensors_fixtures.convert,
bit-identical weights; also a "module."-prefixed copy), puts the model's
description beside each, runs `gradcam explain --method gradcam` at layer4
and at layer3 on the committed parity input for every file, and requires
logits and raw CAMs to be identical to the .pth run (same weights, same
code path after loading: no tolerance). It also checks the .pth run against
PyTorch's expected logits so a shared breakage cannot pass unnoticed, and
that a hostile .safetensors fails with a one-line message and exit status
> 0.

What it deliberately does not do: check Grad-CAM itself against PyTorch
beyond that one sanity check (test_parity.py does).

Usage: test_safetensors_cli.py --gradcam PATH/TO/gradcam
Exit status 0 when every check passes, 1 otherwise.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PARITY = os.path.join(ROOT, "tests", "fixtures", "parity")
sys.path.insert(0, HERE)
import make_safetensors_fixtures as msf  # noqa: E402

INPUT = "x3_97x129.npy"


def explain(gradcam, model, layer, out):
    os.makedirs(out)
    argv = [gradcam, "explain", "--model", model, "--layer", layer, "--method", "gradcam",
            "--out", out, "--input-npy", os.path.join(PARITY, INPUT)]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    if p.returncode:
        raise RuntimeError("exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace").strip()))
    stem = os.path.splitext(INPUT)[0]
    return (np.load(os.path.join(out, stem + ".logits.npy")),
            np.load(os.path.join(out, stem + ".gradcam.cam.npy")))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gradcam", required=True)
    a = ap.parse_args()
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        print("%s %s" % ("ok  " if ok else "FAIL", what), flush=True)
        passed += bool(ok)
        failed += not ok

    with tempfile.TemporaryDirectory(prefix="gc-st-") as work:
        pth = os.path.join(PARITY, "resnet18_w8.pth")
        desc = os.path.join(PARITY, "resnet18_w8.json")
        models = {}
        for name, prefix in (("plain", ""), ("module", "module.")):
            d = os.path.join(work, name)
            os.makedirs(d)
            st = os.path.join(d, "resnet18_w8.safetensors")
            msf.convert(pth, st, prefix=prefix, metadata={"format": "pt"})
            shutil.copy(desc, os.path.join(d, "resnet18_w8.json"))
            models[name] = st
        ref_logits = np.load(os.path.join(PARITY, "expected", "resnet18_w8__x3_97x129__logits.npy"))
        for layer in ("layer4", "layer3"):
            try:
                lp, cp = explain(a.gradcam, pth, layer, os.path.join(work, "out_pth_" + layer))
            except Exception as e:
                check(False, ".pth at %s: %s" % (layer, e))
                continue
            scale = float(np.abs(ref_logits).max())
            err = float(np.abs(lp - ref_logits).max()) / scale
            check(err <= 1e-4, ".pth logits vs PyTorch at %s: rel %.2e" % (layer, err))
            for name, st in models.items():
                try:
                    ls, cs = explain(a.gradcam, st, layer, os.path.join(work, "out_%s_%s" % (name, layer)))
                except Exception as e:
                    check(False, ".safetensors (%s) at %s: %s" % (name, layer, e))
                    continue
                check(ls.dtype == lp.dtype and ls.shape == lp.shape and np.array_equal(ls, lp),
                      ".safetensors (%s) logits identical to .pth at %s" % (name, layer))
                check(cs.dtype == cp.dtype and cs.shape == cp.shape and np.array_equal(cs, cp)
                      and np.abs(cp).max() > 0,
                      ".safetensors (%s) cam identical to .pth at %s" % (name, layer))

        bad = os.path.join(ROOT, "tests", "fixtures", "safetensors", "overlap.safetensors")
        p = subprocess.run([a.gradcam, "explain", "--model", bad, "--input-npy",
                            os.path.join(PARITY, INPUT), "--out", os.path.join(work, "bad")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        msg = p.stderr.decode(errors="replace").strip()
        check(p.returncode > 0 and len(msg.splitlines()) == 1 and bad in msg and "overlap" in msg,
              "hostile .safetensors: exit %d, %r" % (p.returncode, msg))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
