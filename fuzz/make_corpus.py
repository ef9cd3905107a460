#!/usr/bin/python3
"""Writes the libFuzzer seed corpora under fuzz/corpus/<target>/.

What it is: the one place the seeds come from. Most are copies of the
project's own test fixtures (tests/fixtures/pth, tests/fixtures/image,
tests/fixtures/parity); a few are made here: a torchvision-named ResNet of
width 1 saved by torch.save in both formats (the real parity fixture is
750 KB, too big for a seed), the data.pkl pickles inside the zip fixtures
for the pickle target, three-class descriptions, and build recipes for the
model target (see fuzz_model.c for their meaning), and small ONNX exports
(torch.onnx.export) for the onnx target. Deterministic except the legacy
.pth, whose storage keys are object ids; re-run
after changing it and commit the result (every seed is a few KB).

Usage: /usr/bin/python3 fuzz/make_corpus.py
"""
import os
import shutil
import struct
import sys
import zipfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
from tiny_resnet import tiny_resnet  # noqa: E402
FIX = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(HERE, "corpus")


def target(name):
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def copy(src_dir, names, dst):
    for n in names:
        shutil.copy(os.path.join(src_dir, n), os.path.join(dst, n))


def seed_resnet():
    """The seeds' width-1 ResNet (tests/python/tiny_resnet.py)."""
    return tiny_resnet(7, 0.1, 0.1)


def tiny_resnet_module():
    """torchvision's resnet18 structure with every width divided by 64 (the
    first stage has one channel), weights from seed_resnet()."""
    import torchvision
    net = torchvision.models.resnet.ResNet(torchvision.models.resnet.BasicBlock, [1, 1, 1, 1],
                                           num_classes=3, width_per_group=64)
    sd = seed_resnet()
    shaped = {k: v for k, v in sd.items()}
    # rebuild the modules at the small widths the state_dict has
    net.inplanes = 1
    net.conv1 = torch.nn.Conv2d(3, 1, 7, 2, 3, bias=False)
    net.bn1 = torch.nn.BatchNorm2d(1)
    for s, width in zip(range(1, 5), (1, 2, 4, 8)):
        setattr(net, "layer%d" % s, net._make_layer(torchvision.models.resnet.BasicBlock, width, 1,
                                                     stride=1 if s == 1 else 2))
    net.fc = torch.nn.Linear(8, 3)
    net.load_state_dict(shaped)
    return net.eval()


def main():
    pth = os.path.join(FIX, "pth")
    img = os.path.join(FIX, "image")

    d = target("pth")
    copy(pth, ["tiny.pth", "tiny_legacy.pth", "tiny_p4.pth", "handmade_ok.pth",
               "handmade_ok_legacy.pth", "checkpoint.pth", "checkpoint_model_legacy.pth",
               "parameters.pth", "list_of_tensors.pth", "setitem_on_list.pth",
               "storage_numel_too_big.pth", "storage_numel_too_big_legacy.pth",
               "tensor_past_storage.pth", "tensor_size_overflow.pth", "evil_os_system.pth",
               "evil_eval_legacy.pth", "memo_undefined.pth", "whole_module.pth"], d)
    sd = seed_resnet()
    torch.save(sd, os.path.join(d, "resnet_w1.pth"))
    torch.save(sd, os.path.join(d, "resnet_w1_legacy.pth"), _use_new_zipfile_serialization=False)

    d = target("pickle")
    for n in ["tiny.pth", "handmade_ok.pth", "tiny_p4.pth", "setitem_on_list.pth",
              "evil_os_system.pth", "memo_undefined.pth", "list_of_tensors.pth"]:
        with zipfile.ZipFile(os.path.join(pth, n)) as z:
            pkl = [i for i in z.namelist() if i.endswith("data.pkl")][0]
            with open(os.path.join(d, n.replace(".pth", ".pkl")), "wb") as f:
                f.write(z.read(pkl))
    copy(pth, ["handmade_ok_legacy.pth", "evil_eval_legacy.pth", "tiny_legacy.pth"], d)

    d = target("npy")
    copy(img, ["npy_f2.npy", "npy_f4.npy", "npy_f8.npy", "npy_v2.npy", "npy_v3.npy",
               "npy_empty.npy", "npy_scalar.npy", "npy_fortran.npy", "npy_bigendian.npy",
               "npy_int32.npy", "f32_cv_8x6_4x3.npy"], d)
    np.save(os.path.join(d, "u1_2x3x4.npy"), np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    np.save(os.path.join(d, "x_1x3x8x8.npy"), np.linspace(-2, 2, 192, dtype=np.float32).reshape(1, 3, 8, 8))

    d = target("image")
    copy(img, ["src_noise_1x1.png", "bilevel.png", "palette.png", "grey.png", "grey16.png",
               "grey_alpha.png", "rgb.png", "rgba.png", "rgb16.png", "badcrc.png",
               "truncated.png", "huge.png", "cmyk.jpg", "grey.jpg", "progressive444.jpg",
               "header_only.jpg", "truncated.jpg", "photo.jpg", "not_an_image.png"], d)

    d = target("description")
    copy(os.path.join(FIX, "parity"), ["resnet18_w8.json"], d)
    seeds = {
        "full.json": '{"name": "m", "classes": ["a", "b", "c"], "input_size": 32, '
                     '"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25], '
                     '"default_layer": "layer3.0", "preprocess": "crop"}',
        "classes.json": '{"classes": ["cat", "dog", "\\u00e9l\\u00e9phant"]}',
        "layer.json": '{"default_layer": "layer4.0.relu"}',
        "bad_std.json": '{"std": [0, 1, 1]}',
        "empty.json": "{}",
    }
    for n, text in seeds.items():
        with open(os.path.join(d, n), "w") as f:
            f.write(text)

    d = target("onnx")
    torch.manual_seed(5)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2), torch.nn.Conv2d(4, 4, 3, stride=2, groups=2),
        torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
        torch.nn.Linear(4, 3)).eval()
    x = torch.zeros(1, 3, 16, 16)
    for opset in (11, 13):
        torch.onnx.export(net, x, os.path.join(d, "small_opset%d.onnx" % opset),
                          opset_version=opset, input_names=["input"], output_names=["logits"])
    # the same graph with the weights kept as separate initializers (no BN fold)
    torch.onnx.export(net, x, os.path.join(d, "small_training_mode.onnx"), opset_version=13,
                      do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE)
    torch.onnx.export(tiny_resnet_module(), torch.zeros(1, 3, 32, 32),
                      os.path.join(d, "resnet_w1.onnx"), opset_version=13)
    window_attention_seeds(d)

    d = target("model")
    recipes = {
        "plain": bytes([1, 2]),
        "bottleneck_key": bytes([0, 3, 0, 5, 0, 0x41]),
        "fc_shape": bytes([2, 4, 0xFF, 0, 0, 9]),
        "dropped_key": bytes([1, 1, 5, 1, 0, 0]),
        "nan_bn": bytes([0, 0, 3, 4, 0, 0]),
        "two_edits": bytes([3, 7, 1, 0, 0x10, 200, 7, 2, 3, 0x55]),
    }
    for n, b in recipes.items():
        with open(os.path.join(d, n), "wb") as f:
            f.write(b)


def window_attention_seeds(d):
    """A one-stage Swin (its shifted-window mask: ScatterND, Range, Where on
    constants; windows merged with the batch) and a one-block MaxViT
    (Einsum), both 32x32, with random LayerNorm and BatchNorm. A dynamic
    batch axis: exported for one image, Swin's window reshapes would bake
    in the batch size."""
    from torchvision.models.maxvit import MaxVit
    from torchvision.models.swin_transformer import SwinTransformer
    torch.manual_seed(6)
    swin = SwinTransformer([4, 4], 8, [2], [2], [4, 4], num_classes=3)
    maxvit = MaxVit((32, 32), 8, 2, [8], [1], 4, 0.0, num_classes=3)
    for name, net in (("swin_tiny.onnx", swin), ("maxvit_tiny.onnx", maxvit)):
        with torch.no_grad():
            for m in net.modules():
                if isinstance(m, (torch.nn.LayerNorm, torch.nn.BatchNorm2d)):
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.2, 0.2)
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.2, 0.2)
                    m.running_var.uniform_(0.5, 2.0)
        torch.onnx.export(net.eval(), torch.zeros(1, 3, 32, 32), os.path.join(d, name),
                          opset_version=17, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})


if __name__ == "__main__":
    main()
