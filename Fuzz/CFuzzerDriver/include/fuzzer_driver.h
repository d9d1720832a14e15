#ifndef GROUPSYNC_FUZZER_DRIVER_H
#define GROUPSYNC_FUZZER_DRIVER_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt, LLVM 11 and later), linked in by -sanitize=fuzzer.
/// Only referenced when the fuzz targets are built with -DGROUPSYNC_FUZZ.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
