#!/usr/bin/python3
"""Train the demo shapes classifier and write models/shapes.pth + shapes.json.

Seeded end to end: scenes come from demo/scenes.py (training set base seed
1000, never used elsewhere), weights from torch.manual_seed.  The training set
is generated once up front (a shared 2-core machine cannot afford to draw every
batch afresh) and augmented with the 8 flips/quarter turns, which leave every
class unchanged.  A share of scenes hold two objects; their target is 0.5/0.5
on the two classes, which keeps the model a plain softmax classifier while
teaching it that evidence for one class does not cancel evidence for another
(what Grad-CAM's class discrimination needs).

Preprocessing is exactly what the C tool does with "stretch" at the native
size: uint8 RGB at INPUT_SIZE, /255, (x-mean)/std, CHW.

Deliberately not here: GPU support, checkpoint resumption.

Reproduce: see demo/README.md (the committed model took five runs, each
starting from the previous weights: --init, --replan, --two-share).
"""
import argparse
import json
import multiprocessing
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
TWO_SHARE = 3          # scenes i with i % 10 < share hold two objects


def n_objects(i, share=TWO_SHARE):
    return 2 if i % 10 < share else 1


class Scenes:
    """Scene i of a set -> (uint8 HxWx3 image, float32 target distribution)."""

    def __init__(self, base, size, two=TWO_SHARE, radii=None):
        self.base, self.size, self.two, self.radii = base, size, two, radii

    def __call__(self, i):
        n = n_objects(i, self.two)
        img, objs = scenes.make_scene(scenes.scene_seed(self.base, i), n, self.size,
                                      radii=self.radii)
        target = np.zeros(len(scenes.CLASSES), np.float32)
        for o in objs:
            target[o["class"]] = 1.0 / len(objs)
        return img, target


def generate(base, count, size, two, workers, radii=None):
    with multiprocessing.Pool(workers) as pool:
        data = pool.map(Scenes(base, size, two, radii), range(count), chunksize=128)
    return (torch.from_numpy(np.stack([d[0] for d in data])),
            torch.from_numpy(np.stack([d[1] for d in data])))


def accuracy(model, imgs, targets, mean, std):
    model.eval()
    correct = 0
    with torch.no_grad():
        for k in range(0, len(imgs), 200):
            x = shapesnet.preprocess(imgs[k:k + 200].numpy(), mean, std)
            correct += (model(x).argmax(1) == targets[k:k + 200].argmax(1)).sum().item()
    return correct / len(imgs)


def main():
    ap = argparse.ArgumentParser(description="train the demo shapes model")
    ap.add_argument("--train", type=int, default=16000, help="training scenes")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--heldout", type=int, default=2000)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..",
                                                  "models", "shapes"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--two-share", type=int, default=TWO_SHARE,
                    help="two-object scenes per 10 training scenes")
    ap.add_argument("--init", help="start from these weights instead of at random")
    ap.add_argument("--replan", metavar="STEP:TOTAL",
                    help="after STEP steps, end the run (and the learning-rate "
                         "schedule's final annealing phase) at TOTAL steps instead")
    a = ap.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    size = shapesnet.INPUT_SIZE
    t0 = time.time()
    radii = None
    imgs, targets = generate(TRAIN_BASE, a.train, size, a.two_share, a.threads, radii)
    x = imgs[:1000].reshape(-1, 3).double() / 255.0
    mean = [round(float(v), 4) for v in x.mean(0)]
    std = [round(float(v), 4) for v in x.std(0)]
    del x
    print("generated %d training scenes in %.0fs; mean %s std %s"
          % (a.train, time.time() - t0, mean, std), flush=True)

    model = shapesnet.build_model(len(scenes.CLASSES))
    if a.init:
        model.load_state_dict(torch.load(a.init, map_location="cpu"))
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.steps,
                                                pct_start=0.15)
    gen = torch.Generator().manual_seed(1)
    mean_t = torch.tensor(mean).view(1, 3, 1, 1)
    std_t = torch.tensor(std).view(1, 3, 1, 1)
    t0, run_loss, step = time.time(), 0.0, 0
    model.train()
    while step < a.steps:
        order = torch.randperm(a.train, generator=gen)
        for k in range(0, a.train - a.batch + 1, a.batch):
            idx = order[k:k + a.batch]
            # Same arithmetic as shapesnet.preprocess, on the whole batch.
            x = (imgs[idx].permute(0, 3, 1, 2).float() / 255.0 - mean_t) / std_t
            t = int(torch.randint(8, (1,), generator=gen))
            x = torch.rot90(x, t % 4, (2, 3))
            if t >= 4:
                x = torch.flip(x, (3,))
            loss = F.cross_entropy(model(x.contiguous()), targets[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            run_loss += loss.item()
            step += 1
            if a.replan and step == int(a.replan.split(":")[0]):
                # What shortening a run by hand does: the one-cycle schedule's
                # last phase now ends at the new total.
                a.steps = int(a.replan.split(":")[1])
                sched.total_steps = a.steps
                sched._schedule_phases[-1]["end_step"] = a.steps - 1
            if step % 50 == 0:
                print("step %d/%d loss %.4f  %.0fs" % (step, a.steps, run_loss / 50,
                                                       time.time() - t0), flush=True)
                run_loss = 0.0
            if step == a.steps:
                break
    del imgs, targets

    h_imgs, h_targets = generate(HELDOUT_BASE, a.heldout, size, 0, a.threads, radii)
    acc = accuracy(model, h_imgs, h_targets, mean, std)
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
