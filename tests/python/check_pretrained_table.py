#!/usr/bin/python3
"""Checks the weight table in src/net/download.c against torchvision.

Each entry must be the file name of torchvision's ResNet*_Weights.IMAGENET1K_V1
URL, served from the base URL that download.h names, so a typo in a hash
prefix (which would make every download fail verification) is caught here.
"""
import os
import re
import sys

from torchvision.models import resnet

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
with open(os.path.join(ROOT, "src", "net", "download.c"), encoding="utf-8") as f:
    ours = dict(re.findall(r'\{"(resnet\d+)", "([^"]+)"\}', f.read()))
with open(os.path.join(ROOT, "src", "net", "download.h"), encoding="utf-8") as f:
    base = re.search(r'#define GC_PRETRAINED_BASE_URL "([^"]+)"', f.read()).group(1)

want = {}
for depth in (18, 34, 50, 101, 152):
    url = getattr(resnet, f"ResNet{depth}_Weights").IMAGENET1K_V1.url
    assert url.startswith(base), (url, base)
    want[f"resnet{depth}"] = url[len(base):]

if ours != want:
    sys.exit(f"download.c table {ours} differs from torchvision {want}")
print(f"download.c: {len(ours)} weight files match torchvision")
