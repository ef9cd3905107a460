/* fuzz_pth.c — libFuzzer target: a whole .pth checkpoint (zip or legacy
 * torch.save) through gc_pth_load_memory, lending stored tensors in place
 * as for a mapped file for inputs of odd length, and whatever loads handed
 * on to the ResNet builder, as gc_model_load would. */
#include "fuzz_common.h"
#include "loaders/pth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gc_error err;
    gc_state_dict sd;
    gc_status st = gc_pth_load_memory(data, size, "fuzz.pth", NULL, size % 2, &sd, &err);
    sd.map = NULL; /* the input is libFuzzer's, not a mapping to unmap */
    fz_check_state_dict_and_build(st, &err, &sd, "fuzz.pth", size, 0);
    return 0;
}
