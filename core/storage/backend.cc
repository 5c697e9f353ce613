#include "core/storage/backend.h"

#include <algorithm>

namespace coffre::storage {

namespace {

constexpr size_t kMaxNameLength = 64;

bool IsKnownKind(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kConfig:
    case ObjectKind::kKey:
    case ObjectKind::kData:
    case ObjectKind::kIndex:
    case ObjectKind::kSnapshot:
    case ObjectKind::kLock:
      return true;
  }
  return false;
}

// Shows a hostile name without letting it break a log line.
std::string Printable(std::string_view name) {
  std::string out;
  for (char c : name.substr(0, kMaxNameLength + 8)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (name.size() > kMaxNameLength + 8) out += "...";
  return out;
}

}  // namespace

const char* ObjectKindName(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kConfig: return "config";
    case ObjectKind::kKey: return "keys";
    case ObjectKind::kData: return "data";
    case ObjectKind::kIndex: return "index";
    case ObjectKind::kSnapshot: return "snapshots";
    case ObjectKind::kLock: return "locks";
  }
  return "unknown";
}

Result<ObjectKind> ParseObjectKind(std::string_view name) {
  for (ObjectKind kind : {ObjectKind::kConfig, ObjectKind::kKey,
                          ObjectKind::kData, ObjectKind::kIndex,
                          ObjectKind::kSnapshot, ObjectKind::kLock}) {
    if (name == ObjectKindName(kind)) return kind;
  }
  return Err(InvalidArgumentError("unknown object kind \"" + Printable(name) +
                                  "\""));
}

std::string ObjectName::ToString() const {
  // The config is one object, not a folder of them: "config", not
  // "config/config".
  if (kind == ObjectKind::kConfig && name == kConfigName) return name;
  return std::string(ObjectKindName(kind)) + "/" + Printable(name);
}

Status ValidateObjectName(std::string_view name) {
  if (name.empty()) return InvalidArgumentError("empty object name");
  if (name.size() > kMaxNameLength) {
    return InvalidArgumentError("object name \"" + Printable(name) +
                                "\" is longer than 64 characters");
  }
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))) {
      return InvalidArgumentError("object name \"" + Printable(name) +
                                  "\" has a character outside [0-9a-z]");
    }
  }
  return Status::Ok();
}

Status ValidateObjectKind(ObjectKind kind) {
  if (IsKnownKind(kind)) return Status::Ok();
  return InvalidArgumentError("unknown object kind " +
                              std::to_string(static_cast<int>(kind)));
}

Status ValidateObject(const ObjectName& object) {
  RETURN_IF_ERROR(ValidateObjectKind(object.kind));
  RETURN_IF_ERROR(ValidateObjectName(object.name));
  if (object.kind == ObjectKind::kConfig && object.name != kConfigName) {
    return InvalidArgumentError("the config object is named \"config\", not \"" +
                                object.name + "\"");
  }
  return Status::Ok();
}

namespace {

class BufferedWriter : public ObjectWriter {
 public:
  BufferedWriter(Backend& backend, ObjectName object, uint64_t size)
      : backend_(backend), object_(std::move(object)), size_(size) {}
  Status Write(ByteView data) override {
    bytes_.insert(bytes_.end(), data.begin(), data.end());
    return Status::Ok();
  }
  Status Commit() override {
    RETURN_IF_ERROR(CheckStreamedSize(object_.ToString(), bytes_.size(), size_));
    return backend_.Save(object_, bytes_);
  }

 private:
  Backend& backend_;
  ObjectName object_;
  const uint64_t size_;
  Bytes bytes_;
};

}  // namespace

Status CheckStreamedSize(const std::string& label, uint64_t written, uint64_t size) {
  if (written == size) return Status::Ok();
  return InvalidArgumentError("save " + label + ": " + std::to_string(written) +
                              " bytes written of the " + std::to_string(size) + " announced");
}

Result<std::unique_ptr<ObjectWriter>> Backend::NewWriter(const ObjectName& object, uint64_t size) {
  RETURN_IF_ERROR(ValidateObject(object));
  return std::unique_ptr<ObjectWriter>(new BufferedWriter(*this, object, size));
}

Result<std::vector<std::string>> ListNames(Backend& backend, ObjectKind kind) {
  std::vector<std::string> names;
  RETURN_IF_ERROR(backend.List(kind, [&](const ObjectInfo& info) {
    names.push_back(info.name);
    return Status::Ok();
  }));
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace coffre::storage
