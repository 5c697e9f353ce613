// PackUploader: dedup by Reserve, packs then index in that order, and what a
// storage failure leaves behind: nothing indexed that was not stored, and
// stored packs that no index names picked up by IndexOrphanPacks.
#include "agent/repo/pack_uploader.h"

#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "core/compress/zstd_codec.h"
#include "core/storage/fault_backend.h"
#include "core/storage/memory_backend.h"
#include "tests/support/fast_init.h"
#include "tests/support/random_data.h"

namespace coffre::repo {
namespace {

using storage::FaultInjectingBackend;
using storage::MemoryBackend;
using storage::ObjectKind;
using Op = FaultInjectingBackend::Op;

std::unique_ptr<Repository> InitOn(std::unique_ptr<storage::Backend> backend) {
  auto repo = Repository::Init(std::move(backend), AsBytes("pw"), testing::FastInitOptions());
  REQUIRE(repo);
  return std::move(*repo);
}

std::unique_ptr<Repository> OpenFresh(const std::shared_ptr<MemoryBackend>& memory) {
  auto repo = Repository::Open(std::make_unique<FaultInjectingBackend>(memory), AsBytes("pw"));
  REQUIRE(repo);
  REQUIRE((*repo)->LoadIndex().ok());
  return std::move(*repo);
}

size_t CountObjects(storage::Backend& backend, ObjectKind kind, uint64_t* bytes = nullptr) {
  size_t n = 0;
  REQUIRE(backend.List(kind, [&](const storage::ObjectInfo& info) {
                   ++n;
                   if (bytes) *bytes += info.size;
                   return Status::Ok();
                 }).ok());
  return n;
}

// A blob as the backup pipeline makes it: id from the plaintext, zstd when
// that helps.
struct TestBlob {
  BlobId id;
  Bytes plain;
};

TestBlob MakeBlob(Repository& repo, uint64_t seed, size_t size) {
  Bytes plain = seed % 3 == 0 ? testing::CompressibleBytes(seed, size)
                              : testing::RandomBytes(seed, size);
  return {BlobId(repo.NewHasher()->Compute(plain)), std::move(plain)};
}

Status Add(PackUploader& up, const TestBlob& b, format::BlobType type = format::BlobType::kData) {
  compress::Compressor compressor;
  Bytes packed;
  compress::Codec codec = compressor.Compress(b.plain, &packed);
  ByteView stored = codec == compress::Codec::kNone ? ByteView(b.plain) : ByteView(packed);
  return up.AddBlob(type, b.id, codec, static_cast<uint32_t>(b.plain.size()), stored);
}

TEST_CASE("pack uploader reserves each blob once", "[unit][pack_uploader][tsan]") {
  auto memory = std::make_shared<MemoryBackend>();
  auto repo = InitOn(std::make_unique<FaultInjectingBackend>(memory));
  PackUploader up(repo.get());
  TestBlob a = MakeBlob(*repo, 1, 100);
  TestBlob b = MakeBlob(*repo, 2, 100);
  CHECK(up.Reserve(a.id));
  CHECK_FALSE(up.Reserve(a.id));
  CHECK(up.Reserve(b.id));

  // A blob the repository index already holds is never stored again.
  TestBlob c = MakeBlob(*repo, 3, 100);
  format::IndexedPack known;
  known.id = PackId(crypto::Sha256(AsBytes("some pack")));
  known.entries.push_back(format::PackEntry{c.id, format::BlobType::kData,
                                            compress::Codec::kNone, 40, 116, 100});
  repo->index().AddPack(known);
  CHECK_FALSE(up.Reserve(c.id));

  // Concurrent reservations of one id: exactly one winner.
  TestBlob d = MakeBlob(*repo, 4, 100);
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      if (up.Reserve(d.id)) ++winners;
    });
  for (auto& t : threads) t.join();
  CHECK(winners == 1);
  CHECK(up.Flush().ok());
  CHECK(up.packs_stored() == 0);  // nothing was added
}

TEST_CASE("pack uploader stores blobs that a fresh open finds and loads, with one or more uploads in flight",
          "[unit][pack_uploader][tsan]") {
  auto memory = std::make_shared<MemoryBackend>();
  auto repo = InitOn(std::make_unique<FaultInjectingBackend>(memory));
  std::vector<TestBlob> blobs;
  for (uint64_t i = 0; i < 120; ++i) blobs.push_back(MakeBlob(*repo, 100 + i, 500 + 97 * i));

  // One upload at a time (a local folder) or three in flight (a vault).
  const size_t uploads = GENERATE(1, 3);
  INFO("uploads in flight: " << uploads);
  PackUploader up(repo.get(), /*target_pack_size=*/64 << 10, uploads);
  // Four writers, as BlobSaver's workers would be.
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < blobs.size(); i += 4) {
        if (!up.Reserve(blobs[i].id)) continue;
        auto type = i % 10 == 0 ? format::BlobType::kTree : format::BlobType::kData;
        if (!Add(up, blobs[i], type).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  REQUIRE(up.Flush().ok());
  CHECK(up.packs_stored() > 1);

  uint64_t pack_bytes = 0;
  CHECK(CountObjects(*memory, ObjectKind::kData, &pack_bytes) == up.packs_stored());
  CHECK(pack_bytes == up.bytes_stored());
  CHECK(CountObjects(*memory, ObjectKind::kIndex) >= 1);
  // A second Flush with nothing new writes no empty index.
  size_t indexes = CountObjects(*memory, ObjectKind::kIndex);
  CHECK(up.Flush().ok());
  CHECK(CountObjects(*memory, ObjectKind::kIndex) == indexes);

  auto fresh = OpenFresh(memory);
  CHECK(fresh->index().blob_count() == blobs.size());
  CHECK(fresh->index().pack_count() == up.packs_stored());
  for (size_t i = 0; i < blobs.size(); ++i) {
    INFO("blob " << i);
    auto loc = fresh->index().Find(blobs[i].id);
    REQUIRE(loc);
    CHECK(loc->entry.type == (i % 10 == 0 ? format::BlobType::kTree : format::BlobType::kData));
    CHECK(loc->entry.raw_len == blobs[i].plain.size());
    auto loaded = fresh->LoadBlob(blobs[i].id);
    REQUIRE(loaded);
    CHECK(*loaded == blobs[i].plain);
  }
  // Compressible blobs were stored compressed.
  CHECK(fresh->index().Find(blobs[2].id)->entry.codec == compress::Codec::kZstd);
  CHECK(fresh->index().Find(blobs[2].id)->entry.stored_len < blobs[2].plain.size());
}

TEST_CASE("pack uploader on a full disk reports it and indexes only stored packs",
          "[unit][pack_uploader]") {
  auto memory = std::make_shared<MemoryBackend>();
  auto owned = std::make_unique<FaultInjectingBackend>(memory);
  FaultInjectingBackend* faults = owned.get();
  auto repo = InitOn(std::move(owned));
  // Room for about two packs of 64 KiB, then the disk is full.
  faults->SetSpaceLimit(faults->SavedBytes() + 150'000);

  std::vector<TestBlob> blobs;
  for (uint64_t i = 0; i < 60; ++i) blobs.push_back(MakeBlob(*repo, 3000 + 3 * i + 1, 8000));
  Status first_error;
  {
    PackUploader up(repo.get(), /*target_pack_size=*/64 << 10);
    for (const TestBlob& b : blobs) {
      REQUIRE(up.Reserve(b.id));
      Status s = Add(up, b);
      if (!s.ok() && first_error.ok()) first_error = s;
    }
    Status flushed = up.Flush();
    CHECK(flushed.code() == ErrorCode::kNoSpace);
    if (first_error.ok()) first_error = flushed;
    // Once failed, the uploader refuses more work with the same error.
    CHECK(Add(up, MakeBlob(*repo, 99, 10)).code() == ErrorCode::kNoSpace);
    CHECK(up.packs_stored() >= 1);
  }
  CHECK(first_error.code() == ErrorCode::kNoSpace);

  // What a fresh reader sees: every indexed pack exists, every indexed blob
  // loads, and the blobs of the failed packs are simply absent.
  auto fresh = OpenFresh(memory);
  size_t indexed = 0;
  for (const PackRecord& p : fresh->index().Packs()) {
    CHECK(memory->Stat({ObjectKind::kData, p.id.Hex()}).value() == p.size);
  }
  for (const TestBlob& b : blobs) {
    if (!fresh->index().HasBlob(b.id)) continue;
    ++indexed;
    auto loaded = fresh->LoadBlob(b.id);
    REQUIRE(loaded);
    CHECK(*loaded == b.plain);
  }
  CHECK(indexed > 0);
  CHECK(indexed < blobs.size());
}

// Stores one pack whose index save fails; returns the blobs it held.
std::vector<TestBlob> StoreUnindexedPack(Repository& repo, FaultInjectingBackend& faults) {
  std::vector<TestBlob> blobs;
  for (uint64_t i = 0; i < 10; ++i) blobs.push_back(MakeBlob(repo, 500 + i, 3000));
  PackUploader up(&repo);  // one pack: the first Save is the pack, the next the index
  for (const TestBlob& b : blobs) {
    REQUIRE(up.Reserve(b.id));
    REQUIRE(Add(up, b).ok());
  }
  faults.FailCall(Op::kSave, 2, NoSpaceError("injected: index does not fit"));
  Status flushed = up.Flush();
  CHECK(flushed.code() == ErrorCode::kNoSpace);
  CHECK(up.packs_stored() == 1);
  faults.ClearFaults();
  return blobs;
}

TEST_CASE("packs stored but never indexed are picked up by IndexOrphanPacks",
          "[unit][pack_uploader]") {
  auto memory = std::make_shared<MemoryBackend>();
  auto owned = std::make_unique<FaultInjectingBackend>(memory);
  FaultInjectingBackend* faults = owned.get();
  auto repo = InitOn(std::move(owned));
  std::vector<TestBlob> blobs = StoreUnindexedPack(*repo, *faults);
  REQUIRE(CountObjects(*memory, ObjectKind::kData) == 1);
  REQUIRE(CountObjects(*memory, ObjectKind::kIndex) == 0);

  auto next = OpenFresh(memory);
  CHECK_FALSE(next->index().HasBlob(blobs[0].id));
  std::vector<std::string> warnings;
  auto found = next->IndexOrphanPacks([&](const std::string& w) { warnings.push_back(w); });
  REQUIRE(found);
  CHECK(*found == 1);
  CHECK(warnings.empty());
  for (const TestBlob& b : blobs) CHECK(next->LoadBlob(b.id).value() == b.plain);
  CHECK(CountObjects(*memory, ObjectKind::kIndex) == 1);

  // The new index object is durable: a third reader needs no recovery.
  auto third = OpenFresh(memory);
  CHECK(third->index().blob_count() == blobs.size());
  CHECK(third->IndexOrphanPacks([](const std::string&) {}).value() == 0);
}

TEST_CASE("orphan pack with a damaged header is skipped with a warning",
          "[unit][pack_uploader]") {
  auto memory = std::make_shared<MemoryBackend>();
  auto owned = std::make_unique<FaultInjectingBackend>(memory);
  FaultInjectingBackend* faults = owned.get();
  auto repo = InitOn(std::move(owned));
  StoreUnindexedPack(*repo, *faults);
  std::string pack_name;
  REQUIRE(memory->List(ObjectKind::kData, [&](const storage::ObjectInfo& info) {
                   pack_name = info.name;
                   return Status::Ok();
                 }).ok());
  Bytes raw = memory->Load({ObjectKind::kData, pack_name}).value();
  raw[raw.size() - 20] ^= 0x01;  // inside the sealed header
  REQUIRE(memory->Overwrite({ObjectKind::kData, pack_name}, raw).ok());

  auto next = OpenFresh(memory);
  std::vector<std::string> warnings;
  auto found = next->IndexOrphanPacks([&](const std::string& w) { warnings.push_back(w); });
  REQUIRE(found);
  CHECK(*found == 0);
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains(pack_name));
  CHECK(CountObjects(*memory, ObjectKind::kIndex) == 0);
}

// A long-lived process (the coffre-agent daemon) keeps one Repository across
// runs. A run whose index save failed must not leave its packs looking
// "indexed" to the next run of that process, or the next run dedups against
// blobs that no stored index names and commits a snapshot nobody can read.
TEST_CASE("a later run in the same process indexes packs an earlier run could not",
          "[unit][pack_uploader]") {
  auto memory = std::make_shared<MemoryBackend>();
  auto owned = std::make_unique<FaultInjectingBackend>(memory);
  FaultInjectingBackend* faults = owned.get();
  auto repo = InitOn(std::move(owned));
  std::vector<TestBlob> blobs = StoreUnindexedPack(*repo, *faults);

  // What RunBackup does at the start of the next run, on the same object.
  REQUIRE(repo->LoadIndex().ok());
  REQUIRE(repo->IndexOrphanPacks([](const std::string&) {}));
  {
    PackUploader up(repo.get());
    CHECK_FALSE(up.Reserve(blobs[0].id));  // dedup: the run will reference it
    REQUIRE(up.Flush().ok());
  }
  auto fresh = OpenFresh(memory);
  for (const TestBlob& b : blobs) CHECK(fresh->index().HasBlob(b.id));
}

// Forwards to a MemoryBackend, but holds the first index Save until the test
// releases it, then fails it: lets a test act while an index is being saved.
class GatedIndexBackend : public storage::Backend {
 public:
  explicit GatedIndexBackend(std::shared_ptr<MemoryBackend> base) : base_(std::move(base)) {}

  Status Save(const storage::ObjectName& object, ByteView data) override {
    if (object.kind == ObjectKind::kIndex) {
      std::unique_lock lock(mu_);
      if (armed_) {
        armed_ = false;
        entered_ = true;
        cv_.notify_all();
        cv_.wait(lock, [this] { return released_; });
        return release_status_;
      }
    }
    return base_->Save(object, data);
  }
  Result<Bytes> Load(const storage::ObjectName& o, uint64_t off, uint64_t len) override {
    return base_->Load(o, off, len);
  }
  Result<uint64_t> Stat(const storage::ObjectName& o) override { return base_->Stat(o); }
  Status Remove(const storage::ObjectName& o) override { return base_->Remove(o); }
  Status List(ObjectKind k, const std::function<Status(const storage::ObjectInfo&)>& fn) override {
    return base_->List(k, fn);
  }
  std::string Location() const override { return "gated"; }

  void Arm() {
    std::lock_guard lock(mu_);
    armed_ = true;
  }
  bool WaitEntered(std::chrono::seconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return entered_; });
  }
  void Release(Status status) {
    std::lock_guard lock(mu_);
    released_ = true;
    release_status_ = std::move(status);
    cv_.notify_all();
  }

 private:
  std::shared_ptr<MemoryBackend> base_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false;
  bool entered_ = false;
  bool released_ = false;
  Status release_status_;
};

TEST_CASE("pack uploader flush waits for an index save already under way",
          "[unit][pack_uploader][tsan]") {
  auto memory = std::make_shared<MemoryBackend>();
  auto owned = std::make_unique<GatedIndexBackend>(memory);
  GatedIndexBackend* gate = owned.get();
  auto repo = InitOn(std::move(owned));
  gate->Arm();

  PackUploader up(repo.get(), /*target_pack_size=*/1);  // one pack per blob
  // The uploader writes an index object on its own every 64 packs
  // (kPacksPerIndex in pack_uploader.cc); the 64th pack starts one.
  for (uint64_t i = 0; i < 64; ++i) {
    TestBlob b = MakeBlob(*repo, 7000 + 3 * i + 1, 200);
    REQUIRE(up.Reserve(b.id));
    REQUIRE(Add(up, b).ok());
  }
  REQUIRE(gate->WaitEntered(std::chrono::seconds(30)));

  // Flush must not report success while that index is still in flight: the
  // caller saves a snapshot next, and the index may still fail.
  auto flushed = std::async(std::launch::async, [&] { return up.Flush(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  gate->Release(NoSpaceError("injected: index does not fit"));
  CHECK(flushed.get().code() == ErrorCode::kNoSpace);
}

}  // namespace
}  // namespace coffre::repo
