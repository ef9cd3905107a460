/* description.h — the JSON description that may sit beside a model file
 * (NAME.json next to NAME.pth): class names, input size, normalisation,
 * default layer. */
#ifndef GC_LOADERS_DESCRIPTION_H
#define GC_LOADERS_DESCRIPTION_H

#include "core/model.h"

/* Reads the description beside model_path into m; absent is fine,
 * malformed is an error naming the field. */
gc_status gc_description_load(gc_model *m, const char *model_path, gc_error *err);

#endif
