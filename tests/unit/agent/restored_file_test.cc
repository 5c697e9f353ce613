// RestoredFile: chunks arriving in any order, from many threads, land where
// the file's content puts them; a sparse file's holes stay holes; a chunk
// that could not be read leaves zeros and is reported; a write error is
// reported once; Finish gives the file its size and metadata, and Abandon
// leaves a partly written file without them.
#include "agent/restore/restored_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/random_data.h"
#include "tests/support/temp_dir.h"

namespace coffre::restore {
namespace {

struct Fixture {
  testing::TempDir dir;
  DirFd dirfd = std::make_shared<UniqueFd>(open(dir.path().c_str(), O_RDONLY | O_DIRECTORY));

  // A new empty file `name`, as the restorer creates it.
  std::shared_ptr<RestoredFile> Create(format::Node node, int extra_flags = 0) {
    UniqueFd fd(openat(dirfd->get(), node.name.c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | extra_flags, 0600));
    REQUIRE(fd.valid());
    std::string path = "/" + node.name;
    return std::make_shared<RestoredFile>(dirfd, std::move(fd), std::move(node), path);
  }
  Bytes Read(const std::string& name) {
    std::string s = testing::ReadFile(dir.Sub(name));
    return Bytes(s.begin(), s.end());
  }
};

format::Node FileNode(const std::string& name, uint64_t size) {
  format::Node node;
  node.name = name;
  node.mode = 0640;
  node.size = size;
  node.mtime_ns = 1'600'000'000'123'456'789;
  return node;
}

TEST_CASE("chunks written out of order from several threads make the file", "[unit][tsan]") {
  Fixture f;
  const size_t kChunk = 4096, kChunks = 64;
  Bytes content = testing::RandomBytes(7, kChunk * kChunks - 100);  // last chunk short
  auto file = f.Create(FileNode("a", content.size()));
  std::vector<size_t> order(kChunks);
  for (size_t i = 0; i < kChunks; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(1));
  file->Hold(kChunks);
  std::vector<std::thread> threads;
  int finishers = 0;
  std::mutex mu;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t k = t; k < kChunks; k += 4) {
        const size_t i = order[k];
        const size_t len = std::min(kChunk, content.size() - i * kChunk);
        file->Write(i * kChunk, ByteView(content.data() + i * kChunk, len));
        if (file->Release()) {
          std::lock_guard lock(mu);
          ++finishers;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(finishers == 0);   // the planner's hold is still there
  CHECK(file->Release());  // ... and it is the last one
  auto outcome = file->Finish();
  CHECK(outcome.damage.ok());
  CHECK(outcome.problems.empty());
  CHECK(outcome.written == content.size());
  CHECK(f.Read("a") == content);
  struct stat st{};
  REQUIRE(stat(f.dir.Sub("a").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  CHECK(st.st_mtim.tv_sec == 1'600'000'000);
  CHECK(st.st_mtim.tv_nsec == 123'456'789);
}

TEST_CASE("a sparse file's chunks are cut along its extents and the holes stay holes") {
  Fixture f;
  const uint64_t kSize = 8 << 20;
  format::Node node = FileNode("sparse", kSize);
  node.sparse = {{0, 3000}, {1 << 20, 5000}, {kSize - 4096, 4096}};
  Bytes data = testing::RandomBytes(3, 3000 + 5000 + 4096);
  auto file = f.Create(node);
  // Chunks that straddle extents, delivered last first.
  file->Write(6000, ByteView(data.data() + 6000, data.size() - 6000));
  file->Write(2000, ByteView(data.data() + 2000, 4000));
  file->Write(0, ByteView(data.data(), 2000));
  REQUIRE(file->Release());
  auto outcome = file->Finish();
  CHECK(outcome.problems.empty());
  CHECK(outcome.written == data.size());
  Bytes got = f.Read("sparse");
  REQUIRE(got.size() == kSize);
  Bytes want(kSize, 0);
  std::copy(data.begin(), data.begin() + 3000, want.begin());
  std::copy(data.begin() + 3000, data.begin() + 8000, want.begin() + (1 << 20));
  std::copy(data.begin() + 8000, data.end(), want.begin() + (kSize - 4096));
  CHECK(got == want);
  struct stat st{};
  REQUIRE(stat(f.dir.Sub("sparse").c_str(), &st) == 0);
  CHECK(static_cast<uint64_t>(st.st_blocks) * 512 < kSize / 2);  // holes, not zeros
}

TEST_CASE("a chunk that could not be read leaves zeros and the first cause is reported") {
  Fixture f;
  Bytes content = testing::RandomBytes(5, 3000);
  auto file = f.Create(FileNode("damaged", content.size()));
  file->Write(0, ByteView(content.data(), 1000));
  file->Damaged(CorruptionError("pack 1234: blob ab does not decrypt"));
  file->Damaged(CorruptionError("a later cause"));
  file->Write(2000, ByteView(content.data() + 2000, 1000));
  REQUIRE(file->Release());
  auto outcome = file->Finish();
  CHECK(outcome.damage.code() == ErrorCode::kCorruption);
  CHECK(outcome.damage.message().find("pack 1234") != std::string::npos);
  Bytes want = content;
  std::fill(want.begin() + 1000, want.begin() + 2000, 0);
  CHECK(f.Read("damaged") == want);
}

TEST_CASE("a missing last chunk still leaves the file at its size") {
  Fixture f;
  Bytes content = testing::RandomBytes(6, 2000);
  auto file = f.Create(FileNode("short", 5000));
  file->Write(0, content);
  file->Damaged(CorruptionError("chunk 99 is in no index"));
  REQUIRE(file->Release());
  file->Finish();
  Bytes got = f.Read("short");
  REQUIRE(got.size() == 5000);
  CHECK(std::equal(content.begin(), content.end(), got.begin()));
  CHECK(std::all_of(got.begin() + 2000, got.end(), [](uint8_t b) { return b == 0; }));
}

TEST_CASE("a write error is reported once and later writes are skipped") {
  Fixture f;
  // A file opened read-only: every pwrite fails with EBADF.
  format::Node node = FileNode("readonly", 2000);
  testing::WriteFile(f.dir.Sub("readonly"), "");
  UniqueFd fd(openat(f.dirfd->get(), "readonly", O_RDONLY));
  REQUIRE(fd.valid());
  RestoredFile file(f.dirfd, std::move(fd), node, "/readonly");
  Bytes chunk = testing::RandomBytes(1, 1000);
  file.Write(0, chunk);
  file.Write(1000, chunk);
  REQUIRE(file.Release());
  auto outcome = file.Finish();
  REQUIRE(outcome.problems.size() == 1);
  CHECK(outcome.problems[0].message().find("write") != std::string::npos);
  CHECK(outcome.written == 0);
}

TEST_CASE("an abandoned file gets neither its size nor its metadata") {
  Fixture f;
  auto file = f.Create(FileNode("partial", 10000));
  Bytes chunk = testing::RandomBytes(2, 1000);
  file->Hold(1);
  file->Write(0, chunk);
  CHECK_FALSE(file->Release());
  CHECK(file->Release());
  file->Abandon();
  struct stat st{};
  REQUIRE(stat(f.dir.Sub("partial").c_str(), &st) == 0);
  CHECK(st.st_size == 1000);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(st.st_mtim.tv_sec != 1'600'000'000);
}

}  // namespace
}  // namespace coffre::restore
