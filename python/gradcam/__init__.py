"""gradcam — Grad-CAM and fifteen related explanations for CNN and ViT
classifiers, over the C library libgradcam (through ctypes; no compiled
extension). NumPy in, NumPy out; errors are gradcam.Error exceptions
carrying the library's one-line message.

    import gradcam
    m = gradcam.Model("resnet18.pth")        # .pth, .safetensors or .onnx
    r = m.explain(x, layer="layer4", methods=("gradcam", "layercam"))
    r.logits, r.classes, r.maps["gradcam"]   # [N, classes], [N], [N, h, w]

A Model may be shared by threads: each thread gets its own library session,
and the library runs without holding the GIL."""
import ctypes
import json
import os
import shutil
import subprocess
import tempfile
import threading
import weakref

import numpy as np

from . import _lib
from ._lib import lib

__all__ = ["Error", "UsageError", "FileError", "FormatError", "UnsupportedError",
           "LimitError", "OutOfMemoryError", "NetworkError", "InternalError",
           "Model", "Result", "explain_image", "from_torch", "methods", "version"]


class Error(Exception):
    """A failure reported by gradcam. .status is the library's status name
    ("usage", "io", "format", ...), str() its one-line message."""

    status = "error"

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class UsageError(Error, ValueError):
    """Something impossible was asked (unknown layer or method, bad class,
    wrong array type or shape)."""
    status = "usage"


class FileError(Error, OSError):
    """A file could not be opened, read or written."""
    status = "io"


class FormatError(Error):
    """A file is malformed, truncated or hostile."""
    status = "format"


class UnsupportedError(Error):
    """A well-formed model that gradcam does not handle."""
    status = "unsupported"


class LimitError(Error):
    """A configured resource limit would be exceeded."""
    status = "limit"


class OutOfMemoryError(Error):
    status = "nomem"


class NetworkError(Error):
    status = "network"


class InternalError(Error):
    status = "internal"


_BY_STATUS = {c.status: c for c in (UsageError, FileError, FormatError, UnsupportedError,
                                    LimitError, OutOfMemoryError, NetworkError, InternalError)}


def _raise(err):
    status = _lib.STATUS_NAMES[err.status] if 0 <= err.status < len(_lib.STATUS_NAMES) \
        else "internal"
    raise _BY_STATUS.get(status, InternalError)(err.msg.decode("utf-8", "replace"))


def _check(status, err):
    if status != 0:
        _raise(err)


def version():
    """The C library's version string."""
    return lib.gc_version().decode()


def methods():
    """The names of every method, in the library's order."""
    return [lib.gc_method_name(i).decode() for i in range(_lib.METHOD_COUNT)]


class Result:
    """What Model.explain returns. logits: float32 [N, classes]; classes:
    int [N], the class explained for each image; maps: {method: array}, each
    [N, h, w] (raw, at the layer's resolution, after ReLU) or, for the two
    guided methods, [N, 3, H, W]; layers: the layer names asked for."""

    def __init__(self, logits, classes, maps, layers, forward_ms, methods_ms):
        self.logits, self.classes, self.maps = logits, classes, maps
        self.layers, self.forward_ms, self.methods_ms = layers, forward_ms, methods_ms

    def __repr__(self):
        shapes = ", ".join("%s %s" % (k, list(v.shape)) for k, v in self.maps.items())
        return "<gradcam.Result classes=%s maps: %s>" % (self.classes.tolist(), shapes)


class Model:
    """A loaded model: path is a torchvision state_dict (.pth), a
    .safetensors file or an ONNX model (decided by content). labels: a text
    file of class names, one per line. limits: a dict with any of
    max_image_pixels, max_weight_bytes, max_graph_nodes (see the README's
    Safety section). output: for an ONNX model with several outputs, the
    one that holds the scores, by name or position (default: the first)."""

    def __init__(self, path, labels=None, limits=None, output=None):
        self._ptr = None
        self._sessions = weakref.WeakSet()  # every thread's live _Session
        self._lock = threading.RLock()
        self._local = threading.local()
        self._owned_dir = None  # from_torch's temporary folder, removed with the model
        self.path, self.labels, self.output = os.fspath(path), labels, output
        self.limits = dict(limits or {})
        lim = _lib.GcLimits()
        for key, value in self.limits.items():
            if not hasattr(lim, key) or key.startswith("_"):
                raise UsageError("unknown limit %r (max_image_pixels, max_weight_bytes, "
                                 "max_graph_nodes)" % key)
            setattr(lim, key, int(value))
        err = _lib.GcError()
        ptr = ctypes.c_void_p()
        opt = _lib.GcLoadOptions(ctypes.pointer(lim),
                                 None if output is None else str(output).encode())
        _check(lib.gc_model_load_with(os.fsencode(self.path), ctypes.byref(opt),
                                      ctypes.byref(ptr), ctypes.byref(err)), err)
        self._ptr = ptr
        if labels is not None:
            st = lib.gc_model_set_labels(self._ptr, os.fsencode(labels), ctypes.byref(err))
            if st:
                self.close()
                _raise(err)
        pre = lib.gc_model_preprocess(self._ptr)
        self.input_size = pre.size
        self.mean, self.std = tuple(pre.mean), tuple(pre.std)
        self.num_classes = lib.gc_model_num_classes(self._ptr)
        self.arch = (lib.gc_model_arch(self._ptr) or b"").decode()
        self.default_layer = (lib.gc_model_default_layer(self._ptr) or b"").decode()

    # -- lifetime ------------------------------------------------------------
    def close(self):
        """Frees the model and every thread's session (also done when the
        Model is garbage-collected)."""
        with self._lock:
            for s in list(self._sessions):
                s.free()
            if self._ptr:
                lib.gc_model_free(self._ptr)
                self._ptr = None
        self._local = threading.local()
        if self._owned_dir:
            shutil.rmtree(self._owned_dir, ignore_errors=True)
            self._owned_dir = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _live(self):
        if not self._ptr:
            raise UsageError("the model is closed")
        return self._ptr

    def _session(self):
        s = getattr(self._local, "session", None)
        if s is None:
            s = self._local.session = _Session(self)
        return s.ptr

    # -- what the model offers -------------------------------------------------
    def layers(self, size=None):
        """[(name, shape), ...] of every layer, in execution order; shape is
        (C, H, W) or (C,) for a size x size input (default: the model's)."""
        m, size = self._live(), size or self.input_size
        err, out, nd = _lib.GcError(), (ctypes.c_int * 3)(), ctypes.c_int()
        layers = []
        for i in range(lib.gc_model_num_layers(m)):
            name = lib.gc_model_layer_name(m, i).decode()
            if lib.gc_model_layer_shape(m, i, size, size, out, ctypes.byref(nd),
                                        ctypes.byref(err)):
                shape = None  # a layer without a single output (a module called twice)
            else:
                shape = tuple(out[:nd.value])
            layers.append((name, shape))
        return layers

    def class_name(self, i):
        name = lib.gc_model_class_name(self._live(), int(i))
        return name.decode() if name else None

    def find_layer(self, name):
        """The layer's index; UsageError with the closest names if unknown."""
        err, idx = _lib.GcError(), ctypes.c_int()
        _check(lib.gc_model_find_layer(self._live(), name.encode(), ctypes.byref(idx),
                                       ctypes.byref(err)), err)
        return idx.value

    # -- computing ----------------------------------------------------------
    @staticmethod
    def _input(x):
        if not isinstance(x, np.ndarray):
            raise UsageError("x must be a NumPy array, got %s" % type(x).__name__)
        if x.dtype != np.float32:
            raise UsageError("x must be float32, got %s (convert with x.astype(np.float32))"
                             % x.dtype)
        if x.ndim != 4 or x.shape[1] != 3:
            raise UsageError("x must be [N, 3, H, W], got shape %s" % (list(x.shape),))
        if 0 in x.shape:
            raise UsageError("x is empty: shape %s" % (list(x.shape),))
        return np.ascontiguousarray(x)

    def predict(self, x):
        """Logits [N, classes] (a forward pass only)."""
        x = self._input(x)
        n, _, h, w = x.shape
        out = np.empty((n, self.num_classes), np.float32)
        err = _lib.GcError()
        fp = ctypes.POINTER(ctypes.c_float)
        _check(lib.gc_predict(self._session(), x.ctypes.data_as(fp), n, h, w,
                              out.ctypes.data_as(fp), ctypes.byref(err)), err)
        return out

    def explain(self, x, layer=None, target=None, methods=("gradcam",), rank=0,
                counterfactual=False, eigen_smooth=False, aug_smooth=False, seed=0):
        """Explains each image of x (float32 [N, 3, H, W], normalised).

        layer: a name as `layers()` lists it (None: the default layer), or
        a list of names (their maps normalised, upsampled and averaged).
        target: None (each image's top-1; with rank=k its k-th class), one
        class index for every image, or one index per image (a sequence of
        N ints; None entries mean that image's top-1). methods: names as
        `gradcam.methods()` lists them."""
        x = self._input(x)
        n, _, h, w = x.shape
        err = _lib.GcError()
        req = _lib.GcRequest()
        keep = []  # buffers the request points into, alive until the call returns
        layers = [] if layer is None else [layer] if isinstance(layer, (str, bytes)) \
            else list(layer)
        if layers:
            arr = (ctypes.c_char_p * len(layers))(
                *[s.encode() if isinstance(s, str) else s for s in layers])
            keep.append(arr)
            req.layers, req.nlayers = ctypes.cast(arr, ctypes.POINTER(ctypes.c_char_p)), \
                len(layers)
        if isinstance(methods, str):
            methods = (methods,)
        ids = []
        for name in methods:
            mid = ctypes.c_int()
            _check(lib.gc_method_parse(str(name).encode(), ctypes.byref(mid),
                                       ctypes.byref(err)), err)
            ids.append(mid.value)
        if ids:
            marr = (ctypes.c_int * len(ids))(*ids)
            keep.append(marr)
            req.methods, req.nmethods = ctypes.cast(marr, ctypes.POINTER(ctypes.c_int)), len(ids)
        req.class_index = _lib.CLASS_TOP1
        if target is None:
            pass
        elif isinstance(target, (int, np.integer)):
            req.class_index = int(target)
        else:
            per = list(target)
            if len(per) != n:
                raise UsageError("target has %d classes for %d images" % (len(per), n))
            carr = (ctypes.c_int * n)(*[_lib.CLASS_TOP1 if c is None else _as_class(c)
                                        for c in per])
            keep.append(carr)
            req.class_per_image = ctypes.cast(carr, ctypes.POINTER(ctypes.c_int))
        req.rank, req.counterfactual = int(rank), int(bool(counterfactual))
        req.eigen_smooth, req.aug_smooth, req.seed = int(bool(eigen_smooth)), \
            int(bool(aug_smooth)), int(seed)
        res = _lib.GcResult()
        fp = ctypes.POINTER(ctypes.c_float)
        _check(lib.gc_explain(self._session(), x.ctypes.data_as(fp), n, h, w,
                              ctypes.byref(req), ctypes.byref(res), ctypes.byref(err)), err)
        try:
            logits = np.ctypeslib.as_array(res.logits, (res.n, res.classes)).copy()
            classes = np.ctypeslib.as_array(res.class_index, (res.n,)).astype(np.int64)
            maps = {}
            for k in range(res.nmethods):
                c, mh, mw = res.map_c[k], res.map_h[k], res.map_w[k]
                a = np.ctypeslib.as_array(res.maps[k], (res.n, c, mh, mw)).copy()
                maps[lib.gc_method_name(res.methods[k]).decode()] = a[:, 0] if c == 1 else a
            return Result(logits, classes, maps, layers or [self.default_layer],
                          res.forward_ms, res.methods_ms)
        finally:
            lib.gc_result_free(ctypes.byref(res))


class _Session:
    """One thread's gc_session. It lives in the Model's thread-local
    storage, so it is freed when its thread ends (or when the Model is
    closed, whichever comes first): threads that come and go do not pile
    up sessions."""

    def __init__(self, model):
        err = _lib.GcError()
        self.ptr, self._lock = ctypes.c_void_p(), model._lock
        _check(lib.gc_session_new(model._live(), ctypes.byref(self.ptr), ctypes.byref(err)), err)
        with model._lock:
            model._sessions.add(self)

    def free(self):
        """Called with the model's lock held, before the model is freed."""
        if self.ptr:
            lib.gc_session_free(self.ptr)
            self.ptr = ctypes.c_void_p()

    def __del__(self):
        try:
            with self._lock:
                self.free()
        except Exception:
            pass


def _as_class(c):
    if not isinstance(c, (int, np.integer)):
        raise UsageError("a per-image target must be an int or None, got %r" % (c,))
    return int(c)


# -- the CLI's pipeline -------------------------------------------------------

_EXIT = {1: FormatError, 2: UsageError, 3: InternalError}


def _cli():
    env = os.environ.get("GRADCAM_CLI")
    if env:
        return env
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "gradcam")
    if os.access(here, os.X_OK):
        return here
    found = shutil.which("gradcam")
    if found:
        return found
    raise FileError("the gradcam command is not bundled in %s and not on PATH"
                    % os.path.dirname(here))


def explain_image(model, image, out_dir="gradcam-out", layer=None, target=None,
                  methods=("gradcam",), preprocess=None, extra_args=()):
    """Runs the CLI's pipeline on one photo (JPEG or PNG): decode, resize and
    normalise as the model's description says, explain, and write the
    figure, the overlay, the raw maps (.npy) and STEM.json into out_dir.
    It runs the `gradcam explain` command bundled with this package (in a
    subprocess) on model's file, with its labels and limits. Returns the
    parsed STEM.json; its "files" name everything written."""
    try:  # the one failure the CLI's exit status would not tell apart
        open(image, "rb").close()
    except OSError as e:
        raise FileError("%s: cannot open: %s" % (os.fspath(image), e.strerror)) from None
    cmd = [_cli(), "explain", "--model", model.path, "--out", os.fspath(out_dir)]
    if model.labels is not None:
        cmd += ["--labels", os.fspath(model.labels)]
    if model.output is not None:
        cmd += ["--output", str(model.output)]
    flags = {"max_image_pixels": "--max-pixels", "max_weight_bytes": "--max-weights",
             "max_graph_nodes": "--max-nodes"}
    for key, value in model.limits.items():
        cmd += [flags[key], str(int(value))]
    for name in ([] if layer is None else [layer] if isinstance(layer, str) else layer):
        cmd += ["--layer", name]
    if target is not None:
        cmd += ["--class", str(target)]
    if isinstance(methods, str):
        methods = (methods,)
    cmd += ["--method", ",".join(methods)]
    if preprocess is not None:
        cmd += ["--preprocess", preprocess]
    cmd += list(extra_args) + ["--", os.fspath(image)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        lines = [line[len("gradcam: "):] if line.startswith("gradcam: ") else line
                 for line in p.stderr.strip().splitlines()]
        raise _EXIT.get(p.returncode, InternalError)(
            "\n".join(lines) or "gradcam exited with %d" % p.returncode)
    stem = None
    for line in p.stdout.splitlines():  # "IMAGE: class (class K) -> OUT/STEM.*"
        if " -> " in line:
            stem = line.rsplit(" -> ", 1)[1]
    if stem is None or not stem.endswith(".*"):
        raise InternalError("unexpected output from gradcam explain: %r" % p.stdout)
    with open(stem[:-2] + ".json") as f:
        return json.load(f)


# -- PyTorch modules ----------------------------------------------------------

def from_torch(module, example_input, labels=None, limits=None, opset=13):
    """Exports a PyTorch module to ONNX in memory and loads it as a Model.

    example_input: a tensor [N, 3, H, W] (or an array); the model's input
    size is its H x W, and the batch axis is dynamic. The module is exported
    in eval mode (its mode is restored afterwards) with every BatchNorm kept
    as its own node, so every module name of `module.named_modules()` that
    has a single output is a layer, BatchNorms included (`layer2.1.bn2`).
    Maps are those of the module's own outputs, as the exported graph has
    no in-place operations. The ONNX bytes are written to a private
    temporary file, which the Model removes when closed (explain_image runs
    the CLI on it)."""
    import io
    import warnings

    import torch

    if not torch.is_tensor(example_input):
        example_input = torch.from_numpy(np.asarray(example_input, np.float32))
    buf = io.BytesIO()
    was_training = module.training
    module.eval()
    try:
        with warnings.catch_warnings():
            # PRESERVE on an eval-mode module exports eval BatchNorms, unfolded;
            # torch warns about constant folding, which concerns training mode.
            warnings.simplefilter("ignore")
            torch.onnx.export(module, example_input, buf, opset_version=opset,
                              input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                              training=torch.onnx.TrainingMode.PRESERVE)
    finally:
        module.train(was_training)
    tmp = tempfile.mkdtemp(prefix="gradcam-torch-")
    try:
        path = os.path.join(tmp, "model.onnx")
        with open(path, "wb") as f:
            f.write(buf.getvalue())
        model = Model(path, labels=labels, limits=limits)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    model._owned_dir = tmp
    return model
