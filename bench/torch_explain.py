#!/usr/bin/python3
"""torch_explain.py — the PyTorch counterpart of `gradcam explain` for
JPEGs, as a minimal pipeline: import torch/torchvision/cv2, load the
checkpoint, read and preprocess the photo (stretch to 224x224, ImageNet
mean/std, like our default), Grad-CAM at layer4 the library's way, and write
a heatmap overlay with cv2.imwrite, one photo after another. The benchmark
times the whole process,
from exec to exit; it is deliberately free of matplotlib, which would only
make PyTorch look slower.

  torch_explain.py --model M.pth --out DIR photo.jpg [more.jpg ...]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402

import torch_cam  # noqa: E402

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--layer", default="layer4")
    p.add_argument("images", nargs="+")
    a = p.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))

    model = torchvision.models.resnet18()
    model.load_state_dict(torch.load(a.model, map_location="cpu"))
    model.eval()
    hooks = torch_cam.LayerHooks(model, model.get_submodule(a.layer))

    os.makedirs(a.out, exist_ok=True)
    for image in a.images:
        bgr = cv2.imread(image, cv2.IMREAD_COLOR)
        if bgr is None:
            sys.exit(f"torch_explain: cannot read {image}")
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        x = (cv2.resize(rgb, (224, 224), interpolation=cv2.INTER_LINEAR) - MEAN) / STD
        x = torch.from_numpy(x.transpose(2, 0, 1).copy())[None]

        cam = torch_cam.gradcam(model, hooks, x)[0]
        h, w = bgr.shape[:2]
        heat = cv2.applyColorMap(np.uint8(255 * cv2.resize(cam, (w, h))), cv2.COLORMAP_JET)
        overlay = 0.5 * heat.astype(np.float32) + 0.5 * bgr.astype(np.float32)
        stem = os.path.splitext(os.path.basename(image))[0]
        if not cv2.imwrite(os.path.join(a.out, stem + ".gradcam.overlay.png"),
                           np.uint8(np.clip(overlay, 0, 255))):
            sys.exit("torch_explain: cannot write the figure")


if __name__ == "__main__":
    main()
