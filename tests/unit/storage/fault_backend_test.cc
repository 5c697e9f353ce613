// FaultInjectingBackend: the faults other tests rely on happen exactly when
// asked, and nowhere else; a seeded FaultPlan replays the same faults.
#include "core/storage/fault_backend.h"

#include <cmath>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "core/storage/memory_backend.h"
#include "tests/support/random_data.h"

namespace coffre::storage {
namespace {

using Op = FaultInjectingBackend::Op;
using When = FaultInjectingBackend::When;

ObjectName Pack(char c) { return {ObjectKind::kData, std::string(64, c)}; }

struct Stack {
  std::shared_ptr<MemoryBackend> memory = std::make_shared<MemoryBackend>();
  FaultInjectingBackend faults{memory};
};

TEST_CASE("fault backend fails exactly the nth call of an operation",
          "[unit][storage]") {
  Stack s;
  REQUIRE(s.faults.Save(Pack('a'), ToBytes("a")).ok());
  s.faults.FailCall(Op::kSave, 2, IoError("injected"));
  CHECK(s.faults.Save(Pack('b'), ToBytes("b")).ok());
  Status failed = s.faults.Save(Pack('c'), ToBytes("c"));
  CHECK(failed.code() == ErrorCode::kIo);
  CHECK(failed.message() == "injected");
  CHECK(s.faults.Save(Pack('d'), ToBytes("d")).ok());
  // kBefore: the failed call never reached the wrapped backend.
  CHECK(s.memory->Stat(Pack('c')).error().code() == ErrorCode::kNotFound);
  CHECK(s.faults.Calls(Op::kSave) == 4);
  CHECK(s.faults.Calls(Op::kLoad) == 0);

  // Other operations are counted separately.
  s.faults.FailCall(Op::kLoad, 1, UnavailableError("gone"));
  CHECK(s.faults.Load(Pack('a')).error().code() == ErrorCode::kUnavailable);
  CHECK(s.faults.Load(Pack('a')).value() == ToBytes("a"));
  CHECK(s.faults.Stat(Pack('a')).value() == 1);
  CHECK(s.faults.Calls(Op::kLoad) == 2);
  CHECK(s.faults.Calls(Op::kStat) == 1);
}

TEST_CASE("fault backend can fail a call after it reached the backend",
          "[unit][storage]") {
  Stack s;
  s.faults.FailCall(Op::kSave, 1, UnavailableError("answer lost"), When::kAfter);
  CHECK(s.faults.Save(Pack('a'), ToBytes("a")).code() == ErrorCode::kUnavailable);
  CHECK(s.memory->Load(Pack('a')).value() == ToBytes("a"));

  s.faults.FailCall(Op::kRemove, 1, UnavailableError("answer lost"), When::kAfter);
  CHECK(s.faults.Remove(Pack('a')).code() == ErrorCode::kUnavailable);
  CHECK(s.memory->Stat(Pack('a')).error().code() == ErrorCode::kNotFound);
}

TEST_CASE("fault backend fails every call of an operation until cleared",
          "[unit][storage]") {
  Stack s;
  s.faults.FailEveryCall(Op::kList, PermissionDeniedError("no"));
  auto ignore = [](const ObjectInfo&) { return Status::Ok(); };
  for (int i = 0; i < 3; ++i) {
    CHECK(s.faults.List(ObjectKind::kData, ignore).code() ==
          ErrorCode::kPermissionDenied);
  }
  s.faults.ClearFaults();
  CHECK(s.faults.List(ObjectKind::kData, ignore).ok());
  CHECK(s.faults.Calls(Op::kList) == 4);
}

TEST_CASE("fault backend runs out of space at its limit", "[unit][storage]") {
  Stack s;
  s.faults.SetSpaceLimit(100);
  CHECK(s.faults.Save(Pack('a'), Bytes(60)).ok());
  CHECK(s.faults.Save(Pack('b'), Bytes(40)).ok());  // exactly full
  Status full = s.faults.Save(Pack('c'), Bytes(1));
  CHECK(full.code() == ErrorCode::kNoSpace);
  CHECK_THAT(full.message(), Catch::Contains(Pack('c').ToString()));
  CHECK(s.memory->Stat(Pack('c')).error().code() == ErrorCode::kNotFound);
  CHECK(s.faults.Save(Pack('d'), Bytes(0)).ok());
  CHECK(s.faults.SavedBytes() == 100);

  // A save refused by the backend does not use space.
  s.faults.SetSpaceLimit(200);
  CHECK(s.faults.Save(Pack('a'), Bytes(50)).code() == ErrorCode::kAlreadyExists);
  CHECK(s.faults.SavedBytes() == 100);
}

TEST_CASE("fault backend flips one byte of what load returns",
          "[unit][storage]") {
  Stack s;
  const Bytes data = testing::RandomBytes(3, 100);
  REQUIRE(s.faults.Save(Pack('a'), data).ok());
  REQUIRE(s.faults.Save({ObjectKind::kIndex, "i1"}, data).ok());
  s.faults.FlipByteOnLoad(ObjectKind::kData, 10);

  Bytes loaded = s.faults.Load(Pack('a')).value();
  REQUIRE(loaded.size() == data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    INFO("byte " << i);
    CHECK((loaded[i] != data[i]) == (i == 10));
  }
  CHECK(s.faults.Load({ObjectKind::kIndex, "i1"}).value() == data);
  CHECK(s.memory->Load(Pack('a')).value() == data);
  // Ranged: the position wraps around the returned bytes.
  Bytes range = s.faults.Load(Pack('a'), 50, 4).value();
  CHECK(range[2] == static_cast<uint8_t>(~data[52]));
}

TEST_CASE("fault backend counts calls from many threads", "[unit][storage][tsan]") {
  Stack s;
  s.faults.FailCall(Op::kSave, 50, NoSpaceError("injected"));
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const ObjectName object{ObjectKind::kLock, "t" + std::to_string(t) + "i" + std::to_string(i)};
        if (!s.faults.Save(object, ToBytes("x")).ok()) ++failures[t];
        (void)s.faults.Stat(object);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(s.faults.Calls(Op::kSave) == 400);
  CHECK(s.faults.Calls(Op::kStat) == 400);
  CHECK(failures[0] + failures[1] + failures[2] + failures[3] == 1);
  CHECK(s.faults.SavedBytes() == 399);
}

TEST_CASE("a fault plan draws the same faults for the same seed and call", "[unit][storage]") {
  FaultPlan plan;
  plan.seed = 42;
  plan.error = 0.2;
  plan.short_read = 0.1;
  plan.slow = 0.5;
  FaultPlan same = plan;
  FaultPlan other = plan;
  other.seed = 43;
  int errors = 0, shorts = 0, slows = 0, differ = 0;
  const int n = 20000;
  for (int i = 1; i <= n; ++i) {
    FaultDraw a = plan.Draw(FaultStream::kLoad, static_cast<uint64_t>(i));
    FaultDraw b = same.Draw(FaultStream::kLoad, static_cast<uint64_t>(i));
    REQUIRE(a.kind == b.kind);
    REQUIRE(a.keep == b.keep);
    REQUIRE(a.delay == b.delay);
    if (other.Draw(FaultStream::kLoad, static_cast<uint64_t>(i)).kind != a.kind) ++differ;
    errors += a.kind == FaultKind::kError;
    shorts += a.kind == FaultKind::kShortRead;
    slows += a.delay.count() > 0;
    CHECK(a.delay <= plan.max_delay);
  }
  CHECK(std::abs(errors - n * 0.2) < n * 0.02);
  CHECK(std::abs(shorts - n * 0.1) < n * 0.02);
  CHECK(std::abs(slows - n * 0.5) < n * 0.03);
  CHECK(differ > n / 10);
  // A fault that does not apply to an operation is no fault: a Save never
  // reads short.
  for (int i = 1; i <= 1000; ++i)
    CHECK(plan.Draw(FaultStream::kSave, static_cast<uint64_t>(i)).kind != FaultKind::kShortRead);
}

TEST_CASE("fault backend with a plan reads short, tears writes and loses answers",
          "[unit][storage]") {
  Stack s;
  const Bytes data = testing::RandomBytes(5, 1000);
  REQUIRE(s.faults.Save(Pack('a'), data).ok());

  FaultPlan plan;
  plan.short_read = 1;
  s.faults.SetPlan(plan);
  Result<Bytes> short_read = s.faults.Load(Pack('a'));
  REQUIRE(short_read);  // a short read says OK: the caller must notice
  CHECK(short_read->size() < data.size());
  CHECK(std::equal(short_read->begin(), short_read->end(), data.begin()));
  CHECK(s.faults.Load(Pack('a'), 100, 50).value().size() < 50);

  plan = FaultPlan{};
  plan.torn_write = 1;
  s.faults.SetPlan(plan);
  Status torn = s.faults.Save(Pack('b'), data);
  CHECK(torn.code() == ErrorCode::kIo);
  CHECK_THAT(torn.message(), Catch::Contains("torn write"));
  Bytes prefix = s.memory->Load(Pack('b')).value();
  CHECK(prefix.size() < data.size());
  CHECK(std::equal(prefix.begin(), prefix.end(), data.begin()));
  CHECK(s.faults.TornObjects() == std::vector<std::string>{Pack('b').ToString()});

  plan = FaultPlan{};
  plan.lost_answer = 1;
  s.faults.SetPlan(plan);
  CHECK(s.faults.Save(Pack('c'), data).code() == ErrorCode::kUnavailable);
  CHECK(s.memory->Load(Pack('c')).value() == data);
  CHECK(s.faults.Remove(Pack('c')).code() == ErrorCode::kUnavailable);
  CHECK(s.memory->Stat(Pack('c')).error().code() == ErrorCode::kNotFound);

  CHECK(s.faults.InjectedFaults() == 5);
  CHECK(s.faults.InjectedLog().size() == 5);
  s.faults.ClearFaults();
  CHECK(s.faults.Load(Pack('a')).value() == data);
}

TEST_CASE("a streamed writer that draws a fault dies and leaves nothing visible",
          "[unit][storage]") {
  Stack s;
  FaultPlan plan;
  plan.torn_write = 1;
  s.faults.SetPlan(plan);
  auto writer = s.faults.NewWriter(Pack('w'), 20);
  REQUIRE(writer);
  CHECK((*writer)->Write(ToBytes("0123456789")).code() == ErrorCode::kIo);
  s.faults.ClearFaults();
  // Dead for good: the rest of the stream cannot revive it.
  CHECK((*writer)->Write(ToBytes("0123456789")).code() == ErrorCode::kIo);
  CHECK((*writer)->Commit().code() == ErrorCode::kIo);
  writer->reset();
  CHECK(s.memory->Stat(Pack('w')).error().code() == ErrorCode::kNotFound);
  CHECK(s.faults.SavedBytes() == 0);
}

TEST_CASE("fault backend with the same plan replays the same faults", "[unit][storage]") {
  auto run = [](uint64_t seed) {
    Stack s;
    FaultPlan plan;
    plan.seed = seed;
    plan.error = 0.2;
    plan.short_read = 0.2;
    plan.torn_write = 0.1;
    plan.lost_answer = 0.1;
    s.faults.SetPlan(plan);
    for (int i = 0; i < 50; ++i) {
      const ObjectName object{ObjectKind::kLock, "o" + std::to_string(i)};
      (void)s.faults.Save(object, testing::RandomBytes(static_cast<uint64_t>(i), 100));
      (void)s.faults.Load(object);
      (void)s.faults.Stat(object);
    }
    return s.faults.InjectedLog();
  };
  const std::vector<std::string> first = run(7);
  CHECK(first.size() > 10);
  CHECK(run(7) == first);
  CHECK(run(8) != first);
}

}  // namespace
}  // namespace coffre::storage
