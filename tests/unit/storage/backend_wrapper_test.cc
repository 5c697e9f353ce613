// Every storage wrapper hands a streamed save to the backend it wraps as it
// comes, piece by piece: none of them falls back to Backend's default
// writer, which would gather a whole pack in memory before saving it.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/storage/backend_wrapper.h"
#include "core/storage/fault_backend.h"
#include "core/storage/memory_backend.h"
#include "core/storage/retry_backend.h"
#include "core/storage/throttled_backend.h"
#include "tests/support/random_data.h"

namespace coffre::storage {
namespace {

// A streaming backend that counts the bytes its writers have been handed.
class StreamProbe : public BackendWrapper {
 public:
  StreamProbe() : BackendWrapper(std::make_shared<MemoryBackend>()) {}

  Result<std::unique_ptr<ObjectWriter>> NewWriter(const ObjectName& object, uint64_t size) override {
    ++writers;
    ASSIGN_OR_RETURN(std::unique_ptr<ObjectWriter> base, base().NewWriter(object, size));
    return std::unique_ptr<ObjectWriter>(std::make_unique<Counting>(std::move(base), streamed));
  }

  int writers = 0;
  uint64_t streamed = 0;

 private:
  class Counting : public ObjectWriter {
   public:
    Counting(std::unique_ptr<ObjectWriter> base, uint64_t& streamed)
        : base_(std::move(base)), streamed_(streamed) {}
    Status Write(ByteView data) override {
      streamed_ += data.size();
      return base_->Write(data);
    }
    Status Commit() override { return base_->Commit(); }

   private:
    const std::unique_ptr<ObjectWriter> base_;
    uint64_t& streamed_;
  };
};

struct Wrapper {
  std::string name;
  std::function<std::shared_ptr<Backend>(std::shared_ptr<Backend>)> wrap;
};

TEST_CASE("every storage wrapper streams a save to the backend it wraps", "[unit][storage]") {
  const std::vector<Wrapper> wrappers = {
      {"retrying", [](auto base) { return std::make_shared<RetryingBackend>(base); }},
      {"throttled", [](auto base) { return std::make_shared<ThrottledBackend>(base, 1 << 30); }},
      {"fault-injecting", [](auto base) { return std::make_shared<FaultInjectingBackend>(base); }},
  };
  for (const Wrapper& wrapper : wrappers) {
    INFO(wrapper.name);
    auto probe = std::make_shared<StreamProbe>();
    std::shared_ptr<Backend> backend = wrapper.wrap(probe);
    const Bytes piece = testing::RandomBytes(1, 4096);
    const ObjectName object{ObjectKind::kData, "ab12"};

    auto writer = backend->NewWriter(object, 3 * piece.size());
    REQUIRE(writer);
    CHECK(probe->writers == 1);
    for (int i = 0; i < 3; ++i) REQUIRE((*writer)->Write(piece).ok());
    // Handed on before the commit, not gathered until it.
    CHECK(probe->streamed == 3 * piece.size());
    CHECK(backend->Stat(object).error().code() == ErrorCode::kNotFound);
    REQUIRE((*writer)->Commit().ok());
    CHECK(backend->Stat(object).value() == 3 * piece.size());
  }
}

TEST_CASE("a fault-injected streamed save fails at commit and gives its space back",
          "[unit][storage]") {
  auto memory = std::make_shared<MemoryBackend>();
  FaultInjectingBackend faulty(memory);
  const ObjectName object{ObjectKind::kData, "cd34"};
  const Bytes piece = testing::RandomBytes(2, 1000);

  faulty.FailCall(FaultInjectingBackend::Op::kSave, 1, UnavailableError("injected"));
  {
    auto writer = faulty.NewWriter(object, piece.size());
    REQUIRE(writer);
    REQUIRE((*writer)->Write(piece).ok());
    CHECK((*writer)->Commit().code() == ErrorCode::kUnavailable);
  }
  CHECK(faulty.Calls(FaultInjectingBackend::Op::kSave) == 1);
  CHECK(faulty.SavedBytes() == 0);
  CHECK(memory->Stat(object).error().code() == ErrorCode::kNotFound);

  faulty.SetSpaceLimit(1500);
  auto writer = faulty.NewWriter(object, 2 * piece.size());
  REQUIRE(writer);
  REQUIRE((*writer)->Write(piece).ok());
  CHECK((*writer)->Write(piece).code() == ErrorCode::kNoSpace);
}

}  // namespace
}  // namespace coffre::storage
