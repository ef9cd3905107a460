#!/usr/bin/python3
"""torch_worker.py — times one PyTorch configuration in its own process (so
that thread settings cannot leak between configurations) and prints one JSON
line, like `gradcam bench` does for our side.

  torch_worker.py --model M.pth --what forward|gradcam|scorecam
                  [--layer layer4] [--batch N] [--size S] [--iters K]
                  [--threads T]

ms_per_image is the median over K timed runs, after one warm-up, each run on
a fresh random input, divided by N. load_ms is torch.load + load_state_dict
(building the module, which includes torchvision's random initialisation, is
reported apart as construct_ms). It does not measure process start-up.
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--what", choices=("forward", "gradcam", "scorecam"), required=True)
    p.add_argument("--layer", default="layer4")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    a = p.parse_args()

    import torch
    import torchvision
    import torch_cam

    torch.set_num_threads(a.threads)
    t = time.perf_counter()
    model = torchvision.models.resnet18()
    construct_ms = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    model.load_state_dict(torch.load(a.model, map_location="cpu"))
    load_ms = (time.perf_counter() - t) * 1e3
    model.eval()

    hooks = None
    if a.what != "forward":
        hooks = torch_cam.LayerHooks(model, model.get_submodule(a.layer))

    def run(x):
        if a.what == "forward":
            torch_cam.forward(model, x)
        elif a.what == "gradcam":
            torch_cam.gradcam(model, hooks, x)
        else:
            torch_cam.scorecam(model, hooks, x)

    gen = torch.Generator().manual_seed(12345)

    def fresh():
        return torch.randn(a.batch, 3, a.size, a.size, generator=gen)

    if a.what == "scorecam":
        # A full Score-CAM warm-up costs as much as a timed run; warm up the
        # two kinds of pass it is made of instead.
        torch_cam.forward(model, torch.randn(torch_cam.SCORECAM_BATCH, 3, a.size, a.size))
        hooks(fresh())
    else:
        run(fresh())
    times = []
    for _ in range(a.iters):
        x = fresh()
        t = time.perf_counter()
        run(x)
        times.append((time.perf_counter() - t) * 1e3 / a.batch)
    print(json.dumps({
        "what": a.what, "layer": a.layer, "batch": a.batch, "size": a.size,
        "threads": torch.get_num_threads(), "iters": a.iters,
        "ms_per_image": round(statistics.median(times), 3),
        "min_ms_per_image": round(min(times), 3),
        "load_ms": round(load_ms, 1), "construct_ms": round(construct_ms, 1),
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
