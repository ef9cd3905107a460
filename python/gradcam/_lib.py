"""_lib.py — the C library through ctypes: the structs of include/gradcam.h
field for field, and the functions' signatures. ctypes releases the GIL
around every call into a CDLL, so threads computing with their own
sessions run in parallel.

Where the library is found: $GRADCAM_LIBRARY (a path), else the
libgradcam.so bundled in this package (setup.py copies it in), else the
system's (ctypes.util.find_library)."""
import ctypes
import ctypes.util
import os
from ctypes import POINTER, c_char, c_char_p, c_double, c_float, c_int, c_int64, c_uint, c_void_p

METHOD_COUNT = 16  # GC_METHOD_COUNT
MAX_DIMS = 8
CLASS_TOP1 = -1

# gc_status values, in the header's order.
STATUS_NAMES = ("ok", "usage", "io", "format", "unsupported", "limit", "nomem",
                "network", "internal")


class GcError(ctypes.Structure):
    _fields_ = [("status", c_int), ("msg", c_char * 512)]


class GcLimits(ctypes.Structure):
    _fields_ = [("max_image_pixels", c_int64), ("max_weight_bytes", c_int64),
                ("max_graph_nodes", c_int64)]


class GcLoadOptions(ctypes.Structure):
    _fields_ = [("limits", POINTER(GcLimits)), ("output", c_char_p)]


class GcPreprocess(ctypes.Structure):
    _fields_ = [("size", c_int), ("mean", c_float * 3), ("std", c_float * 3), ("mode", c_int)]


class GcRequest(ctypes.Structure):
    _fields_ = [("layers", POINTER(c_char_p)), ("nlayers", c_int),
                ("class_index", c_int), ("rank", c_int),
                ("methods", POINTER(c_int)), ("nmethods", c_int),
                ("counterfactual", c_int), ("eigen_smooth", c_int), ("aug_smooth", c_int),
                ("seed", c_uint), ("tokens", c_int),
                ("segment", c_int), ("mask", c_void_p), ("mask_h", c_int), ("mask_w", c_int),
                ("detect", c_int), ("box", c_int),
                ("class_per_image", POINTER(c_int))]


class GcResult(ctypes.Structure):
    _fields_ = [("n", c_int), ("classes", c_int), ("in_h", c_int), ("in_w", c_int),
                ("cam_h", c_int), ("cam_w", c_int),
                ("logits", POINTER(c_float)), ("class_index", POINTER(c_int)),
                ("nmethods", c_int), ("methods", c_int * METHOD_COUNT),
                ("maps", POINTER(c_float) * METHOD_COUNT),
                ("map_c", c_int * METHOD_COUNT), ("map_h", c_int * METHOD_COUNT),
                ("map_w", c_int * METHOD_COUNT),
                ("cam", POINTER(c_float)),
                ("out_c", c_int), ("out_h", c_int), ("out_w", c_int),
                ("forward_ms", c_double), ("methods_ms", c_double)]


def _find():
    env = os.environ.get("GRADCAM_LIBRARY")
    if env:
        return env
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "libgradcam.so")
    if os.path.exists(here):
        return here
    found = ctypes.util.find_library("gradcam")
    if found:
        return found
    raise ImportError("libgradcam.so not found: not bundled in %s, GRADCAM_LIBRARY unset, "
                      "and none installed (cmake --install)" % os.path.dirname(here))


path = _find()
lib = ctypes.CDLL(path)

_model_p = c_void_p
_session_p = c_void_p
_err_p = POINTER(GcError)

_SIGNATURES = {
    "gc_version": (c_char_p, []),
    "gc_status_name": (c_char_p, [c_int]),
    "gc_model_load_with": (c_int, [c_char_p, POINTER(GcLoadOptions), POINTER(_model_p),
                                   _err_p]),
    "gc_model_free": (None, [_model_p]),
    "gc_model_num_classes": (c_int, [_model_p]),
    "gc_model_arch": (c_char_p, [_model_p]),
    "gc_model_num_layers": (c_int, [_model_p]),
    "gc_model_layer_name": (c_char_p, [_model_p, c_int]),
    "gc_model_find_layer": (c_int, [_model_p, c_char_p, POINTER(c_int), _err_p]),
    "gc_model_layer_shape": (c_int, [_model_p, c_int, c_int, c_int, c_int * 3, POINTER(c_int),
                                     _err_p]),
    "gc_model_default_layer": (c_char_p, [_model_p]),
    "gc_model_class_name": (c_char_p, [_model_p, c_int]),
    "gc_model_preprocess": (GcPreprocess, [_model_p]),
    "gc_model_set_labels": (c_int, [_model_p, c_char_p, _err_p]),
    "gc_method_name": (c_char_p, [c_int]),
    "gc_method_parse": (c_int, [c_char_p, POINTER(c_int), _err_p]),
    "gc_method_is_image": (c_int, [c_int]),
    "gc_session_new": (c_int, [_model_p, POINTER(_session_p), _err_p]),
    "gc_session_free": (None, [_session_p]),
    "gc_explain": (c_int, [_session_p, POINTER(c_float), c_int, c_int, c_int,
                           POINTER(GcRequest), POINTER(GcResult), _err_p]),
    "gc_predict": (c_int, [_session_p, POINTER(c_float), c_int, c_int, c_int,
                           POINTER(c_float), _err_p]),
    "gc_result_free": (None, [POINTER(GcResult)]),
    "gc_cpu_tier": (c_char_p, []),
}
for _name, (_res, _args) in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.restype, _fn.argtypes = _res, _args
