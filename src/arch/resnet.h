/* resnet.h — the architecture a .pth or safetensors file does not itself
 * describe: torchvision's ResNet family, built from the names and shapes
 * of its weights (resnet.c says how). */
#ifndef GC_ARCH_RESNET_H
#define GC_ARCH_RESNET_H

#include "core/model.h"

/* Builds m->graph from m->weights (which m owns) with the operators the
 * ONNX loader emits for the same network. path only labels messages. */
gc_status gc_resnet_build(gc_model *m, const char *path, gc_error *err);

#endif
