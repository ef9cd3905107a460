#!/usr/bin/python3
"""Procedural scenes for the demo classifier: shapes on busy backgrounds.

Each scene is a uint8 RGB image plus, for every object, its class index, its
exact bounding box (from the drawn mask) and the mask itself.  Everything is a
pure function of the seed, so the training set, the held-out set and the
localisation test can be regenerated anywhere without downloads.

Deliberately not here: augmentation, resizing, normalisation (the training
script and the C tool do that), anti-aliasing of shape edges (costly, and the
model does not need it).

CLI: /usr/bin/python3 demo/scenes.py --seed S --count N --out DIR
     writes DIR/scene_<S>_<i>.png and DIR/labels.json.
"""
import argparse
import json
import math
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CLASSES = ["disc", "square", "triangle", "star", "cross",
           "ring", "crescent", "hexagon", "arrow", "heart"]
DEFAULT_SIZE = 160
# Circumradius range, as a fraction of the image side, by number of objects.
# Objects must span about two cells of the model's 5x5 last map: at one cell,
# Grad-CAM's peak lands a fraction of a cell off and leaves the box.
RADII = {1: (0.17, 0.26), 2: (0.18, 0.23)}


def _rot(pts, angle, cx, cy, r):
    """Unit-radius outline -> rotated, scaled, translated pixel coordinates."""
    c, s = math.cos(angle), math.sin(angle)
    return [(cx + r * (x * c - y * s), cy + r * (x * s + y * c)) for x, y in pts]


def _regular(n, start=-math.pi / 2):
    return [(math.cos(start + 2 * math.pi * k / n),
             math.sin(start + 2 * math.pi * k / n)) for k in range(n)]


def _star():
    pts = []
    for k in range(10):
        rad = 1.0 if k % 2 == 0 else 0.42
        a = -math.pi / 2 + math.pi * k / 5
        pts.append((rad * math.cos(a), rad * math.sin(a)))
    return pts


_CROSS = [(-0.3, -1), (0.3, -1), (0.3, -0.3), (1, -0.3), (1, 0.3), (0.3, 0.3),
          (0.3, 1), (-0.3, 1), (-0.3, 0.3), (-1, 0.3), (-1, -0.3), (-0.3, -0.3)]
_ARROW = [(-1, -0.25), (0.15, -0.25), (0.15, -0.65), (1, 0), (0.15, 0.65),
          (0.15, 0.25), (-1, 0.25)]
_SQUARE = [(-0.72, -0.72), (0.72, -0.72), (0.72, 0.72), (-0.72, 0.72)]


def _heart():
    pts = []
    for k in range(48):
        t = 2 * math.pi * k / 48
        x = 16 * math.sin(t) ** 3
        y = -(13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t)
              - math.cos(4 * t))
        pts.append((x / 17.0, (y + 2.5) / 17.0))
    return pts


_OUTLINES = {"square": _SQUARE, "triangle": _regular(3), "star": _star(),
             "cross": _CROSS, "hexagon": _regular(6), "arrow": _ARROW,
             "heart": _heart()}


def shape_mask(cls, size, cx, cy, r, angle):
    """Boolean HxW mask of one shape of class index cls, circumradius r."""
    name = CLASSES[cls]
    m = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(m)
    if name == "disc":
        d.ellipse([cx - r * 0.85, cy - r * 0.85, cx + r * 0.85, cy + r * 0.85], fill=255)
    elif name == "ring":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
        ri = r * 0.58
        d.ellipse([cx - ri, cy - ri, cx + ri, cy + ri], fill=0)
    elif name == "crescent":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
        ox, oy = cx + 0.55 * r * math.cos(angle), cy + 0.55 * r * math.sin(angle)
        ri = r * 0.85
        d.ellipse([ox - ri, oy - ri, ox + ri, oy + ri], fill=0)
    else:
        d.polygon(_rot(_OUTLINES[name], angle, cx, cy, r), fill=255)
    return np.asarray(m) > 127


def _background(rng, size):
    kind = rng.integers(4)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    if kind == 0:  # smooth coloured noise
        low = rng.uniform(0, 255, (rng.integers(3, 9),) * 2 + (3,)).astype(np.uint8)
        img = np.asarray(Image.fromarray(low).resize((size, size), Image.BICUBIC),
                         np.float32)
        img = 0.6 * img + 0.4 * rng.uniform(0, 255, 3)
    elif kind == 1:  # linear gradient between two colours
        a = rng.uniform(0, 2 * math.pi)
        t = (xx * math.cos(a) + yy * math.sin(a))
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
        c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        img = c0 + t[..., None] * (c1 - c0)
    elif kind == 2:  # stripes (soft or hard), random angle and period
        a = rng.uniform(0, math.pi)
        period = rng.uniform(0.04, 0.25)
        t = np.sin(2 * math.pi * (xx * math.cos(a) + yy * math.sin(a)) / period)
        if rng.random() < 0.5:
            t = np.sign(t)
        t = (t + 1) / 2
        c0 = rng.uniform(0, 255, 3)
        c1 = np.clip(c0 + rng.uniform(-90, 90, 3), 0, 255)
        img = c0 + t[..., None] * (c1 - c0)
    else:  # blotches: blurred random ellipses
        base = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(0, 256, 3)))
        d = ImageDraw.Draw(base)
        for _ in range(rng.integers(6, 16)):
            x, y = rng.uniform(0, size, 2)
            rx, ry = rng.uniform(size * 0.05, size * 0.3, 2)
            d.ellipse([x - rx, y - ry, x + rx, y + ry],
                      fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
        base = base.filter(ImageFilter.GaussianBlur(rng.uniform(3, 8)))
        img = np.asarray(base, np.float32)
    return img


def _clutter(rng, img):
    """Lines, dots and thin curves: texture that belongs to no class."""
    size = img.shape[0]
    pil = Image.fromarray(img)
    d = ImageDraw.Draw(pil)
    col = lambda: tuple(int(v) for v in rng.integers(0, 256, 3))
    for _ in range(rng.integers(0, 5)):  # straight lines
        p = rng.uniform(0, size, 4)
        d.line([(p[0], p[1]), (p[2], p[3])], fill=col(), width=int(rng.integers(1, 3)))
    for _ in range(rng.integers(0, 25)):  # small dots
        x, y = rng.uniform(0, size, 2)
        r = rng.uniform(0.6, 2.5)
        d.ellipse([x - r, y - r, x + r, y + r], fill=col())
    for _ in range(rng.integers(0, 4)):  # thin sine curves
        x0, y0 = rng.uniform(0, size, 2)
        a = rng.uniform(0, 2 * math.pi)
        length = rng.uniform(size * 0.3, size * 0.9)
        amp, freq = rng.uniform(3, 15), rng.uniform(0.02, 0.1)
        t = np.linspace(0, length, 40)
        off = amp * np.sin(freq * t)
        xs = x0 + t * math.cos(a) - off * math.sin(a)
        ys = y0 + t * math.sin(a) + off * math.cos(a)
        d.line(list(zip(xs.tolist(), ys.tolist())), fill=col(), width=1)
    return np.asarray(pil).copy()


def _contrasting_colour(rng, local_mean):
    for _ in range(30):
        c = rng.uniform(0, 255, 3)
        if np.abs(c - local_mean).sum() > 150:
            return c
    return 255.0 - local_mean


def make_scene(seed, n_objects=1, size=DEFAULT_SIZE, classes=None, radii=None):
    """One scene.  Returns (image uint8 HxWx3, objects) where objects is a list
    of dicts {"class": int, "name": str, "box": [x0, y0, x1, y1] inclusive
    pixel bounds, "mask": bool HxW}.  With n_objects=2 the two classes differ
    and the boxes do not overlap.  classes forces the class indices; radii
    replaces RADII."""
    rng = np.random.default_rng(seed)
    img = np.clip(_background(rng, size), 0, 255).astype(np.uint8)
    img = _clutter(rng, img)
    if classes is None:
        classes = rng.choice(len(CLASSES), n_objects, replace=False).tolist()
    margin = 4
    rmin, rmax = (radii or RADII)[min(n_objects, 2)]
    placed = None
    for _round in range(100):  # a first object in the middle can leave no room
        placed, boxes = [], []
        for cls in classes:
            for _attempt in range(30):
                r = rng.uniform(rmin, rmax) * size
                cx, cy = rng.uniform(r + margin, size - r - margin, 2)
                angle = rng.uniform(0, 2 * math.pi)
                m = shape_mask(cls, size, cx, cy, r, angle)
                ys, xs = np.nonzero(m)
                box = [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]
                if all(box[0] > b[2] + 3 or b[0] > box[2] + 3 or
                       box[1] > b[3] + 3 or b[1] > box[3] + 3 for b in boxes):
                    break
            else:
                break
            boxes.append(box)
            placed.append((cls, m, box, cx, r))
        if len(placed) == len(classes):
            break
    else:
        raise RuntimeError("scene %d: could not place %d objects" % (seed, n_objects))
    objects = []
    for cls, m, box, cx, r in placed:
        colour = _contrasting_colour(rng, img[m].reshape(-1, 3).mean(0))
        # Slight shading so objects are not perfectly flat, then pixel noise.
        shade = 1.0 + rng.uniform(-0.15, 0.15) * (np.arange(size)[None, :] - cx) / r
        fill = np.clip(colour[None, None, :] * shade[..., None], 0, 255)
        fill = np.broadcast_to(fill, img.shape)
        img[m] = fill[m].astype(np.uint8)
        objects.append({"class": int(cls), "name": CLASSES[cls], "box": box, "mask": m})
    noise = rng.normal(0, rng.uniform(0, 8), img.shape)
    img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    return img, objects


def scene_seed(base, i):
    """Seed of the i-th scene of a set: sets with different bases never share a
    scene as long as i < 10**6."""
    return base * 1_000_000 + i


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, required=True, help="set seed (base)")
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", type=int, default=DEFAULT_SIZE)
    ap.add_argument("--two", type=float, default=0.0,
                    help="fraction of two-object scenes")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    n_two = int(round(a.count * a.two))
    labels = {}
    for i in range(a.count):
        n = 2 if i >= a.count - n_two else 1
        img, objs = make_scene(scene_seed(a.seed, i), n, a.size)
        name = "scene_%d_%d.png" % (a.seed, i)
        Image.fromarray(img).save(os.path.join(a.out, name))
        labels[name] = [{k: o[k] for k in ("class", "name", "box")} for o in objs]
    with open(os.path.join(a.out, "labels.json"), "w") as f:
        json.dump({"classes": CLASSES, "scenes": labels}, f, indent=1)


if __name__ == "__main__":
    main()
