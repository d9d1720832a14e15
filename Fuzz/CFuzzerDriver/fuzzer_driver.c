#include "fuzzer_driver.h"

// -sanitize=fuzzer links all of libFuzzer, its own main included, and that main names this
// function. The fuzz targets run libFuzzer from their own main through LLVMFuzzerRunDriver
// (SwiftPM points main at the Swift module's entry), so this is never called.
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    (void)data;
    (void)size;
    return 0;
}
