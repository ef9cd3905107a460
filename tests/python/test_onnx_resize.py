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
autograd in float64, for two such scores; and, for the segmentation
networks, the segmentation target (`--segment`: a class's scores summed
over the pixels where it wins, pytorch-grad-cam's
SemanticSegmentationTarget) for each image's most frequent class, for an
explicit class, and over a PNG mask. Last, a YOLO-style raw detection head
([N, anchors * h * w, 5 + classes], built with view/permute/reshape): the
detection target (`--detect`: one box's score for a class, the box that
scores the class highest or `--box B`).

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


class Head(nn.Module):
    """A tiny detector: a backbone, an upsampled skip, a raw YOLO head."""

    def __init__(self, anchors=3, classes=4):
        super().__init__()
        self.a, self.k = anchors, classes
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.BatchNorm2d(8), nn.SiLU(),
                                      nn.Conv2d(8, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.SiLU())
        self.head = nn.Conv2d(16, anchors * (5 + classes), 1)

    def forward(self, x):
        f = self.backbone(x)
        y = self.head(f)
        n, _, h, w = y.shape
        y = y.view(n, self.a, 5 + self.k, h, w).permute(0, 1, 3, 4, 2)
        return y.reshape(n, self.a * h * w, 5 + self.k)


def hooked(model, x, layer):
    """The float64 output and a dict that will hold the layer's activation
    ("a") and, after a backward pass, its gradient ("g")."""
    m = model.double()
    acts = {}

    def hook(_mod, _inp, out):
        acts["a"] = out
        out.register_hook(lambda g: acts.__setitem__("g", g))
    h = dict(m.named_modules())[layer].register_forward_hook(hook)
    y = m(torch.from_numpy(x.astype(np.float64)))
    h.remove()
    return y, acts


def cam_of(model, acts):
    model.float()
    return oracle.cam_from(acts["a"].detach(), acts["g"].detach()).numpy()


def reference(model, x, layer, index):
    y, acts = hooked(model, x, layer)
    y.flatten(1)[:, index].sum().backward()
    return y.detach().flatten(1).numpy(), cam_of(model, acts)


def segment_reference(model, x, layer, cls, mask):
    """Grad-CAM for sum_p y[c][p] m[p]: m where c wins, or the mask; c the
    given class or each image's class that wins most pixels."""
    y, acts = hooked(model, x, layer)
    win = y.argmax(1)                                       # [N, H, W]
    k = y.shape[1]
    classes = [int(cls) if cls is not None else
               int(torch.bincount(win[i].flatten(), minlength=k).argmax())
               for i in range(y.shape[0])]
    score = 0
    for i, c in enumerate(classes):
        sel = torch.from_numpy(mask).double() if mask is not None else (win[i] == c).double()
        score = score + (y[i, c] * sel).sum()
    score.backward()
    return classes, cam_of(model, acts)


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
        # segmentation targets, on the networks that have classes per pixel
        import cv2
        for name, model, layer in models()[:3]:
            path = os.path.join(tmp, name + ".onnx")
            with torch.no_grad():
                k, h, w = model(torch.zeros(1, 3, SIZE, SIZE)).shape[1:]
            rect = np.zeros((h, w), np.uint8)
            rect[h // 4:h // 2 + 3, w // 5:(3 * w) // 4] = 1
            mpath = os.path.join(tmp, "mask.png")
            cv2.imwrite(mpath, rect * 255)
            for cls, mask in ((None, None), (2, None), (1, rect)):
                classes, ref_cam = segment_reference(model, x, layer, cls, mask)
                out = os.path.join(tmp, "%s-seg-%s-%s" % (name, cls, mask is not None))
                argv = [a.gradcam, "explain", "--model", path, "--input-npy", xpath, "--layer",
                        layer, "--segment", "--out", out]
                argv += ["--class", str(cls)] if cls is not None else []
                argv += ["--mask", mpath] if mask is not None else []
                p = subprocess.run(argv, capture_output=True, text=True, timeout=300)
                label = "%s segment class %s%s" % (name, "most" if cls is None else cls,
                                                   " mask" if mask is not None else "")
                if p.returncode != 0:
                    results.append((False, label, p.stderr.strip()))
                    continue
                cam = np.load(os.path.join(out, "x.gradcam.cam.npy"))
                ec = oracle.rel_err(cam, ref_cam)
                live = bool(np.any(ref_cam))
                results.append((ec <= CAM_TOL and live, label, "cam %.2e (classes %s)%s" % (
                    ec, classes, "" if live else " (zero)")))
        # the detection target
        torch.manual_seed(4)
        det = oracle.randomise_bn(Head(), 5)
        path = os.path.join(tmp, "head.onnx")
        torch.onnx.export(det, torch.zeros(1, 3, SIZE, SIZE), path, opset_version=13,
                          input_names=["input"], output_names=["out"],
                          dynamic_axes={"input": {0: "N"}, "out": {0: "N"}})
        for cls, box in ((2, None), (1, 17)):
            y, acts = hooked(det, x, "backbone")
            boxes = [box if box is not None else int(y[i, :, 5 + cls].argmax())
                     for i in range(BATCH)]
            sum(y[i, b, 5 + cls] for i, b in enumerate(boxes)).backward()
            ref_cam = cam_of(det, acts)
            out = os.path.join(tmp, "det-%s-%s" % (cls, box))
            argv = [a.gradcam, "explain", "--model", path, "--input-npy", xpath, "--layer",
                    "backbone", "--detect", "--class", str(cls), "--out", out]
            argv += ["--box", str(box)] if box is not None else []
            p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
            label = "detection head class %d box %s" % (cls, box if box is not None else "best")
            if p.returncode != 0:
                results.append((False, label, p.stderr.strip()))
                continue
            ec = oracle.rel_err(np.load(os.path.join(out, "x.gradcam.cam.npy")), ref_cam)
            live = bool(np.any(ref_cam))
            results.append((ec <= CAM_TOL and live, label,
                            "cam %.2e (boxes %s)%s" % (ec, boxes, "" if live else " (zero)")))
    return oracle.report(results, 55)


if __name__ == "__main__":
    sys.exit(main())
