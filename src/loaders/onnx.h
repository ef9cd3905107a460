/* onnx.h — entry points of the ONNX loader (onnx.c and friends): loading a
 * .onnx file, or one already in memory (tests, fuzzing), into a model's
 * weights and graph. */
#ifndef GC_LOADERS_ONNX_H
#define GC_LOADERS_ONNX_H

#include <stddef.h>

#include "core/model.h"

/* 1 if the first bytes of a file look like an ONNX protobuf. */
int gc_onnx_sniff(const void *head, size_t len);

/* Fills m's weights, graph, arch, classes, input size and default layer.
 * label (usually the path) starts every message and locates external
 * data files. opt may be NULL (the defaults): its limits' max_graph_nodes
 * caps the file's nodes and the converted graph's, max_weight_bytes every
 * float the model keeps; its output picks the graph output that holds the
 * scores. On failure m holds partial state for gc_model_free. */
gc_status gc_onnx_load(gc_model *m, const char *path, const gc_load_options *opt,
                       gc_error *err);
gc_status gc_onnx_load_memory(gc_model *m, const void *buf, size_t len, const char *label,
                              const gc_load_options *opt, gc_error *err);

#endif
