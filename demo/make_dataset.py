#!/usr/bin/python3
"""A data set of demo scenes for `gradcam explain --manifest` (README, "Data
sets"): COUNT scenes (seed base 7, never used for training) with a manifest
that gives each image its own target and ground truth. A quarter of the
scenes hold two objects, and their target is the second object; every fifth
scene's ground truth is a mask PNG instead of a box.

usage: /usr/bin/python3 demo/make_dataset.py --count 300 --out DIR
       writes DIR/scene_NNNN.png, DIR/masks/scene_NNNN.png and DIR/manifest.csv"""
import argparse
import os

from PIL import Image

import scenes

SEED_BASE = 7


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(os.path.join(a.out, "masks"), exist_ok=True)
    with open(os.path.join(a.out, "manifest.csv"), "w") as f:
        f.write("path,target,box,mask\n")
        for i in range(a.count):
            img, objs = scenes.make_scene(scenes.scene_seed(SEED_BASE, i), 1 + (i % 4 == 3))
            name = "scene_%04d.png" % i
            Image.fromarray(img).save(os.path.join(a.out, name))
            o = objs[-1]
            if i % 5 == 4:
                mask = os.path.join("masks", name)
                Image.fromarray(o["mask"].astype("uint8") * 255).save(os.path.join(a.out, mask))
                f.write("%s,%s,,%s\n" % (name, o["name"], mask))
            else:
                f.write('%s,%s,"%s",\n' % (name, o["name"], ",".join(map(str, o["box"]))))


if __name__ == "__main__":
    main()
