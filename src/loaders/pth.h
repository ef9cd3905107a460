/* pth.h — internal entry points of the .pth (torch.save) loader, for tests
 * and fuzz targets that already hold a checkpoint in memory. The public
 * entry point, gc_pth_load(), is declared in state_dict.h. */
#ifndef GC_LOADERS_PTH_H
#define GC_LOADERS_PTH_H

#include <stddef.h>

#include "loaders/state_dict.h"

/* Caps on what one checkpoint may make us allocate. */
#define GC_PTH_MAX_PICKLE ((size_t)256 << 20)      /* bytes of data.pkl       */
#define GC_PTH_MAX_OUTPUT ((uint64_t)4 << 30)      /* float32 bytes produced  */
#define GC_PTH_MAX_STORAGE ((uint64_t)8 << 30)     /* raw storage bytes read  */

/* Parses a zip-format or legacy checkpoint held in buf. label (usually the
 * file path) starts every error message. buf must stay valid during the
 * call only; *out owns everything it holds. On failure *out is empty. */
gc_status gc_pth_load_memory(const void *buf, size_t len, const char *label,
                             gc_state_dict *out, gc_error *err);

#endif
