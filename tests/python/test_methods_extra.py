#!/usr/bin/python3
"""The rest of the CAM family of the gradcam CLI against PyTorch (issue 5):
cam, fem, fullgrad, several layers, --eigen-smooth, --aug-smooth, --top-k
and repeated --class.

What it is: with test_methods.py's seeded random-weight models (a narrow
resnet18, widths 16-32-64-128, and a narrow bottleneck resnet50, widths
8-16-16-32; 10 classes) and its batch of two 96x128 inputs whose top-1
classes differ, each case runs

  gradcam explain --model M.pth --input-npy X.npy --layer L [--layer L2 ...]
                  --method LIST [--class C ...] [--top-k K] [--eigen-smooth]
                  [--aug-smooth] --out DIR

once and compares each written map with cam_oracle_extra.py's
implementation of the definition: X.<method>.cam.npy ([N,h,w] at one
layer; [N,H,W] for fullgrad and for several layers), X.logits.npy, and
with several targets X.top<r>.<method>.cam.npy / X.c<C>.<method>.cam.npy
and X.top<r>.logits.npy / X.c<C>.logits.npy. Measure: max|ours-ref| /
max|ref| <= 1e-3 (1e-4 for the logits); an image whose reference map is all
zero needs ours all zero within 1e-6. `cam` at a layer other than the one
feeding global average pooling must exit 2 naming 'layer4'.

What it deliberately does not do: the methods without a modifier that
test_methods.py covers, counterfactual fullgrad or guided methods, figures,
the sample photos, or anything from the C side.

Usage: test_methods_extra.py --gradcam BIN [--fixtures DIR] [-k SUBSTR]
Exit status 0 when every check passes.
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cam_oracle as co  # noqa: E402
import cam_oracle_extra as cx  # noqa: E402
import oracle  # noqa: E402
import test_methods as tm  # noqa: E402
from clitest import Tally  # noqa: E402

R18, R50 = 0, 1
EXPLICIT = 4          # --class for the single-target cases
TARGET_CLASSES = (2, 5)
TOP_K = 3


def case_list():
    """(name, model index, layers, methods, options, reference kind)."""
    L4, L3b, L3, L2 = "layer4", "layer3.0.bn2", "layer3", "layer2"
    return [
        ("r18/layer4/top1 cam,fem,fullgrad", R18, [L4], ["cam", "fem", "fullgrad"], [], "plain"),
        ("r18/layer4/c%d cam,fullgrad" % EXPLICIT, R18, [L4], ["cam", "fullgrad"],
         ["--class", str(EXPLICIT)], "plain"),
        ("r18/%s/top1 fem" % L3b, R18, [L3b], ["fem"], [], "plain"),
        ("r50/layer4/top1 cam,fem,fullgrad", R50, [L4], ["cam", "fem", "fullgrad"], [], "plain"),
        ("r50/%s/top1 fem" % L2, R50, [L2], ["fem"], [], "plain"),
        ("r18/%s+%s gradcam,hirescam,fem" % (L4, L3), R18, [L4, L3],
         ["gradcam", "hirescam", "fem"], [], "plain"),
        # Score-CAM runs a forward pass per channel: the narrower layers.
        ("r18/%s+%s scorecam,gradcam" % (L3, L2), R18, [L3, L2],
         ["scorecam", "gradcam"], [], "plain"),
        ("r18/%s+%s+%s gradcam,hirescam" % (L4, L3, L2), R18, [L4, L3, L2],
         ["gradcam", "hirescam"], [], "plain"),
        ("r18/%s+%s/c%d gradcam" % (L3b, L2, EXPLICIT), R18, [L3b, L2], ["gradcam"],
         ["--class", str(EXPLICIT)], "plain"),
        ("r50/%s+%s gradcam,hirescam" % (L4, L2), R50, [L4, L2],
         ["gradcam", "hirescam"], [], "plain"),
        ("r18/layer4 --eigen-smooth", R18, [L4],
         ["gradcam", "hirescam", "layercam", "xgradcam", "gradcam++",
          "gradcamelementwise", "fem", "cam", "eigencam"], ["--eigen-smooth"], "eigen"),
        ("r18/%s --eigen-smooth" % L3b, R18, [L3b],
         ["gradcam", "hirescam", "layercam", "gradcamelementwise"], ["--eigen-smooth"], "eigen"),
        ("r50/%s --eigen-smooth" % L2, R50, [L2],
         ["gradcam", "hirescam", "layercam"], ["--eigen-smooth"], "eigen"),
        ("r18/layer4 --aug-smooth", R18, [L4], ["gradcam", "hirescam"], ["--aug-smooth"], "aug"),
        ("r18/%s/c%d --aug-smooth" % (L3b, EXPLICIT), R18, [L3b], ["gradcam", "hirescam"],
         ["--aug-smooth", "--class", str(EXPLICIT)], "aug"),
        ("r50/layer4 --aug-smooth", R50, [L4], ["gradcam", "hirescam"], ["--aug-smooth"], "aug"),
        ("r18/%s+%s --aug-smooth" % (L4, L3), R18, [L4, L3], ["gradcam"], ["--aug-smooth"], "aug"),
        ("r18/layer4 --top-k %d" % TOP_K, R18, [L4], ["gradcam", "hirescam", "fem"],
         ["--top-k", str(TOP_K)], "topk"),
        ("r50/%s --top-k %d" % (L2, TOP_K), R50, [L2], ["gradcam"], ["--top-k", str(TOP_K)], "topk"),
        ("r18/layer4 --class %d --class %d" % TARGET_CLASSES, R18, [L4],
         ["gradcam", "layercam", "cam"],
         ["--class", str(TARGET_CLASSES[0]), "--class", str(TARGET_CLASSES[1])], "classes"),
    ]


def targets(kind, opts, logits):
    """[(file stem suffix, cls, rank)] for the case."""
    if kind == "topk":
        return [(".top%d" % (r + 1), None, r) for r in range(TOP_K)]
    if kind == "classes":
        return [(".c%d" % c, c, 0) for c in TARGET_CLASSES]
    cls = int(opts[opts.index("--class") + 1]) if "--class" in opts else None
    return [("", cls, 0)]


def reference(model, x, layers, methods, kind, cls, rank):
    """{method: float64 map} plus 'logits' and 'classes'."""
    maps = [m for m in methods if m != "fullgrad"]
    if kind == "aug":
        ref = cx.aug_smooth(model, x, layers, maps, cls, rank)
    else:
        ref = cx.explain(model, x, layers, maps, cls, rank, eigen=kind == "eigen")
    if "fullgrad" in methods:
        ref["fullgrad"], _ = cx.fullgrad(model, x, classes=ref["classes"])
    return ref


def eigen_gap(model, x, layer, method, cls, rank):
    """Smallest s2/s1 over the images of the centred contributions: how
    well the first principal direction is defined (1 = not at all)."""
    logits, classes, ag = cx.capture(model, x, [layer], cls, rank)
    A, G = ag[layer]
    P = cx.contributions(method, model, torch.from_numpy(x), layer, A, G, logits,
                         classes).numpy()
    worst = 0.0
    for p in P:
        M = p.reshape(p.shape[0], -1).T
        s = np.linalg.svd(M - M.mean(0), compute_uv=False)
        worst = max(worst, s[1] / s[0] if s[0] > 0 else 1.0)
    return worst


def make_inputs(model, mi):
    """test_methods.py's batch: the first seeded pair with different top-1s."""
    for tries in range(20):
        x = oracle.random_inputs((2, 3) + tm.SIZE, tm.SEED + 100 * mi + tries)
        with torch.no_grad():
            logits = model(torch.from_numpy(x))
        top = logits.argmax(1).tolist()
        if top[0] != top[1]:
            break
    return x, logits


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gradcam", required=True, help="path to the gradcam binary")
    ap.add_argument("--fixtures", help="keep models, inputs and outputs here")
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    a = ap.parse_args()
    if not (os.path.isfile(a.gradcam) and os.access(a.gradcam, os.X_OK)):
        print("FAIL: gradcam binary not found or not executable: %s" % a.gradcam)
        return 1
    torch.set_num_threads(2)
    t0 = time.time()
    report = Tally(52)

    with tempfile.TemporaryDirectory(prefix="gc-methods-extra-") as tmp:
        work = a.fixtures or tmp
        os.makedirs(work, exist_ok=True)
        models = []
        for mi, (mname, depth, widths, _) in enumerate(tm.MODELS):
            model = co.make_model(depth, widths, 10, tm.SEED + 10 * mi, tm.SIZE)
            mpath = os.path.join(work, mname + ".pth")
            torch.save(model.state_dict(), mpath)
            x, logits = make_inputs(model, mi)
            xpath = os.path.join(work, "x_%s.npy" % mname)
            np.save(xpath, x)
            order = np.argsort(-logits.numpy(), 1, kind="stable")[:, :TOP_K]
            print("# %s: classes by rank per image %s" % (mname, order.tolist()))
            models.append((mname, model, mpath, x, xpath))

        # cam is refused away from the layer feeding global average pooling.
        for mi, layer in ((R18, "layer3"), (R18, "layer4.1.bn2"), (R50, "layer2")):
            mname, _, mpath, _, xpath = models[mi]
            name = "%s/%s cam refused" % (mname, layer)
            if a.k not in name:
                continue
            rc, err = tm.run_cli([a.gradcam, "explain", "--model", mpath, "--input-npy",
                                  xpath, "--layer", layer, "--method", "cam",
                                  "--out", os.path.join(work, "out-refused")])
            msg = tm.last_line(err)
            report(rc == 2 and "layer4" in msg, name, "exit %s: %s" % (rc, msg))

        for ci, (name, mi, layers, methods, opts, kind) in enumerate(case_list()):
            if a.k not in name:
                continue
            mname, model, mpath, x, xpath = models[mi]
            out = os.path.join(work, "out-%02d" % ci)
            argv = [a.gradcam, "explain", "--model", mpath, "--input-npy", xpath]
            for L in layers:
                argv += ["--layer", L]
            argv += ["--method", ",".join(methods)] + opts + ["--out", out]
            t = time.time()
            rc, err = tm.run_cli(argv)
            t_cli = time.time() - t
            if rc != 0:
                report(False, name, "exit %s: %s" % (rc, tm.last_line(err)))
                continue
            stem = "x_" + mname
            t = time.time()
            with torch.no_grad():
                logits = model(torch.from_numpy(x))
            for suffix, cls, rank in targets(kind, opts, logits):
                ref = reference(model, x, layers, methods, kind, cls, rank)
                tname = name + (" " + suffix[1:] if suffix else "")
                ok, msg = tm.compare(os.path.join(out, stem + suffix + ".logits.npy"),
                                     ref["logits"], tm.LOGIT_TOL)
                report(ok, tname + " logits",
                       msg + " (classes %s)" % ref["classes"].tolist())
                for m in methods:
                    ok, msg = tm.compare(tm.output_path(out, stem + suffix, m),
                                         ref[m], tm.TOL)
                    if not ok and kind == "eigen":
                        msg += "  [s2/s1 %.3f]" % eigen_gap(model, x, layers[0], m, cls, rank)
                    report(ok, "%s %s" % (tname, m), msg)
            print("# %s: CLI %.1f s, reference %.1f s" % (name, t_cli, time.time() - t),
                  flush=True)
    return report.done(time.time() - t0)


if __name__ == "__main__":
    sys.exit(main())
