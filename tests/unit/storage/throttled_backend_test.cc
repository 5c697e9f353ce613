// ThrottledBackend: forwards every call and answer of the wrapped backend,
// and paces Save and streamed writes to the upload rate, and Load and List
// to the download rate, each only when it has a limiter, on a fake clock. The
// backend contract itself is checked by the conformance suite.
#include "core/storage/throttled_backend.h"

#include <catch2/catch.hpp>
#include <mutex>
#include <vector>

#include "core/storage/memory_backend.h"

namespace coffre::storage {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr uint64_t kMiB = 1024 * 1024;

// A memory backend that says it is remote.
class RemoteLikeBackend : public MemoryBackend {
 public:
  size_t ParallelWrites() const override { return 8; }
  uint64_t ReadAheadBytes() const override { return 4 * kMiB; }
  std::string Location() const override { return "https://vault:8443/acme/srv"; }
};

// A throttled memory backend at 1 MiB/s whose limiter sleeps on a fake clock.
struct Stack {
  Stack() {
    RateLimiter::Timing timing;
    timing.now = [this] { return now; };
    timing.sleep = [this](nanoseconds d) {
      sleeps.push_back(d);
      now += d;
    };
    limiter = std::make_shared<RateLimiter>(kMiB, timing);
    throttled = std::make_unique<ThrottledBackend>(memory, limiter);
  }
  nanoseconds Slept() const {
    nanoseconds total(0);
    for (nanoseconds d : sleeps) total += d;
    return total;
  }
  RateLimiter::Clock::time_point now;
  std::vector<nanoseconds> sleeps;
  std::shared_ptr<RemoteLikeBackend> memory = std::make_shared<RemoteLikeBackend>();
  std::shared_ptr<RateLimiter> limiter;
  std::unique_ptr<ThrottledBackend> throttled;
};

ObjectName Data(char c) { return {ObjectKind::kData, std::string(64, c)}; }

bool Near(nanoseconds a, nanoseconds b) { return std::chrono::abs(a - b) <= milliseconds(1); }

TEST_CASE("a throttled backend forwards every call and its answer", "[unit][storage]") {
  Stack stack;
  Backend& backend = *stack.throttled;
  REQUIRE(backend.Save(Data('a'), AsBytes("pack")).ok());
  CHECK(stack.memory->Load(Data('a')).value() == ToBytes("pack"));
  CHECK(backend.Load(Data('a'), 1, 2).value() == ToBytes("ac"));
  CHECK(backend.Stat(Data('a')).value() == 4);
  CHECK(backend.Save(Data('a'), AsBytes("pack")).code() == ErrorCode::kAlreadyExists);
  CHECK(backend.Load(Data('b')).error().code() == ErrorCode::kNotFound);

  auto writer = backend.NewWriter(Data('b'), 8);
  REQUIRE(writer);
  REQUIRE((*writer)->Write(AsBytes("stre")).ok());
  REQUIRE((*writer)->Write(AsBytes("amed")).ok());
  REQUIRE((*writer)->Commit().ok());
  CHECK(stack.memory->Load(Data('b')).value() == ToBytes("streamed"));

  std::vector<std::string> names;
  REQUIRE(backend
              .List(ObjectKind::kData,
                    [&](const ObjectInfo& info) {
                      names.push_back(info.name);
                      return Status::Ok();
                    })
              .ok());
  CHECK(names.size() == 2);
  REQUIRE(backend.Remove(Data('a')).ok());
  CHECK(stack.memory->Stat(Data('a')).error().code() == ErrorCode::kNotFound);
  CHECK(backend.Remove(Data('a')).code() == ErrorCode::kNotFound);

  CHECK(backend.ParallelWrites() == 8);
  CHECK(backend.ReadAheadBytes() == 4 * kMiB);
  CHECK(backend.Location() == "https://vault:8443/acme/srv");
}

TEST_CASE("a throttled backend paces saves to its rate", "[unit][storage]") {
  Stack stack;
  Bytes pack(3 * kMiB, 0x5a);
  // 1 MiB of burst, then 2 MiB at 1 MiB/s before the save goes out.
  REQUIRE(stack.throttled->Save(Data('a'), pack).ok());
  CHECK(Near(stack.Slept(), seconds(2)));
  REQUIRE(stack.throttled->Save(Data('b'), pack).ok());
  CHECK(Near(stack.Slept(), seconds(5)));
  // A refused save still spent its bytes: they went over the wire.
  CHECK(stack.throttled->Save(Data('b'), pack).code() == ErrorCode::kAlreadyExists);
  CHECK(Near(stack.Slept(), seconds(8)));
}

TEST_CASE("a throttled backend paces each piece of a streamed object", "[unit][storage]") {
  Stack stack;
  auto writer = stack.throttled->NewWriter(Data('a'), 3 * kMiB);
  REQUIRE(writer);
  Bytes piece(kMiB / 2, 1);
  for (int i = 0; i < 6; ++i) REQUIRE((*writer)->Write(piece).ok());
  REQUIRE((*writer)->Commit().ok());
  CHECK(stack.sleeps.size() == 4);  // the first two pieces fit in the burst
  CHECK(Near(stack.Slept(), seconds(2)));
  CHECK(stack.memory->Stat(Data('a')).value() == 3 * kMiB);
}

TEST_CASE("without a download limit, a throttled backend never waits to read, stat or list",
          "[unit][storage]") {
  Stack stack;
  Bytes big(8 * kMiB, 7);
  REQUIRE(stack.memory->Save(Data('a'), big).ok());
  for (int i = 0; i < 10; ++i) {
    CHECK(stack.throttled->Load(Data('a')).value().size() == big.size());
    CHECK(stack.throttled->Stat(Data('a')).value() == big.size());
    CHECK(stack.throttled->List(ObjectKind::kData, [](const ObjectInfo&) { return Status::Ok(); })
              .ok());
  }
  CHECK(stack.sleeps.empty());
}

TEST_CASE("backends sharing one limiter share its rate", "[unit][storage]") {
  Stack stack;
  auto other_memory = std::make_shared<MemoryBackend>();
  ThrottledBackend other(other_memory, stack.limiter);
  Bytes pack(kMiB, 3);
  REQUIRE(stack.throttled->Save(Data('a'), pack).ok());
  CHECK(stack.sleeps.empty());
  REQUIRE(other.Save(Data('a'), pack).ok());
  CHECK(Near(stack.Slept(), seconds(1)));
}

TEST_CASE("a throttled backend without a rate never waits", "[unit][storage]") {
  auto memory = std::make_shared<MemoryBackend>();
  ThrottledBackend unlimited(memory, uint64_t{0});
  CHECK(unlimited.limiter()->rate() == 0);
  REQUIRE(unlimited.Save(Data('a'), Bytes(64 * kMiB, 0)).ok());
  CHECK(memory->Stat(Data('a')).value() == 64 * kMiB);
}

TEST_CASE("a download limit paces ranged reads before and whole reads after",
          "[unit][storage]") {
  Stack stack;
  ThrottledBackend reader(stack.memory, nullptr, stack.limiter);
  Bytes big(3 * kMiB, 7);
  REQUIRE(stack.memory->Save(Data('a'), big).ok());
  // A range of known length waits for its bytes first: 1 MiB of burst, then
  // 1 MiB at 1 MiB/s.
  CHECK(reader.Load(Data('a'), 0, 2 * kMiB).value().size() == 2 * kMiB);
  CHECK(Near(stack.Slept(), seconds(1)));
  // A whole object is paid for once its size is known; the next read waits.
  CHECK(reader.Load(Data('a')).value().size() == big.size());
  CHECK(Near(stack.Slept(), seconds(4)));
  // Saves are not limited by the download rate.
  REQUIRE(reader.Save(Data('b'), big).ok());
  CHECK(Near(stack.Slept(), seconds(4)));
}

TEST_CASE("a download limit pays for listings", "[unit][storage]") {
  Stack stack;
  ThrottledBackend reader(stack.memory, nullptr, stack.limiter);
  for (char c = 'a'; c <= 'z'; ++c) REQUIRE(stack.memory->Save(Data(c), AsBytes("x")).ok());
  // 26 entries of about 96 bytes each: within the burst, then a debt that
  // grows with every listing.
  for (int i = 0; i < 1000; ++i)
    REQUIRE(reader.List(ObjectKind::kData, [](const ObjectInfo&) { return Status::Ok(); }).ok());
  // 1000 listings of 26 * 96 bytes = 2.38 MiB, less 1 MiB of burst: 1.38 s.
  CHECK(stack.Slept() > milliseconds(1300));
  CHECK(stack.Slept() < milliseconds(1450));
}

}  // namespace
}  // namespace coffre::storage
