// Malloc tuning: once tuned, a buffer of a megabyte or more is mapped on its
// own (so freeing it returns it to the kernel) even after a larger buffer
// was freed, which is what made untuned glibc keep packs resident; a user's
// own GLIBC_TUNABLES threshold is left alone.
#include "agent/util/malloc_tuning.h"

#include <malloc.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>

namespace coffre {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kGlibcMalloc = false;  // ASan brings its own allocator
#else
constexpr bool kGlibcMalloc = true;
#endif

void* volatile sink;  // keeps the compiler from eliding malloc/free pairs

size_t MappedBytes() { return mallinfo2().hblkhd; }

TEST_CASE("a user's own mmap threshold in GLIBC_TUNABLES is left alone", "[unit][malloc_tuning]") {
  CHECK(ShouldTuneMalloc(nullptr));
  CHECK(ShouldTuneMalloc(""));
  CHECK(ShouldTuneMalloc("glibc.malloc.arena_max=2"));
  CHECK_FALSE(ShouldTuneMalloc("glibc.malloc.mmap_threshold=4194304"));
  CHECK_FALSE(ShouldTuneMalloc("glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=65536"));
}

TEST_CASE("tuned, a large buffer is mapped on its own even after a larger one was freed",
          "[unit][malloc_tuning]") {
  if (!kGlibcMalloc) {
    WARN("not glibc's allocator (AddressSanitizer): malloc tuning not tested");
    return;
  }
  TuneMallocForLargeBuffers();
  // Untuned glibc would raise its threshold to 3 MiB at this free...
  sink = std::malloc(3 << 20);
  REQUIRE(sink != nullptr);
  std::memset(sink, 1, 3 << 20);
  std::free(sink);
  // ...and serve the next 2 MiB from an arena that keeps its pages.
  const size_t before = MappedBytes();
  sink = std::malloc(2 << 20);
  REQUIRE(sink != nullptr);
  const size_t held = MappedBytes();
  std::free(sink);
  CHECK(held >= before + (2 << 20));
  CHECK(MappedBytes() == before);  // and freeing it unmapped it
}

}  // namespace
}  // namespace coffre
