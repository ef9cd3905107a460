#!/usr/bin/python3
"""Train the demo shapes classifier and write models/shapes.pth + shapes.json.

Seeded end to end: scenes come from demo/scenes.py (training set base seed
1000, never used elsewhere), weights from torch.manual_seed.  Every batch is
freshly generated, so there is no fixed training set to overfit.  A share of
scenes hold two objects; their target is 0.5/0.5 on the two classes, which
keeps the model a plain softmax classifier while teaching it that evidence for
one class does not cancel evidence for another (what Grad-CAM's class
discrimination needs).

Preprocessing is exactly what the C tool does with "stretch" at the native
size: uint8 RGB at INPUT_SIZE, /255, (x-mean)/std, CHW.

Deliberately not here: GPU support, checkpoint resumption, augmentation (the
generator already randomises everything).

Reproduce: nice -n 10 /usr/bin/python3 demo/train.py   (about 15 min, 2 cores)
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenes  # noqa: E402
import shapesnet  # noqa: E402

TRAIN_BASE = 1000      # training scenes: scene_seed(TRAIN_BASE, i)
HELDOUT_BASE = 2       # held-out accuracy scenes (single object)
TWO_SHARE = 3          # scenes i with i % 10 < TWO_SHARE hold two objects


def n_objects(i):
    return 2 if i % 10 < TWO_SHARE else 1


class Scenes(torch.utils.data.Dataset):
    def __init__(self, base, count, size, two=True):
        self.base, self.count, self.size, self.two = base, count, size, two

    def __len__(self):
        return self.count

    def __getitem__(self, i):
        n = n_objects(i) if self.two else 1
        img, objs = scenes.make_scene(scenes.scene_seed(self.base, i), n, self.size)
        target = np.zeros(len(scenes.CLASSES), np.float32)
        for o in objs:
            target[o["class"]] = 1.0 / len(objs)
        return img, target


def channel_stats(size, count=512):
    imgs = np.stack([Scenes(TRAIN_BASE, count, size)[i][0] for i in range(count)])
    x = imgs.reshape(-1, 3).astype(np.float64) / 255.0
    return [round(float(v), 4) for v in x.mean(0)], [round(float(v), 4) for v in x.std(0)]


def accuracy(model, size, mean, std, count, base=HELDOUT_BASE):
    loader = torch.utils.data.DataLoader(Scenes(base, count, size, two=False),
                                         batch_size=100, num_workers=1)
    correct = 0
    model.eval()
    with torch.no_grad():
        for imgs, target in loader:
            logits = model(shapesnet.preprocess(imgs.numpy(), mean, std))
            correct += (logits.argmax(1) == target.argmax(1)).sum().item()
    return correct / count


def main():
    ap = argparse.ArgumentParser(description="train the demo shapes model")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--heldout", type=int, default=2000)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..",
                                                  "models", "shapes"))
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    size = shapesnet.INPUT_SIZE
    mean, std = channel_stats(size)
    print("mean", mean, "std", std, flush=True)

    model = shapesnet.build_model(len(scenes.CLASSES))
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.steps,
                                                pct_start=0.15)
    loader = torch.utils.data.DataLoader(Scenes(TRAIN_BASE, a.steps * a.batch, size),
                                         batch_size=a.batch, num_workers=1,
                                         prefetch_factor=4)
    t0, run_loss = time.time(), 0.0
    model.train()
    for step, (imgs, target) in enumerate(loader, 1):
        x = shapesnet.preprocess(imgs.numpy(), mean, std)
        loss = F.cross_entropy(model(x), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        run_loss += loss.item()
        if step % 100 == 0:
            print("step %d/%d loss %.4f  %.0fs" % (step, a.steps, run_loss / 100,
                                                   time.time() - t0), flush=True)
            run_loss = 0.0

    acc = accuracy(model, size, mean, std, a.heldout)
    print("held-out accuracy (%d single-object scenes, seed base %d): %.4f"
          % (a.heldout, HELDOUT_BASE, acc), flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    torch.save(model.state_dict(), a.out + ".pth")
    with open(a.out + ".json", "w") as f:
        json.dump({"name": "shapes", "classes": scenes.CLASSES, "input_size": size,
                   "mean": mean, "std": std, "default_layer": "layer4",
                   "preprocess": "stretch"}, f, indent=1)
        f.write("\n")
    print("wrote %s.pth (%d bytes) and %s.json" % (a.out, os.path.getsize(a.out + ".pth"),
                                                   a.out), flush=True)


if __name__ == "__main__":
    main()
