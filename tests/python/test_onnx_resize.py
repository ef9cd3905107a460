#!/usr/bin/python3
"""Parity with PyTorch on ONNX exports that resize maps (Resize): torchvision
segmentation networks (LR-ASPP and DeepLabV3 on MobileNetV3, FCN on
ResNet-50, random weights, randomised BatchNorm, 64x64 inputs) and a small
network with every interpolation PyTorch exports: bilinear with and
without align_corners, nearest, by size and by scale factor.

Each model's output is the [K, H, W] map per image, which gradcam reads as
K * H * W scores: `--class i` explains the single score i (one class at one
pixel). For a batch of 2, the test compares the whole output (1e-4) and
Grad-CAM at a layer before the resizing (1e-3 of the maximum) with PyTorch's
autograd in float64, for two such scores.

Usage: test_onnx_resize.py --gradcam PATH/TO/gradcam
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

LOGIT_TOL = 1e-4
CAM_TOL = 1e-3
SIZE, BATCH = 64, 2


class Out(nn.Module):
    """A torchvision segmentation model's "out" map alone."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)["out"]


class Interpolations(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 6, 3, 2, 1)
        self.mid = nn.Conv2d(6, 6, 3, 1, 1)
        self.head = nn.Conv2d(18, 3, 1)

    def forward(self, x):
        a = torch.relu(self.stem(x))                       # 32x32
        b = self.mid(F.interpolate(a, scale_factor=0.5, mode="nearest"))   # 16x16
        b1 = F.interpolate(b, size=(32, 32), mode="bilinear", align_corners=True)
        b2 = F.interpolate(b, scale_factor=2.0, mode="bilinear", align_corners=False)
        b3 = F.interpolate(b, size=(32, 32), mode="nearest")
        y = self.head(torch.cat([b1, b2, b3], 1))
        return F.interpolate(y, size=(45, 37), mode="bilinear", align_corners=False)


def models():
    seg = torchvision.models.segmentation
    out = []
    for name, layer in (("lraspp_mobilenet_v3_large", "m.backbone.16"),
                        ("deeplabv3_mobilenet_v3_large", "m.backbone.16"),
                        ("fcn_resnet50", "m.backbone.layer4")):
        torch.manual_seed(1)
        m = getattr(seg, name)(weights=None, weights_backbone=None, num_classes=4)
        if getattr(m, "aux_classifier", None) is not None:
            m.aux_classifier = None
        out.append((name, oracle.randomise_bn(Out(m), 2), layer))
    torch.manual_seed(3)
    out.append(("interpolations", Interpolations().eval(), "stem"))
    return out


def reference(model, x, layer, index):
    m = model.double()
    mods = dict(m.named_modules())
    acts, grads = {}, {}

    def hook(_mod, _inp, out):
        acts["a"] = out
        out.register_hook(lambda g: grads.__setitem__("g", g))
    h = mods[layer].register_forward_hook(hook)
    y = m(torch.from_numpy(x.astype(np.float64)))
    h.remove()
    y.flatten(1)[:, index].sum().backward()
    cam = oracle.cam_from(acts["a"].detach(), grads["g"].detach()).numpy()
    model.float()
    return y.detach().flatten(1).numpy(), cam


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gradcam", required=True)
    a = ap.parse_args()
    torch.set_num_threads(2)
    results = []
    with tempfile.TemporaryDirectory(prefix="gc_resize_") as tmp:
        x = oracle.random_inputs((BATCH, 3, SIZE, SIZE), 21)
        xpath = os.path.join(tmp, "x.npy")
        np.save(xpath, x)
        for name, model, layer in models():
            path = os.path.join(tmp, name + ".onnx")
            torch.onnx.export(model, torch.zeros(1, 3, SIZE, SIZE), path, opset_version=13,
                              input_names=["input"], output_names=["out"],
                              dynamic_axes={"input": {0: "N"}, "out": {0: "N"}})
            with torch.no_grad():
                k, h, w = model(torch.zeros(1, 3, SIZE, SIZE)).shape[1:]
            # two scores whose maps are not all zero (a random network's often are)
            picked = []
            for index in (1 * h * w + (h // 3) * w + w // 2, k * h * w - 5, 2 * h * w + 7,
                          (k - 1) * h * w + (h // 2) * w + 3, 11):
                ref = reference(model, x, layer, int(index))
                if np.any(ref[1]) and len(picked) < 2:
                    picked.append((int(index), ref))
            for index, (ref_y, ref_cam) in picked or [(0, reference(model, x, layer, 0))]:
                out = os.path.join(tmp, "%s-%d" % (name, index))
                p = subprocess.run([a.gradcam, "explain", "--model", path, "--input-npy", xpath,
                                    "--layer", layer, "--class", str(index), "--out", out],
                                   capture_output=True, text=True, timeout=300)
                label = "%s score %d at %s" % (name, index, layer)
                if p.returncode != 0:
                    results.append((False, label, p.stderr.strip()))
                    continue
                y = np.load(os.path.join(out, "x.logits.npy"))
                cam = np.load(os.path.join(out, "x.gradcam.cam.npy"))
                ey, ec = oracle.rel_err(y, ref_y), oracle.rel_err(cam, ref_cam)
                live = bool(np.any(ref_cam))
                results.append((ey <= LOGIT_TOL and ec <= CAM_TOL and live, label,
                                "output %.2e, cam %.2e%s" % (ey, ec, "" if live else " (zero)")))
    bad = 0
    for good, label, msg in results:
        print("%s %-55s %s" % ("ok  " if good else "FAIL", label, msg))
        bad += not good
    print("%d of %d checks passed" % (len(results) - bad, len(results)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
