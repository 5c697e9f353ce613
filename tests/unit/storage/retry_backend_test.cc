// RetryingBackend: retries kUnavailable only, backs off exponentially, and
// reads a retried Save's kAlreadyExists (and a retried Remove's kNotFound) as
// the lost answer of an attempt that landed.
#include "core/storage/retry_backend.h"

#include <algorithm>
#include <mutex>
#include <vector>

#include <catch2/catch.hpp>

#include "core/storage/fault_backend.h"
#include "core/storage/memory_backend.h"

namespace coffre::storage {
namespace {

using Op = FaultInjectingBackend::Op;
using std::chrono::microseconds;

// A memory backend behind a fault injector behind the retrying wrapper; the
// delays the wrapper asked for are recorded instead of slept.
struct Stack {
  explicit Stack(int max_attempts = 4) {
    RetryOptions options;
    options.max_attempts = max_attempts;
    options.base_delay = microseconds(1000);
    options.max_delay = microseconds(3000);
    options.sleep = [this](microseconds delay) {
      std::lock_guard<std::mutex> lock(mu);
      delays.push_back(delay);
    };
    retrying = std::make_unique<RetryingBackend>(faults, options);
  }
  std::shared_ptr<MemoryBackend> memory = std::make_shared<MemoryBackend>();
  std::shared_ptr<FaultInjectingBackend> faults =
      std::make_shared<FaultInjectingBackend>(memory);
  std::unique_ptr<RetryingBackend> retrying;
  std::mutex mu;
  std::vector<microseconds> delays;
};

const ObjectName kPack{ObjectKind::kData, std::string(64, 'a')};

Status Unavailable() { return UnavailableError("vault: connection reset"); }

TEST_CASE("retrying backend retries an unavailable backend until it answers",
          "[unit][storage]") {
  Stack stack;
  stack.faults->FailCall(Op::kSave, 1, Unavailable());
  stack.faults->FailCall(Op::kSave, 2, Unavailable());
  REQUIRE(stack.retrying->Save(kPack, ToBytes("pack")).ok());
  CHECK(stack.faults->Calls(Op::kSave) == 3);
  CHECK(stack.memory->Load(kPack).value() == ToBytes("pack"));

  stack.faults->FailCall(Op::kLoad, 1, Unavailable());
  CHECK(stack.retrying->Load(kPack).value() == ToBytes("pack"));
  stack.faults->FailCall(Op::kStat, 1, Unavailable());
  CHECK(stack.retrying->Stat(kPack).value() == 4);
  CHECK(stack.faults->Calls(Op::kLoad) == 2);
  CHECK(stack.faults->Calls(Op::kStat) == 2);
}

TEST_CASE("retrying backend backs off exponentially up to its maximum delay",
          "[unit][storage]") {
  Stack stack(5);
  stack.faults->FailEveryCall(Op::kStat, Unavailable());
  auto stat = stack.retrying->Stat(kPack);
  REQUIRE_FALSE(stat);
  CHECK(stat.error().code() == ErrorCode::kUnavailable);
  CHECK_THAT(stat.error().message(), Catch::Contains("gave up after 5 attempts"));
  CHECK(stack.faults->Calls(Op::kStat) == 5);
  // Retry k waits a jittered time in [d/2, d], d = 1 ms * 2^(k-1), capped at 3.
  const std::vector<int64_t> caps = {1000, 2000, 3000, 3000};
  REQUIRE(stack.delays.size() == caps.size());
  for (size_t k = 0; k < caps.size(); ++k) {
    CHECK(stack.delays[k].count() >= caps[k] / 2);
    CHECK(stack.delays[k].count() <= caps[k]);
  }
}

TEST_CASE("retrying backend passes every other error through at once",
          "[unit][storage]") {
  Stack stack;
  for (Status error : {CorruptionError("bad pack"), AuthFailedError("token"),
                       NoSpaceError("quota"), PermissionDeniedError("ro"),
                       IoError("disk"), InvalidArgumentError("name")}) {
    INFO(error.message());
    stack.faults->FailCall(Op::kLoad, 1, error);
    const uint64_t before = stack.faults->Calls(Op::kLoad);
    auto loaded = stack.retrying->Load(kPack);
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().code() == error.code());
    CHECK(loaded.error().message() == error.message());
    CHECK(stack.faults->Calls(Op::kLoad) == before + 1);
  }
  CHECK(stack.retrying->Stat(kPack).error().code() == ErrorCode::kNotFound);
  CHECK(stack.faults->Calls(Op::kStat) == 1);
  CHECK(stack.delays.empty());
}

TEST_CASE("retrying backend reads a retried save's already-exists as success",
          "[unit][storage]") {
  Stack stack;
  // The first attempt stores the pack but its answer is lost.
  stack.faults->FailCall(Op::kSave, 1, Unavailable(),
                         FaultInjectingBackend::When::kAfter);
  CHECK(stack.retrying->Save(kPack, ToBytes("pack")).ok());
  CHECK(stack.faults->Calls(Op::kSave) == 2);
  CHECK(stack.memory->Load(kPack).value() == ToBytes("pack"));

  // Without a retry, a taken name is the caller's business.
  CHECK(stack.retrying->Save(kPack, ToBytes("pack")).code() ==
        ErrorCode::kAlreadyExists);
}

TEST_CASE("retrying backend reads a retried remove's not-found as success",
          "[unit][storage]") {
  Stack stack;
  REQUIRE(stack.memory->Save(kPack, ToBytes("pack")).ok());
  stack.faults->FailCall(Op::kRemove, 1, Unavailable(),
                         FaultInjectingBackend::When::kAfter);
  CHECK(stack.retrying->Remove(kPack).ok());
  CHECK(stack.faults->Calls(Op::kRemove) == 2);
  CHECK(stack.retrying->Remove(kPack).code() == ErrorCode::kNotFound);
}

TEST_CASE("retrying backend retries a list only before its first object",
          "[unit][storage]") {
  Stack stack;
  for (const char* name : {"a1", "a2", "a3"}) {
    REQUIRE(stack.memory->Save({ObjectKind::kIndex, name}, {}).ok());
  }
  int seen = 0;
  auto count = [&](const ObjectInfo&) { ++seen; return Status::Ok(); };

  stack.faults->FailCall(Op::kList, 1, Unavailable());
  CHECK(stack.retrying->List(ObjectKind::kIndex, count).ok());
  CHECK(seen == 3);

  // Objects were delivered before the failure: retrying would repeat them.
  seen = 0;
  stack.faults->FailCall(Op::kList, 1, Unavailable(),
                         FaultInjectingBackend::When::kAfter);
  CHECK(stack.retrying->List(ObjectKind::kIndex, count).code() ==
        ErrorCode::kUnavailable);
  CHECK(seen == 3);

  // The callback's own kUnavailable is its answer, not the backend's.
  const uint64_t before = stack.faults->Calls(Op::kList);
  Status status = stack.retrying->List(ObjectKind::kIndex, [](const ObjectInfo&) {
    return UnavailableError("downstream busy");
  });
  CHECK(status.message() == "downstream busy");
  CHECK(stack.faults->Calls(Op::kList) == before + 1);
}

TEST_CASE("retrying backend with one attempt never retries", "[unit][storage]") {
  Stack stack(1);
  stack.faults->FailCall(Op::kSave, 1, Unavailable());
  Status status = stack.retrying->Save(kPack, ToBytes("pack"));
  CHECK(status.code() == ErrorCode::kUnavailable);
  CHECK(status.message() == Unavailable().message());
  CHECK(stack.faults->Calls(Op::kSave) == 1);
  CHECK(stack.delays.empty());
}

TEST_CASE("retrying backend keeps retrying for minutes by default, then gives up saying so",
          "[unit][storage]") {
  // The defaults, on a clock that the waits move: a vault gone for good is
  // retried for about five minutes, with waits growing to 30 s.
  auto memory = std::make_shared<MemoryBackend>();
  auto faults = std::make_shared<FaultInjectingBackend>(memory);
  std::chrono::steady_clock::time_point now{};
  std::vector<microseconds> delays;
  std::vector<std::string> said;
  RetryOptions options;
  options.now = [&] { return now; };
  options.sleep = [&](microseconds d) {
    delays.push_back(d);
    now += d;
  };
  options.on_retry = [&](const Status& why, microseconds) { said.push_back(why.message()); };
  RetryingBackend retrying(faults, options);
  faults->FailEveryCall(Op::kLoad, Unavailable());
  auto loaded = retrying.Load(kPack);
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().code() == ErrorCode::kUnavailable);
  CHECK_THAT(loaded.error().message(), Catch::Contains("gave up after"));
  const auto waited = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
  CHECK(waited.count() > 240);
  CHECK(waited.count() <= 300);
  CHECK(*std::max_element(delays.begin(), delays.end()) <= std::chrono::seconds(30));
  CHECK(said.size() == delays.size());
  CHECK(said.front() == "vault: connection reset");

  // A vault back after a minute: the call succeeds, nothing is lost.
  faults->ClearFaults();
  REQUIRE(memory->Save(kPack, ToBytes("pack")).ok());
  faults->FailEveryCall(Op::kLoad, Unavailable());
  const auto start = now;
  options.sleep = [&](microseconds d) {
    now += d;
    if (now - start > std::chrono::seconds(60)) faults->ClearFaults();
  };
  RetryingBackend patient(faults, options);
  CHECK(patient.Load(kPack).value() == ToBytes("pack"));
}

}  // namespace
}  // namespace coffre::storage
