"""tiny_resnet.py — a torchvision-named ResNet state_dict of width 1
(BasicBlock, one block per stage; layer4 has 8 channels), seeded random
weights with BatchNorm statistics that are not an identity. Small enough
for a fuzz seed or a table of hostile inputs; fuzz/make_corpus.py and
test_bad_inputs.py each pick their own seed and scales."""
import torch


def tiny_resnet(seed, stem_scale, conv_scale, bn_gain=0.0, batches=3, classes=3):
    """seed: the generator's; stem_scale, conv_scale: of conv1's and the
    blocks' weights (standard normal times the scale); bn_gain: added to
    BatchNorm's uniform [0, 1) weights; batches: num_batches_tracked."""
    g = torch.Generator().manual_seed(seed)
    sd = {}

    def bn(p, c):
        sd[p + ".weight"] = torch.rand(c, generator=g) + bn_gain
        sd[p + ".bias"] = torch.rand(c, generator=g) - 0.5
        sd[p + ".running_mean"] = torch.rand(c, generator=g) - 0.5
        sd[p + ".running_var"] = torch.rand(c, generator=g) + 0.5
        sd[p + ".num_batches_tracked"] = torch.tensor(batches)

    sd["conv1.weight"] = torch.randn(1, 3, 7, 7, generator=g) * stem_scale
    bn("bn1", 1)
    c = 1
    for s in range(1, 5):
        oc = 1 << (s - 1)
        p = "layer%d.0" % s
        sd[p + ".conv1.weight"] = torch.randn(oc, c, 3, 3, generator=g) * conv_scale
        bn(p + ".bn1", oc)
        sd[p + ".conv2.weight"] = torch.randn(oc, oc, 3, 3, generator=g) * conv_scale
        bn(p + ".bn2", oc)
        if s > 1:
            sd[p + ".downsample.0.weight"] = torch.randn(oc, c, 1, 1, generator=g) * conv_scale
            bn(p + ".downsample.1", oc)
        c = oc
    sd["fc.weight"] = torch.randn(classes, c, generator=g)
    sd["fc.bias"] = torch.randn(classes, generator=g)
    return sd
