// FaultInjectingBackend: the faults other tests rely on happen exactly when
// asked, and nowhere else.
#include "core/storage/fault_backend.h"

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

}  // namespace
}  // namespace coffre::storage
