#include "vault/replicate/replication_status.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

namespace coffre::vault {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
constexpr int kVersion = 1;

}  // namespace

std::string ReplicationStatusPath(const std::string& data_dir, const std::string& tenant,
                                  const std::string& host, int port) {
  // A host is a name or an address; ':' and brackets of an IPv6 one are
  // no characters for a file name.
  std::string safe;
  for (char c : host) safe += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c : '_';
  return data_dir + "/replication/" + tenant + "@" + safe + "_" + std::to_string(port) + ".json";
}

Result<ReplicationStatus> ReadReplicationStatus(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Err(NotFoundError("no replication status " + path));
  std::stringstream text;
  text << in.rdbuf();
  json doc = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Err(CorruptionError(path + ": not JSON"));
  try {
    if (doc.at("version").get<int>() != kVersion)
      return Err(UnsupportedVersionError(path + ": replication status version " +
                                         doc.at("version").dump() + " (this build reads 1)"));
    ReplicationStatus s;
    s.tenant = doc.at("tenant").get<std::string>();
    s.to = doc.at("to").get<std::string>();
    s.to_location = doc.at("to_location").get<std::string>();
    s.pass_started_ns = doc.at("pass_started_ns").get<int64_t>();
    s.synced_as_of_ns = doc.at("synced_as_of_ns").get<int64_t>();
    s.objects_behind = doc.at("objects_behind").get<uint64_t>();
    s.bytes_behind = doc.at("bytes_behind").get<uint64_t>();
    s.objects_sent = doc.at("objects_sent").get<uint64_t>();
    s.bytes_sent = doc.at("bytes_sent").get<uint64_t>();
    s.deleted = doc.at("deleted").get<uint64_t>();
    s.pending_deletes = doc.at("pending_deletes").get<std::map<std::string, int64_t>>();
    s.held = doc.at("held").get<std::map<std::string, int64_t>>();
    s.last_error = doc.at("last_error").get<std::string>();
    return s;
  } catch (const json::exception& e) {
    return Err(CorruptionError(path + ": " + e.what()));
  }
}

Status WriteReplicationStatus(const std::string& path, const ReplicationStatus& s) {
  json doc = {{"version", kVersion},
              {"tenant", s.tenant},
              {"to", s.to},
              {"to_location", s.to_location},
              {"pass_started_ns", s.pass_started_ns},
              {"synced_as_of_ns", s.synced_as_of_ns},
              {"objects_behind", s.objects_behind},
              {"bytes_behind", s.bytes_behind},
              {"objects_sent", s.objects_sent},
              {"bytes_sent", s.bytes_sent},
              {"deleted", s.deleted},
              {"pending_deletes", s.pending_deletes},
              {"held", s.held},
              {"last_error", s.last_error}};
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << doc.dump(2) << "\n";
    if (!out.flush()) return IoError("write " + tmp);
  }
  fs::rename(tmp, path, ec);
  if (ec) return ErrnoStatus(ec.value(), "rename " + tmp);
  return Status::Ok();
}

std::vector<ReplicationStatus> ReadAllReplicationStatus(const std::string& data_dir) {
  std::vector<ReplicationStatus> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(data_dir + "/replication", ec)) {
    if (entry.path().extension() != ".json") continue;
    auto s = ReadReplicationStatus(entry.path().string());
    if (s) out.push_back(*s);
  }
  std::sort(out.begin(), out.end(),
            [](const ReplicationStatus& a, const ReplicationStatus& b) {
              return std::tie(a.tenant, a.to) < std::tie(b.tenant, b.to);
            });
  return out;
}

}  // namespace coffre::vault
