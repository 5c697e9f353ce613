// The one storage suite: every Backend implementation must pass every case
// here (see the contract in core/storage/backend.h). To add a backend, add
// one line to Implementations(); each TEST_CASE then runs once per
// implementation through GENERATE. The vault runs it as a real coffre-vault
// process on loopback, reached by the agent's VaultBackend; the S3 storage
// against the real Ceph RADOS Gateway that scripts/rgw.sh starts, named by
// COFFRE_S3_ENDPOINT and the other lines of `scripts/rgw.sh env` (scripts/
// test.sh starts one; without it the S3 cases are left out with a warning,
// or fail when COFFRE_REQUIRE_S3=1).
// Every object but the config is named by the SHA-256 of its bytes, as the
// engine names them, since a vault refuses anything else; the shapes of
// names a backend lays out on its own (short ones, shared prefixes) are
// that backend's own tests.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "core/storage/vault/vault_backend.h"
#include "core/crypto/hash.h"
#include "core/storage/backend.h"
#include "core/storage/fault_backend.h"
#include "core/storage/local_backend.h"
#include "core/storage/memory_backend.h"
#include "core/storage/retry_backend.h"
#include "core/storage/s3/s3_backend.h"
#include "core/storage/throttled_backend.h"
#include "tests/support/random_data.h"
#include "tests/support/s3_server.h"
#include "tests/support/run_together.h"
#include "tests/support/temp_dir.h"
#include "tests/support/vault_process.h"

namespace coffre::storage {
namespace {

using testing::RandomBytes;

// A backend under test and whatever must outlive it (a temp folder, a server
// process). `owner` is declared first so the backend dies before it.
struct Subject {
  std::string name;
  std::shared_ptr<void> owner;
  std::shared_ptr<Backend> backend;
};

struct Implementation {
  std::string name;
  std::function<Subject()> make;
};

Subject MakeLocal(const std::string& name) {
  auto dir = std::make_shared<testing::TempDir>();
  auto backend = LocalBackend::Create(dir->Sub("repo"));
  if (!backend) FAIL("LocalBackend::Create: " << backend.error().message());
  return Subject{name, dir, std::move(*backend)};
}

// A fresh repository on the test binary's one vault process.
Subject MakeVault() {
  static std::atomic<int> repos{0};
  testing::VaultProcess& vault = testing::SharedVault();
  auto url = storage::vault::ParseVaultUrl(vault.RepoUrl("conformance-" + std::to_string(++repos)));
  if (!url) FAIL("ParseVaultUrl: " << url.error().message());
  storage::vault::VaultOptions options;
  options.token = vault.token();
  options.ca_file = vault.ca_file();
  auto backend = storage::vault::VaultBackend::Create(*url, options);
  if (!backend) FAIL("VaultBackend::Create: " << backend.error().message());
  return Subject{"vault", nullptr, std::shared_ptr<Backend>(std::move(*backend))};
}

// A fresh prefix in the conformance bucket of the environment's S3 server.
Subject MakeS3() {
  static std::atomic<int> repos{0};
  static const Result<std::shared_ptr<s3::S3Bucket>> bucket =
      s3::S3Bucket::Open(testing::TestS3Server("conformance").value());
  if (!bucket) FAIL("the conformance bucket: " << bucket.error().message());
  const std::string prefix =
      "run-" + std::to_string(::getpid()) + "-" + std::to_string(++repos) + "/";
  return Subject{"s3", nullptr, std::make_shared<s3::S3Backend>(*bucket, prefix)};
}

RetryOptions FastRetries() {
  RetryOptions options;
  options.base_delay = std::chrono::microseconds(100);
  options.max_delay = std::chrono::milliseconds(1);
  options.max_attempts = 6;
  return options;
}

std::vector<Implementation> Implementations() {
  std::vector<Implementation> all = {
      {"local", [] { return MakeLocal("local"); }},
      {"memory",
       [] { return Subject{"memory", nullptr, std::make_shared<MemoryBackend>()}; }},
      // The wrappers must keep the contract of what they wrap.
      {"retrying(memory)",
       [] {
         return Subject{"retrying(memory)", nullptr,
                        std::make_shared<RetryingBackend>(
                            std::make_shared<MemoryBackend>(), FastRetries())};
       }},
      {"throttled(memory)",
       [] {
         return Subject{"throttled(memory)", nullptr,
                        std::make_shared<ThrottledBackend>(std::make_shared<MemoryBackend>(),
                                                           uint64_t{1} << 30)};
       }},
      {"fault-injecting(local)",
       [] {
         Subject local = MakeLocal("fault-injecting(local)");
         local.backend = std::make_shared<FaultInjectingBackend>(local.backend);
         return local;
       }},
      {"vault", [] { return MakeVault(); }},
  };
  if (testing::TestS3Server("conformance")) all.push_back({"s3", [] { return MakeS3(); }});
  return all;
}

// Picks the implementation of this run of the test case.
#define BACKEND_UNDER_TEST(var)                                          \
  Subject subject_ = GENERATE(from_range(Implementations())).make();     \
  INFO("backend: " << subject_.name);                                    \
  Backend& var = *subject_.backend

ObjectName Data(const std::string& name) { return {ObjectKind::kData, name}; }

// The name of `data` as the engine would store it.
std::string NameOf(ByteView data) { return HexEncode(crypto::Sha256(data)); }
ObjectName Named(ObjectKind kind, ByteView data) { return {kind, NameOf(data)}; }
ObjectName Config() { return {ObjectKind::kConfig, std::string(kConfigName)}; }

// A name no object of the test has.
std::string HexName(uint64_t seed) { return HexEncode(RandomBytes(seed, 32)); }

std::map<std::string, uint64_t> ListAll(Backend& backend, ObjectKind kind) {
  std::map<std::string, uint64_t> out;
  Status status = backend.List(kind, [&](const ObjectInfo& info) {
    bool fresh = out.emplace(info.name, info.size).second;
    return fresh ? Status::Ok() : InternalError("listed twice: " + info.name);
  });
  REQUIRE(status.ok());
  return out;
}

TEST_CASE("a saved object loads back byte for byte and stats its size",
          "[unit][storage][conformance]") {
  BACKEND_UNDER_TEST(backend);
  for (size_t size : {size_t{1}, size_t{1000}, size_t{1} << 20}) {
    const Bytes data = RandomBytes(size, size);
    const ObjectName object = Named(ObjectKind::kData, data);
    REQUIRE(backend.Save(object, data).ok());
    auto loaded = backend.Load(object);
    REQUIRE(loaded);
    CHECK(*loaded == data);
    auto stat = backend.Stat(object);
    REQUIRE(stat);
    CHECK(*stat == size);
  }
  REQUIRE(backend.Save(Config(), ToBytes("the config")).ok());
  CHECK(backend.Load(Config(), 0, 0).value() == ToBytes("the config"));
  for (ObjectKind kind : {ObjectKind::kKey, ObjectKind::kIndex,
                          ObjectKind::kSnapshot, ObjectKind::kLock}) {
    const ObjectName object = Named(kind, AsBytes(ObjectKindName(kind)));
    REQUIRE(backend.Save(object, ToBytes(ObjectKindName(kind))).ok());
    CHECK(backend.Load(object).value() == ToBytes(ObjectKindName(kind)));
  }
}

TEST_CASE("a ranged load returns exactly the requested bytes",
          "[unit][storage][conformance]") {
  BACKEND_UNDER_TEST(backend);
  const Bytes data = RandomBytes(7, 100);
  const ObjectName object = Named(ObjectKind::kData, data);
  REQUIRE(backend.Save(object, data).ok());
  struct Range { uint64_t offset, length, begin, end; };
  for (Range r : {Range{0, 10, 0, 10}, Range{90, 10, 90, 100},
                  Range{10, 0, 10, 100}, Range{100, 0, 100, 100},
                  Range{0, 100, 0, 100}, Range{37, 1, 37, 38}}) {
    INFO("range " << r.offset << "+" << r.length);
    auto loaded = backend.Load(object, r.offset, r.length);
    REQUIRE(loaded);
    CHECK(*loaded == Bytes(data.begin() + r.begin, data.begin() + r.end));
  }
}

TEST_CASE("a range past the end of an object is corruption",
          "[unit][storage][conformance]") {
  BACKEND_UNDER_TEST(backend);
  const Bytes data = RandomBytes(8, 100);
  const ObjectName object = Named(ObjectKind::kData, data);
  REQUIRE(backend.Save(object, data).ok());
  struct Range { uint64_t offset, length; };
  for (Range r : {Range{90, 20}, Range{100, 1}, Range{101, 0}, Range{0, 101},
                  Range{UINT64_MAX, 1}, Range{1, UINT64_MAX}}) {
    INFO("range " << r.offset << "+" << r.length);
    auto loaded = backend.Load(object, r.offset, r.length);
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().code() == ErrorCode::kCorruption);
    CHECK_THAT(loaded.error().message(), Catch::Contains(object.ToString()));
  }
}

TEST_CASE("a missing object is not found by load, stat and remove",
          "[unit][storage][conformance]") {
  BACKEND_UNDER_TEST(backend);
  for (const ObjectName& object :
       {Data(HexName(9)), ObjectName{ObjectKind::kSnapshot, HexName(10)},
        ObjectName{ObjectKind::kConfig, "config"}}) {
    INFO(object.ToString());
    CHECK(backend.Load(object).error().code() == ErrorCode::kNotFound);
    CHECK(backend.Load(object, 5, 5).error().code() == ErrorCode::kNotFound);
    CHECK(backend.Stat(object).error().code() == ErrorCode::kNotFound);
    CHECK(backend.Remove(object).code() == ErrorCode::kNotFound);
  }
}

TEST_CASE("saving a taken name is refused and keeps the first content",
          "[unit][storage][conformance]") {
  BACKEND_UNDER_TEST(backend);
  const Bytes data = ToBytes("first");
  const ObjectName object = Named(ObjectKind::kData, data);
  REQUIRE(backend.Save(object, data).ok());
  CHECK(backend.Save(object, data).code() == ErrorCode::kAlreadyExists);
  CHECK(backend.Load(object).value() == data);
  CHECK(ListAll(backend, ObjectKind::kData).size() == 1);
  // The config is the one object whose name says nothing of its bytes.
  REQUIRE(backend.Save(Config(), ToBytes("first")).ok());
  Status second = backend.Save(Config(), ToBytes("second, longer"));
  CHECK(second.code() == ErrorCode::kAlreadyExists);
  CHECK(backend.Load(Config()).value() == ToBytes("first"));
  CHECK(backend.Stat(Config()).value() == 5);
}

TEST_CASE("racing saves of one name leave exactly one winner",
          "[unit][storage][conformance][tsan]") {
  BACKEND_UNDER_TEST(backend);
  constexpr int kThreads = 6;
  for (int round = 0; round < 10; ++round) {
    // Odd rounds race on one pack, even ones on the config with other bytes
    // from each writer.
    const Bytes pack = RandomBytes(500 + round, 1000);
    const bool config = round % 2 == 0;
    const ObjectName object = config ? Config() : Named(ObjectKind::kData, pack);
    auto bytes_of = [&](int t) { return config ? ToBytes("writer " + std::to_string(t)) : pack; };
    if (config && round > 0) REQUIRE(backend.Remove(object).ok());
    std::vector<Status> results(kThreads);
    testing::RunTogether(kThreads, [&](int t) { results[t] = backend.Save(object, bytes_of(t)); });
    int winner = -1;
    for (int t = 0; t < kThreads; ++t) {
      if (results[t].ok()) {
        CHECK(winner == -1);
        winner = t;
      } else {
        CHECK(results[t].code() == ErrorCode::kAlreadyExists);
      }
    }
    REQUIRE(winner >= 0);
    CHECK(backend.Load(object).value() == bytes_of(winner));
  }
}

TEST_CASE("a removed object is gone and its name can be saved again",
          "[unit][storage][conformance]") {
  BACKEND_UNDER_TEST(backend);
  const Bytes lock = ToBytes("host a");
  const ObjectName object = Named(ObjectKind::kLock, lock);
  REQUIRE(backend.Save(object, lock).ok());
  REQUIRE(backend.Remove(object).ok());
  CHECK(backend.Stat(object).error().code() == ErrorCode::kNotFound);
  CHECK(backend.Load(object).error().code() == ErrorCode::kNotFound);
  CHECK(ListAll(backend, ObjectKind::kLock).empty());
  REQUIRE(backend.Save(object, lock).ok());
  CHECK(backend.Load(object).value() == lock);
}

TEST_CASE("list sees every object of a kind and none of another",
          "[unit][storage][conformance]") {
  BACKEND_UNDER_TEST(backend);
  std::map<std::string, uint64_t> data;
  for (size_t size : {0, 1, 3, 1000, 70000}) {
    const Bytes bytes(size, 0x5a);
    data[NameOf(bytes)] = size;
    REQUIRE(backend.Save(Named(ObjectKind::kData, bytes), bytes).ok());
  }
  REQUIRE(backend.Save(Named(ObjectKind::kKey, AsBytes("key")), ToBytes("key")).ok());
  REQUIRE(backend.Save(Named(ObjectKind::kIndex, AsBytes("index")), ToBytes("index")).ok());
  REQUIRE(backend.Save(Config(), ToBytes("cfg")).ok());

  CHECK(ListAll(backend, ObjectKind::kData) == data);
  CHECK(ListAll(backend, ObjectKind::kKey) ==
        std::map<std::string, uint64_t>{{NameOf(AsBytes("key")), 3}});
  CHECK(ListAll(backend, ObjectKind::kIndex) ==
        std::map<std::string, uint64_t>{{NameOf(AsBytes("index")), 5}});
  CHECK(ListAll(backend, ObjectKind::kConfig) ==
        std::map<std::string, uint64_t>{{"config", 3}});
  CHECK(ListAll(backend, ObjectKind::kSnapshot).empty());
  CHECK(ListAll(backend, ObjectKind::kLock).empty());
}

TEST_CASE("list stops at the first error of its callback and returns it",
          "[unit][storage][conformance]") {
  BACKEND_UNDER_TEST(backend);
  for (int i = 0; i < 5; ++i) {
    const Bytes snapshot = RandomBytes(100 + i, 10);
    REQUIRE(backend.Save(Named(ObjectKind::kSnapshot, snapshot), snapshot).ok());
  }
  int calls = 0;
  Status status = backend.List(ObjectKind::kSnapshot, [&](const ObjectInfo&) {
    ++calls;
    return calls == 2 ? CancelledError("enough") : Status::Ok();
  });
  CHECK(status.code() == ErrorCode::kCancelled);
  CHECK(status.message() == "enough");
  CHECK(calls == 2);
}

TEST_CASE("invalid names are refused by every method",
          "[unit][storage][conformance]") {
  BACKEND_UNDER_TEST(backend);
  std::vector<ObjectName> invalid;
  for (const std::string& name :
       {std::string("../x"), std::string("A"), std::string(""),
        std::string(65, 'a'), std::string("a/b"), std::string(".."),
        std::string("a b"), std::string("ab\0c", 4), std::string("-1")}) {
    for (ObjectKind kind : {ObjectKind::kData, ObjectKind::kKey,
                            ObjectKind::kSnapshot, ObjectKind::kConfig}) {
      invalid.push_back({kind, name});
    }
  }
  invalid.push_back({ObjectKind::kConfig, "other"});
  invalid.push_back({static_cast<ObjectKind>(42), "ab"});
  for (const ObjectName& object : invalid) {
    INFO("kind " << static_cast<int>(object.kind) << " name \"" << object.name << "\"");
    CHECK(backend.Save(object, ToBytes("x")).code() == ErrorCode::kInvalidArgument);
    CHECK(backend.Load(object).error().code() == ErrorCode::kInvalidArgument);
    CHECK(backend.Load(object, 1, 1).error().code() == ErrorCode::kInvalidArgument);
    CHECK(backend.Stat(object).error().code() == ErrorCode::kInvalidArgument);
    CHECK(backend.Remove(object).code() == ErrorCode::kInvalidArgument);
  }
  auto ignore = [](const ObjectInfo&) { return Status::Ok(); };
  CHECK(backend.List(static_cast<ObjectKind>(42), ignore).code() ==
        ErrorCode::kInvalidArgument);
  for (ObjectKind kind : {ObjectKind::kData, ObjectKind::kKey,
                          ObjectKind::kSnapshot, ObjectKind::kConfig}) {
    CHECK(ListAll(backend, kind).empty());
  }
}

TEST_CASE("a name of 64 characters is accepted",
          "[unit][storage][conformance]") {
  BACKEND_UNDER_TEST(backend);
  const ObjectName object = Named(ObjectKind::kIndex, AsBytes("x"));
  REQUIRE(object.name.size() == 64);
  REQUIRE(backend.Save(object, ToBytes("x")).ok());
  CHECK(backend.Stat(object).value() == 1);
}

TEST_CASE("an empty object can be saved, stated, loaded and listed",
          "[unit][storage][conformance]") {
  BACKEND_UNDER_TEST(backend);
  const ObjectName object = Named(ObjectKind::kLock, {});
  REQUIRE(backend.Save(object, {}).ok());
  CHECK(backend.Stat(object).value() == 0);
  CHECK(backend.Load(object).value().empty());
  CHECK(backend.Load(object, 0, 0).value().empty());
  CHECK(backend.Load(object, 0, 1).error().code() == ErrorCode::kCorruption);
  CHECK(ListAll(backend, ObjectKind::kLock) ==
        std::map<std::string, uint64_t>{{object.name, 0}});
}

TEST_CASE("concurrent saves from four threads are all listed",
          "[unit][storage][conformance][tsan]") {
  BACKEND_UNDER_TEST(backend);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  // Catch2 assertions are not thread-safe: threads record, the test checks.
  std::vector<std::vector<Status>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&backend, &results, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const uint64_t seed = 1000 + t * kPerThread + i;
        const Bytes data = RandomBytes(seed, 64 + i);
        results[t].push_back(backend.Save(Named(ObjectKind::kData, data), data));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    for (const Status& status : results[t]) REQUIRE(status.ok());
  }
  std::map<std::string, uint64_t> listed = ListAll(backend, ObjectKind::kData);
  REQUIRE(listed.size() == kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const uint64_t seed = 1000 + t * kPerThread + i;
      auto it = listed.find(NameOf(RandomBytes(seed, 64 + i)));
      REQUIRE(it != listed.end());
      CHECK(it->second == static_cast<uint64_t>(64 + i));
    }
  }
}

TEST_CASE("a streamed object becomes visible whole, at commit", "[storage][conformance]") {
  BACKEND_UNDER_TEST(backend);
  Bytes first = RandomBytes(41, 100'000);
  Bytes second = RandomBytes(42, 3);
  Bytes whole = first;
  whole.insert(whole.end(), second.begin(), second.end());
  const ObjectName name = Named(ObjectKind::kData, whole);
  auto writer = backend.NewWriter(name, whole.size());
  REQUIRE(writer);
  REQUIRE((*writer)->Write(first).ok());
  REQUIRE((*writer)->Write(second).ok());
  CHECK(backend.Stat(name).error().code() == ErrorCode::kNotFound);
  CHECK(ListAll(backend, ObjectKind::kData).empty());
  REQUIRE((*writer)->Commit().ok());
  auto loaded = backend.Load(name);
  REQUIRE(loaded);
  CHECK(*loaded == whole);
}

TEST_CASE("a writer dropped before commit leaves nothing", "[storage][conformance]") {
  BACKEND_UNDER_TEST(backend);
  const Bytes data = RandomBytes(44, 5000);
  const ObjectName name = Named(ObjectKind::kData, data);
  {
    auto writer = backend.NewWriter(name, data.size());
    REQUIRE(writer);
    REQUIRE((*writer)->Write(data).ok());
  }
  CHECK(backend.Stat(name).error().code() == ErrorCode::kNotFound);
  CHECK(ListAll(backend, ObjectKind::kData).empty());
  CHECK(backend.Save(name, data).ok());
}

TEST_CASE("a streamed save of a taken name is refused and keeps the first content",
          "[storage][conformance]") {
  BACKEND_UNDER_TEST(backend);
  Bytes original = RandomBytes(47, 64);
  const ObjectName name = Named(ObjectKind::kData, original);
  REQUIRE(backend.Save(name, original).ok());
  auto writer = backend.NewWriter(name, original.size());
  Status status = writer ? Status::Ok() : writer.error();
  if (writer) {
    REQUIRE((*writer)->Write(original).ok());
    status = (*writer)->Commit();
  }
  CHECK(status.code() == ErrorCode::kAlreadyExists);
  CHECK(*backend.Load(name) == original);

  REQUIRE(backend.Save(Config(), ToBytes("first")).ok());
  auto config_writer = backend.NewWriter(Config(), 14);
  status = config_writer ? Status::Ok() : config_writer.error();
  if (config_writer) {
    REQUIRE((*config_writer)->Write(ToBytes("another config")).ok());
    status = (*config_writer)->Commit();
  }
  CHECK(status.code() == ErrorCode::kAlreadyExists);
  CHECK(backend.Load(Config()).value() == ToBytes("first"));
}

TEST_CASE("a streamed save checks the name first", "[storage][conformance]") {
  BACKEND_UNDER_TEST(backend);
  auto writer = backend.NewWriter({ObjectKind::kData, "../escape"}, 1);
  REQUIRE_FALSE(writer);
  CHECK(writer.error().code() == ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace coffre::storage
