/* fuzz_safetensors.c — libFuzzer target: a whole .safetensors file through
 * gc_safetensors_load_memory, lending aligned float32 tensors in place as
 * for a mapped file for inputs of odd length, and whatever loads handed on
 * to the ResNet builder, as gc_model_load would. Beyond the .pth checks,
 * its tensors must have unique, "module."-stripped names and at least one
 * input byte per element. */
#include "fuzz_common.h"
#include "loaders/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gc_error err;
    gc_state_dict sd;
    gc_status st =
        gc_safetensors_load_memory(data, size, "fuzz.safetensors", NULL, size % 2, &sd, &err);
    sd.map = NULL; /* the input is libFuzzer's, not a mapping to unmap */
    fz_check_state_dict_and_build(st, &err, &sd, "fuzz.safetensors", size, 1);
    return 0;
}
