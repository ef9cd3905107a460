/* dtype.h — the element types that weight files store and their
 * conversion to float32, shared by the .pth and safetensors loaders (and
 * the ONNX loader's half-precision readers). Little-endian bytes
 * whatever the host; nothing here allocates or fails. */
#ifndef GC_LOADERS_DTYPE_H
#define GC_LOADERS_DTYPE_H

#include <stdint.h>

typedef enum gc_dtype {
    GC_DT_F32, GC_DT_F64, GC_DT_F16, GC_DT_BF16, GC_DT_I64, GC_DT_I32, GC_DT_I16, GC_DT_I8,
    GC_DT_U8, GC_DT_BOOL, GC_DT_COUNT
} gc_dtype;

/* Bytes per element. */
int gc_dtype_size(gc_dtype dt);

/* The element at p (little-endian) as float32: integers and doubles
 * rounded to nearest, booleans 0 or 1. */
float gc_dtype_element(gc_dtype dt, const uint8_t *p);

/* IEEE half and bfloat16 bits as float32, exactly (subnormals, infinities
 * and NaNs included). */
float gc_half_to_float(uint16_t h);
float gc_bf16_to_float(uint16_t h);

#endif
