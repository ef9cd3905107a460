#!/usr/bin/python3
"""test_python_from_torch.py — gradcam.from_torch on a torchvision
ResNet-18 (random weights, BatchNorm statistics and affine parameters
randomised, classifier centred so the top-1 class varies: oracle.make_model),
run with the venv's interpreter (CTest's python_install fixture).

What it checks:
- the wrapped model's logits equal the module's (1e-4 relative);
- every module name is a layer, BatchNorms included: `layer2.1.bn2`
  (torch.onnx.export would fold it into conv2 in EVAL mode; from_torch
  keeps it);
- at layer2.1.bn2, where torchvision's `out += identity` and
  ReLU(inplace=True) overwrite what bn2 returned, Grad-CAM, LayerCAM and
  HiResCAM for each image's top-1 and for one class per image equal
  PyTorch's autograd on the true activation (the hook hands a clone
  downstream: hook_oracle.py), 1e-3 of the map's maximum; and they are
  far from what a plain hook sees (the aliased tensor), so the check
  means something; the same at layer4;
- the module is left as it was: its training flag and its weights;
- explain_image runs on the exported model, and closing the model
  removes its temporary ONNX file.

Usage: test_python_from_torch.py (with the venv's python; the package
brings its own CLI)
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cam_oracle  # noqa: E402
import hook_oracle  # noqa: E402
import oracle  # noqa: E402
from clitest import check, finish  # noqa: E402

import gradcam  # noqa: E402

LOGIT_TOL, CAM_TOL, NAIVE_MIN = 1e-4, 1e-3, 0.05
SIZE, BATCH = 64, 4
METHODS = {"gradcam": cam_oracle.gradcam, "layercam": cam_oracle.layercam,
           "hirescam": cam_oracle.hirescam}


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    peak, d = np.abs(b).max(), np.abs(a - b).max()
    return d / peak if peak > 0 else (0.0 if d <= 1e-6 else float("inf"))


def main():
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args()
    t0 = time.time()
    torch.set_num_threads(2)
    net = oracle.make_model(18, probe_sizes=((SIZE, SIZE),))
    x = oracle.random_inputs((BATCH, 3, SIZE, SIZE), 21)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    net.train()  # from_torch exports in eval mode and must restore this
    m = gradcam.from_torch(net, torch.zeros(1, 3, SIZE, SIZE))
    check(net.training and all(torch.equal(before[k], v) for k, v in net.state_dict().items()),
          "the module's mode and weights are unchanged", "")
    net.eval()
    worst = 0.0
    with torch.no_grad():
        ref_logits = net(torch.from_numpy(x)).numpy()
    got = m.predict(x)
    e = rel(got, ref_logits)
    top = ref_logits.argmax(1)
    check(e <= LOGIT_TOL and len(set(top.tolist())) > 1, "logits = the module's",
          "%.1e, top-1 %s" % (e, top.tolist()))
    layers = dict(m.layers())
    check(layers.get("layer2.1.bn2") == (128, SIZE // 8, SIZE // 8) and "layer2.1.conv2" in layers,
          "layer2.1.bn2 is a layer", str(layers.get("layer2.1.bn2")))

    per = [int((top[0] + 1) % 1000), None] + [int((top[i] + 7 * i) % 1000)
                                              for i in range(2, BATCH)]
    for layer in ("layer2.1.bn2", "layer4"):
        for tname, target in (("top-1", None), ("per-image %s" % per, per)):
            r = m.explain(x, layer=layer, target=target, methods=tuple(METHODS))
            true = hook_oracle.capture(net, x, layer, target)
            naive = hook_oracle.capture_naive(net, x, layer, target)
            errs = {k: rel(r.maps[k], f(true["A"], true["G"]).numpy())
                    for k, f in METHODS.items()}
            worst = max([worst] + list(errs.values()))
            ok = list(r.classes) == true["classes"].tolist() and \
                rel(r.logits, true["logits"].numpy()) <= LOGIT_TOL and \
                all(v <= CAM_TOL for v in errs.values())
            check(ok, "%s %s vs autograd" % (layer, tname), "classes %s, %s" % (
                r.classes.tolist(), " ".join("%s %.1e" % kv for kv in errs.items())))
            if layer == "layer2.1.bn2":
                off = rel(r.maps["gradcam"], cam_oracle.gradcam(naive["A"], naive["G"]).numpy())
                check(off > NAIVE_MIN, "%s %s: a plain hook would be off" % (layer, tname),
                      "by %.2f relative" % off)

    with tempfile.TemporaryDirectory(prefix="gc-torch-") as tmp:
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                           "examples", "scenes", "star.png")
        doc = gradcam.explain_image(m, src, out_dir=tmp, layer="layer2.1.bn2")
        cam = np.load(os.path.join(tmp, "star.gradcam.cam.npy"))
        check(cam.shape == (1, SIZE // 8, SIZE // 8) and doc["layer"] == "layer2.1.bn2",
              "explain_image on the exported model", "map %s" % (cam.shape,))
    path = m.path
    m.close()
    check(not os.path.exists(path), "close() removes the temporary ONNX file", path)
    print("worst relative error vs autograd: %.1e (%.0f s)" % (worst, time.time() - t0))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
