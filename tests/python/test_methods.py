#!/usr/bin/python3
"""The CAM family of the gradcam CLI against PyTorch (issue 5's acceptance).

What it is: at test time it builds two seeded random-weight ResNets with
torchvision's module names (a narrow resnet18, widths 16-32-64-128, and a
narrow bottleneck resnet50, widths 8-16-16-32; 10 classes, randomised BN,
input-dependent classifier), saves their state_dicts, makes a batch of two
96x128 inputs, and for `layer4` and an inner layer (`layer3.0.bn2`, a
pre-addition BN output, and `layer2`), for each image's top-1 class and for
an explicit class, runs

  gradcam explain --model M.pth --input-npy X.npy --layer L [--class C]
                  --method <all methods> --out DIR

once, then compares every output with cam_oracle.py's implementation of the
method's definition: DIR/X.<method>.cam.npy ([N,h,w]), X.guidedbackprop.npy
and X.guidedgradcam.npy ([N,3,H,W]) and X.logits.npy. Measure:
max|ours-ref| / max|ref| <= 1e-3 (1e-4 for the logits); an image whose
reference map is all zero needs ours all zero within 1e-6. `random` is only
checked for shape, finiteness and non-negativity. A second call per case
with --counterfactual checks the gradient methods with negated gradients.

If the combined call fails, each method is run on its own so the others are
still measured; a method the binary does not know ('unknown method') counts
as FAILED, never skipped.

What it deliberately does not do: import anything from the C side, use the
sample photos, or look at figures/overlays. The conditioning of each case
is printed with --conditioning (every reference recomputed on a float64
copy of the model; slow).

Usage: test_methods.py --gradcam BIN [--fixtures DIR] [-k SUBSTR]
                       [--methods LIST] [--conditioning]
--fixtures DIR keeps the generated models, inputs and outputs in DIR
(default: a temporary directory). Exit status 0 when every check passes.
"""
import argparse
import copy
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cam_oracle as co  # noqa: E402
import oracle  # noqa: E402
from clitest import Tally  # noqa: E402

TOL = 1e-3
LOGIT_TOL = 1e-4
ZERO_ABS = 1e-6
TIMEOUT_S = 300
SIZE = (96, 128)
SEED = 505
MODELS = [  # name, depth, widths, layers
    ("r18", 18, (16, 32, 64, 128), ("layer4", "layer3.0.bn2")),
    ("r50", 50, (8, 16, 16, 32), ("layer4", "layer2")),
]
# With --onnx the same models go through torch.onnx.export (opset 13, BN
# folded into the convolutions, so a BN's own name has no node: the inner
# layer is a block's output instead).
MODELS_ONNX = [
    ("r18", 18, (16, 32, 64, 128), ("layer4", "layer3.0")),
    ("r50", 50, (8, 16, 16, 32), ("layer4", "layer2")),
]


def export_onnx(model, path):
    x = torch.zeros((1, 3) + SIZE)
    torch.onnx.export(model, x, path, opset_version=13, input_names=["input"],
                      output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
MAPS = list(co.MAP_METHODS)
GUIDED = ["guidedbackprop", "guidedgradcam"]
ALL = MAPS + ["random"] + GUIDED
COUNTERFACTUAL = list(co.GRAD_METHODS)


def run_cli(argv):
    """(exit code or None, stderr); a timeout is a failure, not a hang."""
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, "timed out after %d s" % TIMEOUT_S
    return p.returncode, p.stderr.decode("utf-8", "replace")


def last_line(err):
    return (err.strip().splitlines() or ["(no message)"])[-1]


def output_path(out, stem, method):
    if method in GUIDED:
        return os.path.join(out, "%s.%s.npy" % (stem, method))
    if method == "logits":
        return os.path.join(out, stem + ".logits.npy")
    return os.path.join(out, "%s.%s.cam.npy" % (stem, method))


def load(path, shape):
    """(array, None) or (None, why)."""
    if not os.path.exists(path):
        return None, "%s not written" % os.path.basename(path)
    try:
        a = np.load(path)
    except Exception as e:  # a malformed .npy is the CLI's failure
        return None, "cannot read %s: %s" % (os.path.basename(path), e)
    if a.dtype != np.float32:
        return None, "dtype %s, want float32" % a.dtype
    if a.shape != tuple(shape):
        return None, "shape %s, want %s" % (a.shape, tuple(shape))
    if not np.all(np.isfinite(a)):
        return None, "non-finite values"
    return a, None


def compare(path, ref, tol):
    """(ok, message)."""
    ref = np.asarray(ref, np.float64)
    ours, why = load(path, ref.shape)
    if ours is None:
        return False, why
    for i in range(ref.shape[0]):
        if not np.any(ref[i]):
            worst = float(np.abs(ours[i]).max())
            if worst > ZERO_ABS:
                return False, "image %d should be all zero, max %.3g" % (i, worst)
    if not np.any(ref):
        return True, "zero map, max %.1e" % float(np.abs(ours).max())
    e = oracle.rel_err(ours, ref)
    zero = " (image %s zero)" % ",".join(
        str(i) for i in range(ref.shape[0]) if not np.any(ref[i])) \
        if not all(np.any(r) for r in ref) else ""
    return e <= tol, "rel %.2e%s%s" % (e, zero, "" if e <= tol else " > %g" % tol)


def check_random(path, shape):
    ours, why = load(path, shape)
    if ours is None:
        return False, why
    if ours.min() < 0:
        return False, "negative values (min %.3g)" % ours.min()
    return True, "shape %s, min %.3g, max %.3g" % (ours.shape, ours.min(), ours.max())


def run_methods(gradcam, base, out, methods):
    """Run all methods in one call; if that fails, one call per method.
    Returns {method: None (ran) or error message}."""
    argv = base + ["--method", ",".join(methods), "--out", out]
    rc, err = run_cli(argv)
    if rc == 0:
        return {m: None for m in methods}
    status = {}
    for m in methods:
        rc, err = run_cli(base + ["--method", m, "--out", out])
        status[m] = None if rc == 0 else "exit %s: %s" % (rc, last_line(err))
    return status


def pick_explicit_class(model, x, layers, logits):
    """A class that is no image's top-1, preferably with a non-zero Grad-CAM
    map for every image at every tested layer (an all-zero map tests
    little), and then with a logit far from zero in every image
    (Ablation-CAM divides by it)."""
    z = logits.numpy().astype(np.float64)
    top = set(z.argmax(1).tolist())
    cand = [c for c in range(z.shape[1]) if c not in top]

    def live(c):
        return all(cam.reshape(len(cam), -1).max(1).min() > 0
                   for cam in (oracle.gradcam(model, x, L, c)[1] for L in layers))
    return max(cand, key=lambda c: (live(c), np.abs(z[:, c]).min()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gradcam", required=True, help="path to the gradcam binary")
    ap.add_argument("--fixtures", help="keep models, inputs and outputs here")
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    ap.add_argument("--methods", default=",".join(ALL),
                    help="comma-separated subset of the methods")
    ap.add_argument("--onnx", action="store_true",
                    help="run the CLI on ONNX exports of the same models")
    ap.add_argument("--conditioning", action="store_true",
                    help="also print float32-vs-float64 reference distances")
    a = ap.parse_args()
    if not (os.path.isfile(a.gradcam) and os.access(a.gradcam, os.X_OK)):
        print("FAIL: gradcam binary not found or not executable: %s" % a.gradcam)
        return 1
    methods = [m for m in a.methods.split(",") if m]
    unknown = [m for m in methods if m not in ALL]
    if unknown:
        print("FAIL: unknown method(s) for this test: %s" % ", ".join(unknown))
        return 1
    torch.set_num_threads(2)
    t0 = time.time()
    report = Tally(44)

    with tempfile.TemporaryDirectory(prefix="gc-methods-") as tmp:
        work = a.fixtures or tmp
        os.makedirs(work, exist_ok=True)
        for mi, (mname, depth, widths, layers) in enumerate(MODELS_ONNX if a.onnx else MODELS):
            if a.k and not any(a.k in "%s/%s" % (mname, L) for L in layers):
                continue
            model = co.make_model(depth, widths, 10, SEED + 10 * mi, SIZE)
            model64 = copy.deepcopy(model).double() if a.conditioning else None
            mpath = os.path.join(work, mname + (".onnx" if a.onnx else ".pth"))
            if a.onnx:
                export_onnx(model, mpath)
            else:
                torch.save(model.state_dict(), mpath)
            stem = "x_" + mname
            # The first of a few seeded batches whose two images have
            # different top-1 classes, so "each image's own class" is tested.
            for tries in range(20):
                x = oracle.random_inputs((2, 3) + SIZE, SEED + 100 * mi + tries)
                with torch.no_grad():
                    logits = model(torch.from_numpy(x))
                top = logits.argmax(1).tolist()
                if top[0] != top[1]:
                    break
            xpath = os.path.join(work, stem + ".npy")
            np.save(xpath, x)
            explicit = pick_explicit_class(model, x, layers, logits)
            print("# %s: top-1 classes %s, explicit class %d" % (mname, top, explicit))
            for layer in layers:
                cache, cache64 = {}, {}
                for tag, cls in (("top1", None), ("c%d" % explicit, explicit)):
                    case = "%s/%s/%s" % (mname, layer, tag)
                    if a.k not in case:
                        continue
                    t = time.time()
                    ref = co.all_methods(model, x, layer, cls, cache=cache,
                                         methods=[m for m in MAPS if m in methods])
                    t_ref = time.time() - t
                    base = [a.gradcam, "explain", "--model", mpath,
                            "--input-npy", xpath, "--layer", layer]
                    if cls is not None:
                        base += ["--class", str(cls)]
                    out = os.path.join(work, "out-%s-%s-%s" % (mname, layer, tag))
                    t = time.time()
                    status = run_methods(a.gradcam, base, out, methods)
                    print("# %s: reference %.1f s, CLI %.1f s" % (
                        case, t_ref, time.time() - t), flush=True)
                    ok, msg = compare(output_path(out, stem, "logits"),
                                      ref["logits"], LOGIT_TOL)
                    if any(s is None for s in status.values()):
                        report(ok, case + " logits", msg)
                    ref64 = None
                    if a.conditioning:
                        ref64 = co.all_methods(
                            model64, torch.from_numpy(x).double(), layer, cls,
                            cache=cache64,
                            methods=[m for m in MAPS if m in methods])
                    for m in methods:
                        name = "%s %s" % (case, m)
                        if status[m] is not None:
                            if ref64 is not None and m in ref64:
                                status[m] += "  [f32 vs f64 ref %.1e]" % \
                                    oracle.rel_err(ref[m].numpy(), ref64[m].numpy())
                            report(False, name, status[m])
                            continue
                        path = output_path(out, stem, m)
                        if m == "random":
                            A = co.capture(model, x, layer, cls)["A"]
                            ok, msg = check_random(path, (A.shape[0],) +
                                                   tuple(A.shape[2:]))
                        else:
                            ok, msg = compare(path, ref[m].numpy(), TOL)
                            if ref64 is not None:
                                msg += "  [f32 vs f64 ref %.1e]" % oracle.rel_err(
                                    ref[m].numpy(), ref64[m].numpy())
                        report(ok, name, msg)
                    cf = [m for m in COUNTERFACTUAL if m in methods]
                    if not cf:
                        continue
                    ref = co.all_methods(model, x, layer, cls, counterfactual=True,
                                         methods=cf, guided=False)
                    outc = out + "-cf"
                    status = run_methods(a.gradcam, base + ["--counterfactual"],
                                         outc, cf)
                    for m in cf:
                        name = "%s %s --counterfactual" % (case, m)
                        if status[m] is not None:
                            report(False, name, status[m])
                            continue
                        ok, msg = compare(output_path(outc, stem, m),
                                          ref[m].numpy(), TOL)
                        report(ok, name, msg)
    return report.done(time.time() - t0)


if __name__ == "__main__":
    sys.exit(main())
