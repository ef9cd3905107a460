#!/usr/bin/python3
"""Do the demo model's Grad-CAM maps, computed by the C tool, point at the
right object?

Generates fresh held-out scenes with demo/scenes.py (seed bases 3 and 4, never
used for training), runs `gradcam explain --model models/shapes.pth --class N
--out DIR IMAGE...` in one batched invocation per class, reads each
DIR/<stem>.gradcam.cam.npy (raw [1,h,w] map at the default layer), upsamples
it to the image (cv2 bilinear) and scores:

  pointing game      single-object scenes, true class: argmax inside the box
  discrimination     two-object scenes: map for A in A's box AND map for B in
                     B's box
and baselines that must lose clearly: the map of a class that is not in the
scene, the swapped classes in two-object scenes, a centred Gaussian.

Expected answers come from the generator (boxes are the drawn masks' bounds),
never from the tool.  --oracle computes the maps with PyTorch instead of the
C tool (to validate this test and the model); CTest always uses the C tool.

usage: test_localisation.py GRADCAM_BINARY SOURCE_DIR [--single N] [--two N]
                            [--model M.pth] [--keep DIR]
       test_localisation.py --oracle SOURCE_DIR ...
"""
import argparse
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np

SINGLE_BASE, TWO_BASE = 3, 4
POINTING_MIN = 0.90
DISCRIM_MIN = 0.85
BASELINE_GAP = 0.20


def generate(scenes, out_dir, n_single, n_two):
    """Write PNGs; return list of (path, objects-without-masks, n_objects)."""
    items = []
    for base, count, n in ((SINGLE_BASE, n_single, 1), (TWO_BASE, n_two, 2)):
        for i in range(count):
            img, objs = scenes.make_scene(scenes.scene_seed(base, i), n)
            path = os.path.join(out_dir, "s%d_%04d.png" % (base, i))
            cv2.imwrite(path, cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            items.append((path, [(o["class"], o["box"]) for o in objs], img.shape[:2]))
    return items


def stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def maps_with_tool(binary, model, jobs, work):
    """jobs: {class: [paths]} -> {(path, class): raw map [h,w]}."""
    maps = {}
    for cls, paths in sorted(jobs.items()):
        out = os.path.join(work, "cls%d" % cls)
        os.makedirs(out, exist_ok=True)
        for k in range(0, len(paths), 64):  # keep command lines short
            chunk = paths[k:k + 64]
            cmd = [binary, "explain", "--model", model, "--class", str(cls),
                   "--out", out] + chunk
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit("FAIL: %s exited %d: %s" % (" ".join(cmd[:8]) + " ...",
                                                      r.returncode, r.stderr.strip()))
        for p in paths:
            cam = np.load(os.path.join(out, stem(p) + ".gradcam.cam.npy"))
            if cam.ndim != 3 or cam.shape[0] != 1:
                sys.exit("FAIL: %s: cam shape %s, expected [1,h,w]" % (p, cam.shape))
            maps[(p, cls)] = cam[0]
    return maps


def maps_with_pytorch(source_dir, model_path, jobs):
    """The same maps from PyTorch: Grad-CAM at the description's default layer,
    score = the class logit."""
    import torch
    sys.path.insert(0, os.path.join(source_dir, "demo"))
    import shapesnet
    model, desc = shapesnet.load(model_path)
    layer = dict(model.named_modules())[desc["default_layer"]]
    size = desc["input_size"]
    store = {}

    def hook(_mod, _inp, out):
        store["act"] = out
        out.register_hook(lambda g: store.__setitem__("grad", g))

    layer.register_forward_hook(hook)
    maps = {}
    for cls, paths in sorted(jobs.items()):
        for k in range(0, len(paths), 64):
            chunk = paths[k:k + 64]
            imgs = []
            for p in chunk:
                img = cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2RGB)
                if img.shape[:2] != (size, size):
                    img = cv2.resize(img, (size, size), interpolation=cv2.INTER_LINEAR)
                imgs.append(img)
            x = shapesnet.preprocess(np.stack(imgs), desc["mean"], desc["std"])
            logits = model(x)
            model.zero_grad()
            logits[:, cls].sum().backward()
            w = store["grad"].mean(dim=(2, 3), keepdim=True)
            cam = torch.relu((w * store["act"]).sum(1)).detach().numpy()
            for p, c in zip(chunk, cam):
                maps[(p, cls)] = c
    return maps


def gaussian_map(h, w):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    return np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (0.25 * max(h, w)) ** 2))


def point(cam, hw):
    """Pixel (x, y) of the upsampled map's maximum, or None for an all-zero
    map (which points nowhere).  Bilinear upsampling clamps at the borders, so
    a maximum in an edge cell is a flat band reaching the image edge; of tied
    pixels take the one nearest the image centre, which is the cell's centre
    (np.argmax alone would pick the band's outer corner)."""
    if not np.any(cam > 0):
        return None
    h, w = hw
    up = cv2.resize(cam.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    ys, xs = np.nonzero(up >= up.max() * (1 - 1e-6))
    k = np.argmin((ys - (h - 1) / 2) ** 2 + (xs - (w - 1) / 2) ** 2)
    return int(xs[k]), int(ys[k])


def inside(pt, box):
    return pt is not None and box[0] <= pt[0] <= box[2] and box[1] <= pt[1] <= box[3]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="+", metavar="[GRADCAM_BINARY] SOURCE_DIR")
    ap.add_argument("--oracle", action="store_true",
                    help="maps from PyTorch, not the C tool (no binary then)")
    ap.add_argument("--single", type=int, default=300)
    ap.add_argument("--two", type=int, default=150)
    ap.add_argument("--keep", help="work in this directory and keep it")
    ap.add_argument("--model", help="checkpoint (default: SOURCE_DIR/models/shapes.pth)")
    a = ap.parse_args()

    if len(a.paths) != (1 if a.oracle else 2):
        ap.error("expected %s" % ("SOURCE_DIR" if a.oracle else "GRADCAM_BINARY SOURCE_DIR"))
    src = os.path.abspath(a.paths[-1])
    sys.path.insert(0, os.path.join(src, "demo"))
    import scenes
    model = os.path.abspath(a.model or os.path.join(src, "models", "shapes.pth"))
    n_classes = len(scenes.CLASSES)

    tmp = None
    if a.keep:
        work = a.keep
        os.makedirs(work, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="gc_localisation_")
        work = tmp.name
    img_dir = os.path.join(work, "scenes")
    os.makedirs(img_dir, exist_ok=True)
    items = generate(scenes, img_dir, a.single, a.two)

    # One job per class: every image that needs the map for that class.
    # Single-object scenes also get a wrong class, one not in the scene.
    jobs = {c: [] for c in range(n_classes)}
    wrong = {}
    for i, (path, objs, _hw) in enumerate(items):
        for c, _box in objs:
            jobs[c].append(path)
        if len(objs) == 1:
            wrong[path] = (objs[0][0] + 1 + i % (n_classes - 1)) % n_classes
            jobs[wrong[path]].append(path)

    if a.oracle:
        maps = maps_with_pytorch(src, model, jobs)
        who = "PyTorch oracle"
    else:
        maps = maps_with_tool(os.path.abspath(a.paths[0]), model, jobs, work)
        who = "C tool"

    single = [(p, o[0], hw) for p, o, hw in items if len(o) == 1]
    two = [(p, o, hw) for p, o, hw in items if len(o) == 2]
    h5, w5 = next(iter(maps.values())).shape
    g = gaussian_map(h5, w5)

    hits = sum(inside(point(maps[(p, c)], hw), box) for p, (c, box), hw in single)
    hits_wrong = sum(inside(point(maps[(p, wrong[p])], hw), box) for p, (c, box), hw in single)
    hits_gauss = sum(inside(point(g, hw), box) for p, (c, box), hw in single)
    zero = sum(not np.any(maps[(p, c)] > 0) for p, (c, box), hw in single)

    disc = swapped = disc_gauss = each = 0
    for p, ((ca, ba), (cb, bb)), hw in two:
        pa, pb = point(maps[(p, ca)], hw), point(maps[(p, cb)], hw)
        each += inside(pa, ba) + inside(pb, bb)
        disc += inside(pa, ba) and inside(pb, bb)
        swapped += inside(pa, bb) and inside(pb, ba)
        pg = point(g, hw)
        disc_gauss += inside(pg, ba) and inside(pg, bb)

    ns, nt = len(single), len(two)
    f = lambda k, n: k / n if n else 0.0
    pointing, pointing_wrong, pointing_gauss = f(hits, ns), f(hits_wrong, ns), f(hits_gauss, ns)
    discrim, discrim_swapped, discrim_gauss = f(disc, nt), f(swapped, nt), f(disc_gauss, nt)
    print("maps from the %s, %dx%d, %d single- and %d two-object held-out scenes"
          % (who, h5, w5, ns, nt))
    print("pointing game, true class:        %.3f  (min %.2f; %d all-zero maps)"
          % (pointing, POINTING_MIN, zero))
    print("pointing game, absent class:      %.3f  (baseline)" % pointing_wrong)
    print("pointing game, centred Gaussian:  %.3f  (baseline)" % pointing_gauss)
    print("two-object scenes, each map:      %.3f  (in its own class's box)" % f(each, 2 * nt))
    print("class discrimination:             %.3f  (min %.2f)" % (discrim, DISCRIM_MIN))
    print("class discrimination, swapped:    %.3f  (baseline)" % discrim_swapped)
    print("class discrimination, Gaussian:   %.3f  (baseline)" % discrim_gauss)

    failures = []
    if pointing < POINTING_MIN:
        failures.append("pointing game %.3f < %.2f" % (pointing, POINTING_MIN))
    if discrim < DISCRIM_MIN:
        failures.append("class discrimination %.3f < %.2f" % (discrim, DISCRIM_MIN))
    for name, value, ref in (("absent-class pointing", pointing_wrong, pointing),
                             ("Gaussian pointing", pointing_gauss, pointing),
                             ("swapped discrimination", discrim_swapped, discrim),
                             ("Gaussian discrimination", discrim_gauss, discrim)):
        if value > ref - BASELINE_GAP:
            failures.append("%s %.3f is not %.2f below %.3f" % (name, value, BASELINE_GAP, ref))
    if tmp:
        tmp.cleanup()
    if failures:
        print("FAIL: " + "; ".join(failures))
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
