// FileChunker: a file read from disk is cut exactly as the chunker cuts the
// same bytes in memory, sparse files emit their extents only, and a file that
// shrinks or a cancel request stops the run with the right code.
#include "agent/backup/file_chunker.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "agent/util/fd.h"
#include "tests/support/random_data.h"
#include "tests/support/temp_dir.h"

namespace coffre::backup {
namespace {

using testing::RandomBytes;
using testing::TempDir;

constexpr chunker::Params kSmall{4096, 16384, 65536};

chunker::Chunker MakeChunker() {
  return chunker::Chunker(kSmall, chunker::DeriveGearTable(AsBytes("file chunker test")));
}

void WriteAt(int fd, uint64_t offset, ByteView data) {
  REQUIRE(pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset)) ==
          static_cast<ssize_t>(data.size()));
}

UniqueFd MakeFile(const std::string& path, ByteView data) {
  UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  REQUIRE(fd.valid());
  if (!data.empty()) WriteAt(fd.get(), 0, data);
  return fd;
}

// The cut points of `data` chunked in memory, the reference.
std::vector<size_t> InMemoryCuts(const chunker::Chunker& c, ByteView data) {
  std::vector<size_t> cuts;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t cut = c.FindCut(data.subspan(pos));
    pos += cut;
    cuts.push_back(pos);
  }
  return cuts;
}

struct Collected {
  Bytes all;
  std::vector<size_t> cuts;  // running end offsets
  std::vector<size_t> sizes;
};

Status Chunk(FileChunker& fc, int fd, uint64_t size, const std::vector<format::Extent>& extents,
             Collected* out, const std::atomic<bool>* cancel = nullptr) {
  return fc.Run(fd, size, extents, cancel, [&](ByteView chunk) {
    out->all.insert(out->all.end(), chunk.begin(), chunk.end());
    out->cuts.push_back(out->all.size());
    out->sizes.push_back(chunk.size());
    return Status::Ok();
  });
}

TEST_CASE("file chunker cuts a file as the chunker cuts its bytes", "[unit][file_chunker]") {
  TempDir dir;
  chunker::Chunker c = MakeChunker();
  Bytes data = RandomBytes(42, 3 * 1024 * 1024 + 123);
  UniqueFd fd = MakeFile(dir.Sub("f"), data);

  FileChunker fc(&c);
  Collected got;
  REQUIRE(Chunk(fc, fd.get(), data.size(), {}, &got).ok());
  CHECK(got.all == data);
  CHECK(got.cuts == InMemoryCuts(c, data));
  CHECK(got.sizes.size() > 50);
  for (size_t i = 0; i + 1 < got.sizes.size(); ++i) {
    CHECK(got.sizes[i] >= kSmall.min_size);
    CHECK(got.sizes[i] <= kSmall.max_size);
  }
  CHECK(fc.bytes_read() == data.size());

  SECTION("the same chunker then cuts a small file right") {
    // Leftover state from the big file must not leak into the next one.
    Bytes small = RandomBytes(7, 5000);
    UniqueFd fd2 = MakeFile(dir.Sub("small"), small);
    Collected got2;
    REQUIRE(Chunk(fc, fd2.get(), small.size(), {}, &got2).ok());
    CHECK(got2.all == small);
    CHECK(got2.cuts == InMemoryCuts(c, small));
    CHECK(fc.bytes_read() == data.size() + small.size());
  }
  SECTION("a file that grew since its stat is read up to the stat size") {
    WriteAt(fd.get(), data.size(), RandomBytes(8, 100000));
    Collected got2;
    REQUIRE(Chunk(fc, fd.get(), data.size(), {}, &got2).ok());
    CHECK(got2.all == data);
  }
}

TEST_CASE("file chunker emits nothing for an empty file", "[unit][file_chunker]") {
  TempDir dir;
  chunker::Chunker c = MakeChunker();
  UniqueFd fd = MakeFile(dir.Sub("empty"), {});
  FileChunker fc(&c);
  Collected got;
  REQUIRE(Chunk(fc, fd.get(), 0, {}, &got).ok());
  CHECK(got.sizes.empty());
  // An all-hole file is described by the marker extent {size, 0}.
  REQUIRE(ftruncate(fd.get(), 1 << 20) == 0);
  REQUIRE(Chunk(fc, fd.get(), 1 << 20, {{1 << 20, 0}}, &got).ok());
  CHECK(got.sizes.empty());
  CHECK(fc.bytes_read() == 0);
}

TEST_CASE("file chunker reads only the data extents of a sparse file", "[unit][file_chunker]") {
  TempDir dir;
  chunker::Chunker c = MakeChunker();
  // The "holes" hold bytes here: any of them in the output would show that
  // the chunker read outside the extents it was given.
  const uint64_t size = 4 << 20;
  Bytes everything = RandomBytes(1, size);
  UniqueFd fd = MakeFile(dir.Sub("sparse"), everything);
  std::vector<format::Extent> extents = {{0, 70000}, {1 << 20, 200000}, {3 << 20, 4096},
                                         {(4 << 20) - 10, 10}};
  Bytes expected;
  for (const auto& e : extents)
    expected.insert(expected.end(), everything.begin() + e.offset,
                    everything.begin() + e.offset + e.length);

  FileChunker fc(&c);
  Collected got;
  REQUIRE(Chunk(fc, fd.get(), size, extents, &got).ok());
  CHECK(got.all == expected);
  // Chunks span extents: the cut points are those of the concatenation.
  CHECK(got.cuts == InMemoryCuts(c, expected));
  CHECK(fc.bytes_read() == expected.size());
}

TEST_CASE("file chunker reports a file shorter than its size", "[unit][file_chunker]") {
  TempDir dir;
  chunker::Chunker c = MakeChunker();
  Bytes data = RandomBytes(3, 300000);
  UniqueFd fd = MakeFile(dir.Sub("short"), data);
  FileChunker fc(&c);

  SECTION("whole file") {
    Collected got;
    Status s = Chunk(fc, fd.get(), data.size() + 1000, {}, &got);
    CHECK(s.code() == ErrorCode::kIo);
    CHECK_THAT(s.message(), Catch::Contains("shrank"));
    // What was emitted before the error is the file's true prefix.
    CHECK(std::equal(got.all.begin(), got.all.end(), data.begin()));
  }
  SECTION("an extent past the end") {
    Collected got;
    Status s = Chunk(fc, fd.get(), 1 << 20, {{0, 1000}, {900000, 1000}}, &got);
    CHECK(s.code() == ErrorCode::kIo);
  }
  SECTION("a file smaller than one chunk") {
    Bytes tiny = RandomBytes(4, 3000);
    UniqueFd fd2 = MakeFile(dir.Sub("tiny"), tiny);
    Collected got;
    Status s = Chunk(fc, fd2.get(), 3001, {}, &got);
    CHECK(s.code() == ErrorCode::kIo);
    CHECK(got.sizes.empty());
  }
}

TEST_CASE("file chunker stops with kCancelled when asked", "[unit][file_chunker]") {
  TempDir dir;
  chunker::Chunker c = MakeChunker();
  Bytes data = RandomBytes(5, 2 << 20);
  UniqueFd fd = MakeFile(dir.Sub("f"), data);
  FileChunker fc(&c);
  std::atomic<bool> cancel{false};

  SECTION("before the first chunk") {
    cancel = true;
    Collected got;
    CHECK(Chunk(fc, fd.get(), data.size(), {}, &got, &cancel).code() == ErrorCode::kCancelled);
    CHECK(got.sizes.empty());
  }
  SECTION("in the middle") {
    size_t emitted = 0;
    Status s = fc.Run(fd.get(), data.size(), {}, &cancel, [&](ByteView) {
      if (++emitted == 3) cancel = true;
      return Status::Ok();
    });
    CHECK(s.code() == ErrorCode::kCancelled);
    CHECK(emitted == 3);
  }
  SECTION("an error from emit stops the run and is returned") {
    size_t emitted = 0;
    Status s = fc.Run(fd.get(), data.size(), {}, &cancel, [&](ByteView) {
      return ++emitted == 2 ? NoSpaceError("full") : Status::Ok();
    });
    CHECK(s.code() == ErrorCode::kNoSpace);
    CHECK(emitted == 2);
  }
}

}  // namespace
}  // namespace coffre::backup
