// The part of libFuzzer's interface that a target calls (libFuzzer itself
// calls LLVMFuzzerTestOneInput and LLVMFuzzerCustomMutator, which the
// targets define with @_cdecl). The definition comes from the toolchain's
// libclang_rt.fuzzer, linked by -sanitize=fuzzer.
#ifndef GRANTDT_CLIBFUZZER_H
#define GRANTDT_CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's own byte-level mutation of data[0..<size] in a buffer of
/// max_size bytes; returns the new size.
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

#endif
