#!/usr/bin/python3
"""Write the sample scenes in examples/scenes/ (what `make demo` and the README
run the demo model on).

Seed base 5, never used for training or testing; classes are chosen here so
that the samples cover single objects and two-object scenes, the names say
what is in each picture.  Nothing is filtered by what the model predicts.

usage: /usr/bin/python3 demo/make_samples.py [--out examples/scenes]
"""
import argparse
import os
import sys

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenes  # noqa: E402

SAMPLES = [["star"], ["heart"], ["arrow"],
           ["disc", "triangle"], ["cross", "crescent"], ["ring", "hexagon"]]
SAMPLE_BASE = 5


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="write the demo sample scenes")
    ap.add_argument("--out", default=os.path.join(here, "..", "examples", "scenes"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for i, names in enumerate(SAMPLES):
        cls = [scenes.CLASSES.index(n) for n in names]
        img, objs = scenes.make_scene(scenes.scene_seed(SAMPLE_BASE, i), len(cls),
                                      classes=cls)
        path = os.path.join(a.out, "_".join(names) + ".png")
        Image.fromarray(img).save(path, optimize=True)
        print(path, " ".join("%s box=%s" % (o["name"], o["box"]) for o in objs))


if __name__ == "__main__":
    main()
