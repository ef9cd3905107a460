/* graph_ext.h — shape inference and execution of the operators ONNX models
 * add to the graph (GC_OP_UNARY and after), kept apart from graph.c and
 * session.c, which call these from their default cases. */
#ifndef GC_CORE_GRAPH_EXT_H
#define GC_CORE_GRAPH_EXT_H

#include "core/graph.h"

struct gc_session;

/* Node i's per-image output shape from its inputs' (already in shapes). */
gc_status gc_ext_shape(const gc_graph *g, int i, gc_shape *shapes, gc_error *err);
void gc_ext_forward(struct gc_session *s, int i);
/* Accumulates node i's gradient into the inputs that need one. */
void gc_ext_backward(struct gc_session *s, int i);

#endif
