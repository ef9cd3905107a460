"""hook_oracle.py — a layer's activation and gradient from PyTorch hooks on
the UNMODIFIED model, the way NOTES.md prescribes where torchvision's
in-place ops (`out += identity`, ReLU(inplace=True)) overwrite a module's
output: the forward hook keeps the tensor the module returned and hands a
clone downstream, so the in-place ops change the clone; the gradient is
taken with respect to the kept tensor. capture_naive() is what a plain
hook sees (the aliased tensor, after the in-place ops), to show that the
difference matters at a layer like layer2.1.bn2.

The maps are computed from A and G with cam_oracle's definitions."""
import torch


def _classes(logits, targets):
    top = logits.detach().argmax(dim=1)
    if targets is None:
        return top
    if isinstance(targets, int):
        return torch.full_like(top, targets)
    return torch.tensor([int(top[i]) if c is None else int(c) for i, c in enumerate(targets)])


def _run(model, x, layer, targets, clone):
    mod = dict(model.named_modules())[layer]
    kept = []

    def hook(module, inputs, out):
        kept.append(out)
        return out.clone() if clone else None

    h = mod.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            logits = model(torch.as_tensor(x))
    finally:
        h.remove()
    if len(kept) != 1:
        raise ValueError("layer %r ran %d times" % (layer, len(kept)))
    classes = _classes(logits, targets)
    score = logits.gather(1, classes[:, None]).sum()
    g, = torch.autograd.grad(score, kept[0])
    return {"A": kept[0].detach(), "G": g.detach(), "logits": logits.detach(),
            "classes": classes}


def capture(model, x, layer, targets=None):
    """A, G, logits, classes at `layer`. targets: None (each image's top-1),
    one int, or one int (or None: top-1) per image."""
    return _run(model, x, layer, targets, clone=True)


def capture_naive(model, x, layer, targets=None):
    """The same through a plain hook: A and G of the tensor after whatever
    in-place ops later overwrote it."""
    return _run(model, x, layer, targets, clone=False)
