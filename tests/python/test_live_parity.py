#!/usr/bin/python3
"""Live parity of the gradcam CLI with PyTorch on a full-size ResNet-18.

What it is: the fixture test's big brother. At test time it builds a
torchvision resnet18 (1000 classes, random weights, randomised BatchNorm,
centred classifier; see oracle.py), saves its state_dict in a temporary
directory, makes random inputs (a batch of 3 at 193x257 and one image at
224x224), runs `gradcam explain --input-npy` at several layers for the top-1
class, an explicit class index and a class given by its ImageNet name, and
compares logits and raw CAMs with the oracle: max|ours-ref| / max|ref|
<= 1e-4 (an all-zero reference map needs zeros within 1e-6).

What it deliberately does not do: download anything, or test images and
figures (test_parity.py has the JPEG case). Runs in well under 2 minutes on
2 cores.

Usage: test_live_parity.py --gradcam PATH/TO/gradcam
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402
from test_parity import ZERO_ABS, compare, run_cli  # noqa: E402

LAYERS = ["layer4", "layer4.1.conv2", "layer3.0.downsample.0", "layer2.1.bn2",
          "layer1"]
TOL = 1e-4
NAMED_CLASS = ("tiger shark", 3)
SEED = 2024


def imagenet_name(index):
    """The class name from torchvision's own list (independent of ours)."""
    try:
        from torchvision.models import ResNet18_Weights
        return ResNet18_Weights.IMAGENET1K_V1.meta["categories"][index]
    except Exception:
        return None


def zero_map_margin(raw, stem):
    """Sanity of the test itself: most top-1 maps are non-zero (an all-zero
    map compares little), and the all-zero ones are clearly negative before
    the ReLU, or an exact-zero comparison would be unfair to float32."""
    total = sum(r.shape[0] for r in raw.values())
    margins = [-r[i].max().item() / r[i].abs().max().item()
               for r in raw.values() for i in range(r.shape[0])
               if r[i].max().item() <= 0]
    if not margins:
        return True, "%s zero maps" % stem, "none of %d" % total
    return min(margins) > 1e-4 and len(margins) <= total // 2, \
        "%s zero maps" % stem, "%d of %d, smallest pre-ReLU margin %.1e" % (
            len(margins), total, min(margins))


def pick_explicit_class(model, x, layers, avoid):
    """A class that is no image's top-1 and has non-zero maps everywhere."""
    rng = np.random.default_rng(SEED)
    for c in rng.permutation(1000)[:50]:
        c = int(c)
        if c in avoid:
            continue
        _, cams, _ = oracle.gradcam_multi(model, x, layers, c)
        if all(cam.amax(dim=(1, 2)).min() > 0 for cam in cams.values()):
            return c
    return int(rng.permutation([c for c in range(1000) if c not in avoid])[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gradcam", required=True, help="path to the gradcam binary")
    a = ap.parse_args()
    if not (os.path.isfile(a.gradcam) and os.access(a.gradcam, os.X_OK)):
        print("FAIL: gradcam binary not found or not executable: %s" % a.gradcam)
        return 1
    torch.set_num_threads(2)
    t0 = time.time()
    passed = failed = 0

    def report(ok, name, msg):
        nonlocal passed, failed
        print("%s %-40s %s" % ("ok  " if ok else "FAIL", name, msg), flush=True)
        passed += ok
        failed += not ok

    name = imagenet_name(NAMED_CLASS[1])
    report(name in (None, NAMED_CLASS[0]), "torchvision name of class 3",
           repr(name))

    model = oracle.make_model(18, oracle.FULL_WIDTHS, 1000, SEED,
                              probe_sizes=((224, 224), (193, 257)),
                              probes_per_size=6)
    inputs = {"x3_193x257": oracle.random_inputs((3, 3, 193, 257), SEED + 1),
              "x1_224x224": oracle.random_inputs((1, 3, 224, 224), SEED + 6)}
    naive, clone = oracle.cross_check(model, inputs["x1_224x224"])
    report(True, "oracle alias cross-check", "naive hook off by %.3f, "
           "clone-in-hook %.1e" % (naive, clone))
    robust = oracle.without_inplace(model)

    with tempfile.TemporaryDirectory(prefix="gc-live-") as work:
        mpath = os.path.join(work, "resnet18_random.pth")
        torch.save(model.state_dict(), mpath)
        for stem, x in inputs.items():
            xpath = os.path.join(work, stem + ".npy")
            np.save(xpath, x)
            raw = {}
            logits, cams, top = oracle.gradcam_multi(model, x, LAYERS,
                                                     robust=robust, pre_relu=raw)
            report(*zero_map_margin(raw, stem))
            s_ = np.sort(logits.numpy(), axis=1)
            margin = ((s_[:, -1] - s_[:, -2]) / s_.__abs__().max()).min()
            distinct = len(set(top.tolist()))
            report(distinct == len(top) or len(top) == 1, "%s top-1 classes" % stem,
                   "%s (smallest relative margin %.1e)" % (top.tolist(), margin))
            explicit = pick_explicit_class(model, x, LAYERS, set(top.tolist()))
            runs = [("top1", None, None)]
            runs.append(("c%d" % explicit, str(explicit), explicit))
            if stem.startswith("x3"):
                runs.append(("%r" % NAMED_CLASS[0], NAMED_CLASS[0],
                             NAMED_CLASS[1]))
            for tag, arg, cls in runs:
                if cls is not None:
                    logits, cams, _ = oracle.gradcam_multi(model, x, LAYERS, cls,
                                                           robust=robust)
                layers = LAYERS if arg != NAMED_CLASS[0] else LAYERS[:2]
                for layer in layers:
                    out = os.path.join(work, "out-%s-%s" % (layer, tag))
                    argv = [a.gradcam, "explain", "--model", mpath,
                            "--input-npy", xpath, "--layer", layer,
                            "--method", "gradcam", "--out", out]
                    if arg is not None:
                        argv += ["--class", arg]
                    case = "%s/%s/%s" % (stem, layer, tag)
                    t = time.time()
                    rc, err = run_cli(argv)
                    if rc != 0:
                        last = (err.strip().splitlines() or ["(no message)"])[-1]
                        report(False, case, "exit %s: %s" % (rc, last))
                        continue
                    ok1, e1, m1 = compare(
                        "logits", os.path.join(out, stem + ".logits.npy"),
                        logits.numpy().astype(np.float32), TOL)
                    ok2, e2, m2 = compare(
                        "cam", os.path.join(out, stem + ".gradcam.cam.npy"),
                        cams[layer].numpy().astype(np.float32), TOL, ZERO_ABS)
                    fmt = lambda e: "-" if e is None else "%.2e" % e
                    problems = "; ".join(m for m in (m1, m2) if m)
                    report(ok1 and ok2, case, "logits %s  cam %s  (%.2f s)%s" % (
                        fmt(e1), fmt(e2), time.time() - t,
                        "  <- " + problems if problems else ""))
    print("%d passed, %d failed (%.0f s)" % (passed, failed, time.time() - t0))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
