#!/usr/bin/python3
"""`gradcam explain a.jpg b.jpg ...` runs decoding, computing and writing on
three threads (src/cli/pipeline.c). Checked here: every image's outputs are
byte for byte those of explaining it alone (nothing is mixed up between
images in flight), the lines come out in input order, and a failure stops
the run where the sequential tool would: a bad image in the middle, or an
output that cannot be written, leaves everything before it written and
nothing after it.

Usage: test_many_images.py --gradcam BIN --source DIR"""
import argparse, json, os, shutil, sys, tempfile

import cv2
import numpy as np

from clitest import check, finish, run


def same_outputs(d1, d2, stem):
    """Arrays and pictures identical; JSON identical but for timings."""
    names = sorted(f for f in os.listdir(d1) if f.startswith(stem + "."))
    if not names or names != sorted(f for f in os.listdir(d2) if f.startswith(stem + ".")):
        return False
    for f in names:
        a, b = (open(os.path.join(d, f), "rb").read() for d in (d1, d2))
        if f.endswith(".json"):
            ja, jb = json.loads(a), json.loads(b)
            ja.pop("timings_ms", None), jb.pop("timings_ms", None)
            if ja != jb:
                return False
        elif a != b:
            return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradcam", required=True)
    ap.add_argument("--source", required=True)
    a = ap.parse_args()
    model = os.path.join(a.source, "models", "shapes.pth")
    tmp = tempfile.mkdtemp(prefix="gc_many_")
    rng = np.random.default_rng(3)
    photos = []
    for i in range(9):  # different sizes and content, some JPEG, some PNG
        h, w = 100 + 17 * i, 140 + 9 * i
        img = cv2.GaussianBlur((rng.random((h, w, 3)) * 255).astype(np.uint8), (7, 7), 0)
        cv2.circle(img, (w // 3 + 5 * i, h // 2), 20 + 2 * i, (255, 255, 255), -1)
        p = os.path.join(tmp, "img%d.%s" % (i, "png" if i % 2 else "jpg"))
        cv2.imwrite(p, img)
        photos.append(p)
    stems = [os.path.splitext(os.path.basename(p))[0] for p in photos]

    alone = os.path.join(tmp, "alone")
    for p in photos:
        rc, out, err = run([a.gradcam, "explain", "--model", model, "--out", alone, p])
        check(rc == 0, "alone: " + os.path.basename(p), err.strip())
    many = os.path.join(tmp, "many")
    rc, out, err = run([a.gradcam, "explain", "--model", model, "--out", many] + photos)
    check(rc == 0, "all nine in one run", err.strip())
    lines = out.strip().splitlines()
    check([l.split(":")[0] for l in lines] == photos, "lines in input order", out)
    for s in stems:
        check(same_outputs(alone, many, s), "same outputs as alone: " + s)

    # A file that is not an image, fourth of seven.
    bad = os.path.join(tmp, "bad.jpg")
    open(bad, "wb").write(b"this is not a picture")
    order = photos[:3] + [bad] + photos[3:6]
    d = os.path.join(tmp, "bad_middle")
    rc, out, err = run([a.gradcam, "explain", "--model", model, "--out", d] + order)
    check(rc == 1, "bad image in the middle: exit 1", "rc=%d" % rc)
    check(err.strip() == "gradcam: %s: not a JPEG or PNG file" % bad, "its message", err)
    check([l.split(":")[0] for l in out.strip().splitlines()] == photos[:3],
          "the three before it are reported", out)
    written = sorted({f.split(".")[0] for f in os.listdir(d)})
    check(written == sorted(stems[:3]), "only those three written", str(written))

    # An output that cannot be written (a directory in the way of img2's
    # first array): the images before are written, none after.
    d = os.path.join(tmp, "blocked")
    os.makedirs(os.path.join(d, stems[2] + ".gradcam.cam.npy"))
    rc, out, err = run([a.gradcam, "explain", "--model", model, "--out", d] + photos[:6])
    check(rc == 1, "unwritable output: exit 1", "rc=%d %s" % (rc, err.strip()))
    check(stems[2] + ".gradcam.cam.npy" in err and err.count("\n") == 1, "one line naming it", err)
    written = sorted({f.split(".")[0] for f in os.listdir(d)} - {stems[2]})
    check(written == sorted(stems[:2]), "nothing after it written", str(written))

    code = finish()
    if code == 0:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print("inputs kept in", tmp)
    return code


if __name__ == "__main__":
    sys.exit(main())
