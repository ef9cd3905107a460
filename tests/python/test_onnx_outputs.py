#!/usr/bin/python3
"""Choosing among an ONNX model's outputs (`--output`, gc_load_options):
a two-scale YOLO-style detector exports one raw head per scale,
[N, anchors * h * w, 5 + classes] each, as two graph outputs. The test
explains a box's class score (`--detect`) in the second output, named by
position and by name, and in the first (the default), and compares the
output's scores (1e-4) and Grad-CAM at the shared backbone (1e-3 of the
maximum) with PyTorch's autograd in float64, batch 2. It also checks the
refusals: an output the model does not have (the message lists those it
has), and `--output` on a .pth model, which has one.

Usage: test_onnx_outputs.py --gradcam PATH/TO/gradcam
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

LOGIT_TOL = 1e-4
CAM_TOL = 1e-3
SIZE, BATCH, ANCHORS, CLASSES = 64, 2, 2, 3


def raw_head(y, anchors):
    n, _, h, w = y.shape
    y = y.view(n, anchors, y.shape[1] // anchors, h, w).permute(0, 1, 3, 4, 2)
    return y.reshape(n, anchors * h * w, y.shape[-1])


class TwoScales(nn.Module):
    def __init__(self):
        super().__init__()
        k = ANCHORS * (5 + CLASSES)
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.BatchNorm2d(8), nn.SiLU(),
                                      nn.Conv2d(8, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.SiLU())
        self.down = nn.Sequential(nn.Conv2d(16, 16, 3, 2, 1), nn.SiLU())
        self.fine, self.coarse = nn.Conv2d(16, k, 1), nn.Conv2d(16, k, 1)

    def forward(self, x):
        f = self.backbone(x)
        return raw_head(self.fine(f), ANCHORS), raw_head(self.coarse(self.down(f)), ANCHORS)


def reference(model, x, which, cls):
    """(scores of output `which`, Grad-CAM at the backbone) for each
    image's best box of class cls in that output, float64."""
    m = model.double()
    acts = {}

    def hook(_mod, _inp, out):
        acts["a"] = out
        out.register_hook(lambda g: acts.__setitem__("g", g))
    h = m.backbone.register_forward_hook(hook)
    y = m(torch.from_numpy(x.astype(np.float64)))[which]
    h.remove()
    boxes = [int(y[i, :, 5 + cls].argmax()) for i in range(x.shape[0])]
    sum(y[i, b, 5 + cls] for i, b in enumerate(boxes)).backward()
    model.float()
    return (y.detach().flatten(1).numpy(),
            oracle.cam_from(acts["a"].detach(), acts["g"].detach()).numpy(), boxes)


def run(gradcam, argv):
    return subprocess.run([gradcam] + argv, capture_output=True, text=True, timeout=120)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gradcam", required=True)
    a = ap.parse_args()
    torch.set_num_threads(2)
    results = []
    with tempfile.TemporaryDirectory(prefix="gc_outputs_") as tmp:
        x = oracle.random_inputs((BATCH, 3, SIZE, SIZE), 23)
        xpath = os.path.join(tmp, "x.npy")
        np.save(xpath, x)
        torch.manual_seed(3)
        model = oracle.randomise_bn(TwoScales(), 4)
        path = os.path.join(tmp, "two.onnx")
        torch.onnx.export(model, torch.zeros(1, 3, SIZE, SIZE), path, opset_version=13,
                          input_names=["input"], output_names=["fine", "coarse"],
                          dynamic_axes={"input": {0: "N"}, "fine": {0: "N"},
                                        "coarse": {0: "N"}})
        for which, choice, cls in ((1, "1", 2), (1, "coarse", 0), (0, None, 1)):
            ref_y, ref_cam, boxes = reference(model, x, which, cls)
            out = os.path.join(tmp, "out-%s-%d" % (choice, cls))
            argv = ["explain", "--model", path, "--input-npy", xpath, "--layer", "backbone",
                    "--detect", "--class", str(cls), "--out", out]
            argv += ["--output", choice] if choice is not None else []
            p = run(a.gradcam, argv)
            label = "output %s class %d" % (choice or "(default)", cls)
            if p.returncode != 0:
                results.append((False, label, p.stderr.strip()))
                continue
            y = np.load(os.path.join(out, "x.logits.npy")).reshape(BATCH, -1)
            cam = np.load(os.path.join(out, "x.gradcam.cam.npy"))
            ey, ec = oracle.rel_err(y, ref_y), oracle.rel_err(cam, ref_cam)
            live = bool(np.any(ref_cam))
            results.append((ey <= LOGIT_TOL and ec <= CAM_TOL and live, label,
                            "scores %.2e, cam %.2e (boxes %s)%s" % (
                                ey, ec, boxes, "" if live else " (zero)")))
        # refusals
        p = run(a.gradcam, ["layers", "--model", path, "--output", "2"])
        results.append((p.returncode != 0 and "0 'fine', 1 'coarse'" in p.stderr,
                        "refused: an output the model lacks", p.stderr.strip()))
        pth = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models",
                           "shapes.pth")
        p = run(a.gradcam, ["layers", "--model", pth, "--output", "coarse"])
        results.append((p.returncode != 0 and "applies to ONNX models" in p.stderr,
                        "refused: --output on a .pth model", p.stderr.strip()))
    return oracle.report(results, 40)


if __name__ == "__main__":
    sys.exit(main())
