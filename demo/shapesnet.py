"""The demo classifier: a torchvision ResNet with BasicBlocks, narrowed.

The model is an instance of torchvision's own ResNet class whose stem, stages
and classifier are swapped for narrower ones built with torchvision's own
_make_layer, so key names and forward semantics are exactly torchvision's
(conv1 7x7/2, bn1, relu, maxpool 3x3/2, layer1..layer4, avgpool, fc) and only
widths and blocks per stage differ.  Also the exact preprocessing the C tool
applies with preprocess "stretch" at the native size: /255, (x-mean)/std, CHW.

Deliberately not here: training, data, Grad-CAM.
"""
import json
import os

import numpy as np
import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, ResNet

WIDTHS = (16, 32, 64, 128)
BLOCKS = (1, 1, 1, 1)
INPUT_SIZE = 160


def build_model(num_classes, widths=WIDTHS, blocks=BLOCKS):
    m = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=num_classes)
    m.inplanes = widths[0]
    m.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
    m.bn1 = nn.BatchNorm2d(widths[0])
    m.layer1 = m._make_layer(BasicBlock, widths[0], blocks[0])
    m.layer2 = m._make_layer(BasicBlock, widths[1], blocks[1], stride=2)
    m.layer3 = m._make_layer(BasicBlock, widths[2], blocks[2], stride=2)
    m.layer4 = m._make_layer(BasicBlock, widths[3], blocks[3], stride=2)
    m.fc = nn.Linear(widths[3], num_classes)
    # Same initialisation torchvision applies in ResNet.__init__.
    for mod in m.modules():
        if isinstance(mod, nn.Conv2d):
            nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(mod, nn.BatchNorm2d):
            nn.init.constant_(mod.weight, 1)
            nn.init.constant_(mod.bias, 0)
    return m


def widths_from_state_dict(sd):
    """(widths, blocks) recovered from key names and shapes alone, the way the
    C loader has to do it."""
    widths = tuple(sd["layer%d.0.conv1.weight" % i].shape[0] for i in range(1, 5))
    blocks = tuple(len({k.split(".")[1] for k in sd if k.startswith("layer%d." % i)})
                   for i in range(1, 5))
    return widths, blocks


def load(pth, json_path=None):
    """(model in eval mode, description dict) from a checkpoint + its JSON."""
    json_path = json_path or os.path.splitext(pth)[0] + ".json"
    with open(json_path) as f:
        desc = json.load(f)
    sd = torch.load(pth, map_location="cpu")
    widths, blocks = widths_from_state_dict(sd)
    m = build_model(len(desc["classes"]), widths, blocks)
    m.load_state_dict(sd)
    return m.eval(), desc


def preprocess(images, mean, std):
    """uint8 [N,H,W,3] (or one HxWx3) -> float32 tensor [N,3,H,W]."""
    x = np.asarray(images, np.float32)
    if x.ndim == 3:
        x = x[None]
    x = (x / 255.0 - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
