"""torch_cam.py — the PyTorch side of the benchmark: Grad-CAM and Score-CAM
done the way the most used Python library (pytorch-grad-cam) does them, so
that the time we compare against is the time people actually pay.

Written from the library's documented behaviour, not copied from it:
  * a forward hook on the target layer keeps its output, and registers a
    tensor hook on that output that keeps the gradient;
  * model.zero_grad(), then a full .backward() of the sum of each image's
    target-class logit, parameters requiring grad (so every weight gradient
    is computed too, as the library does);
  * Grad-CAM weights = spatial mean of the gradient; cam = ReLU(sum_k w_k A^k);
    per-image min-max scaling and cv2.resize to the input size, then the
    library's multi-layer aggregation step (max(0), mean, scale) for one layer;
  * Score-CAM: the activations upsampled to the input with
    UpsamplingBilinear2d, min-max normalised per channel, multiplied into the
    input, run through the model 16 at a time under no_grad, softmax over the
    channels of the target logits.

It deliberately does nothing about speed: no channels_last, no TorchScript,
no inference_mode — a plain PyTorch user's pipeline.
"""
import cv2
import numpy as np
import torch

SCORECAM_BATCH = 16


class LayerHooks:
    """Keeps the target layer's output and its gradient (forward hook plus a
    tensor hook registered from inside it)."""

    def __init__(self, model, layer):
        self.model = model
        self.activations, self.gradients = [], []
        self.handle = layer.register_forward_hook(self._forward)

    def _forward(self, module, inputs, output):
        self.activations.append(output.cpu().detach())
        if not output.requires_grad:
            return

        def keep_grad(grad):
            self.gradients = [grad.cpu().detach()] + self.gradients

        output.register_hook(keep_grad)

    def __call__(self, x):
        self.activations, self.gradients = [], []
        return self.model(x)

    def release(self):
        self.handle.remove()


def scale_cam_image(cam, target_size=None):
    """Per image: subtract the min, divide by (max + 1e-7), resize (w, h)."""
    out = []
    for img in cam:
        img = img - np.min(img)
        img = img / (1e-7 + np.max(img))
        if target_size is not None:
            img = cv2.resize(img, target_size)
        out.append(img)
    return np.float32(out)


def _finish(weights, activations, size):
    cam = (weights[:, :, None, None] * activations).sum(axis=1)
    cam = np.maximum(cam, 0)
    per_layer = scale_cam_image(cam, size)[:, None, :, :]
    # The library's aggregation over target layers, here over one layer.
    cam = np.maximum(np.concatenate([per_layer], axis=1), 0)
    return scale_cam_image(np.mean(cam, axis=1))


def _targets(logits):
    return np.argmax(logits.cpu().data.numpy(), axis=-1)


def gradcam(model, hooks, x):
    """Maps [N, H, W] in [0, 1] for each image's top-1 class."""
    logits = hooks(x)
    classes = _targets(logits)
    model.zero_grad()
    loss = sum(out[c] for out, c in zip(logits, classes))
    loss.backward(retain_graph=True)
    acts = hooks.activations[-1].numpy()
    grads = hooks.gradients[-1].numpy()
    weights = np.mean(grads, axis=(2, 3))
    return _finish(weights, acts, (x.size(-1), x.size(-2)))


def scorecam(model, hooks, x):
    """Score-CAM maps [N, H, W]: one forward for the classes and the
    activations, then channels / 16 batched masked forwards per image."""
    logits = hooks(x)  # the library runs this first pass with autograd on
    classes = _targets(logits)
    acts = hooks.activations[-1].numpy()
    with torch.no_grad():
        upsample = torch.nn.UpsamplingBilinear2d(size=x.shape[-2:])
        up = upsample(torch.from_numpy(acts))
        n, c = up.shape[:2]
        flat = up.view(n, c, -1)
        maxs = flat.max(dim=-1)[0][:, :, None, None]
        mins = flat.min(dim=-1)[0][:, :, None, None]
        up = (up - mins) / (maxs - mins + 1e-8)
        masked = x[:, None, :, :] * up[:, :, None, :, :]
        scores = []
        for cls, per_image in zip(classes, masked):
            for k in range(0, per_image.size(0), SCORECAM_BATCH):
                out = model(per_image[k:k + SCORECAM_BATCH, :])
                scores.extend(o[cls].cpu().item() for o in out)
        scores = torch.Tensor(scores).view(n, c)
        weights = torch.nn.Softmax(dim=-1)(scores).numpy()
    return _finish(weights, acts, (x.size(-1), x.size(-2)))


def forward(model, x):
    with torch.no_grad():
        return model(x)
