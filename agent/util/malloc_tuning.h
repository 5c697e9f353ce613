// Malloc tuning for coffre's long data pipelines: buffers of a megabyte and
// more (chunks, packs) go straight to the kernel and back, so the process's
// resident memory follows what it holds rather than what it once held.
//
// glibc raises its mmap threshold each time such a buffer is freed (up to
// 32 MiB), after which packs and chunks come from per-thread arenas that keep
// freed pages and the untouched tail of every reserved pack resident: a
// first backup of bench/run.sh's 2 GB set peaked at 113-118 MiB that way,
// against 82-85 MiB with the threshold fixed (bench/RESULTS.md, run 9).
// Thread-safety: call once at start, before other threads exist.
#pragma once

namespace coffre {

// Fixes glibc's mmap threshold at kLargeBufferThreshold, unless the user
// chose one with GLIBC_TUNABLES (glibc.malloc.mmap_threshold), which wins.
void TuneMallocForLargeBuffers();

// Whether to tune, given the value of GLIBC_TUNABLES (null: unset).
bool ShouldTuneMalloc(const char* glibc_tunables);

inline constexpr int kLargeBufferThreshold = 1 << 20;

}  // namespace coffre
