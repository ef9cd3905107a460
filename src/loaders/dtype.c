/* dtype.c — see dtype.h. */
#include "loaders/dtype.h"

#include <string.h>

int gc_dtype_size(gc_dtype dt)
{
    static const int size[GC_DT_COUNT] = {4, 8, 2, 2, 8, 4, 2, 1, 1, 1};
    return dt >= 0 && dt < GC_DT_COUNT ? size[dt] : 0;
}

float gc_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13); /* infinity, NaN */
    } else if (exp) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (!man) {
        bits = sign;
    } else { /* subnormal: normalise */
        exp = 113;
        while (!(man & 0x400)) {
            man <<= 1;
            exp--;
        }
        bits = sign | (exp << 23) | ((man & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float gc_bf16_to_float(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float gc_dtype_element(gc_dtype dt, const uint8_t *p)
{
    uint64_t u = 0;
    for (int b = gc_dtype_size(dt) - 1; b >= 0; b--)
        u = (u << 8) | p[b];
    const uint32_t b32 = (uint32_t)u;
    float f;
    double d;
    switch (dt) {
    case GC_DT_F32: memcpy(&f, &b32, 4); return f;
    case GC_DT_F64: memcpy(&d, &u, 8); return (float)d;
    case GC_DT_F16: return gc_half_to_float((uint16_t)u);
    case GC_DT_BF16: return gc_bf16_to_float((uint16_t)u);
    case GC_DT_I64: return (float)(int64_t)u;
    case GC_DT_I32: return (float)(int32_t)b32;
    case GC_DT_I16: return (float)(int16_t)u;
    case GC_DT_I8: return (float)(int8_t)u;
    case GC_DT_U8: return (float)u;
    case GC_DT_BOOL: return u ? 1.0f : 0.0f;
    default: return 0.0f;
    }
}
