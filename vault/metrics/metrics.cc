#include "vault/metrics/metrics.h"

#include <algorithm>
#include <string_view>

namespace coffre::vault {
namespace {

// Every error kind of docs/vault-api.md is always rendered, at 0 when it has
// not happened yet: a series that appears only on the first error makes
// Prometheus' rate() and alert rules miss that error.
constexpr const char* kErrorKinds[] = {"auth",    "forbidden", "bad_request", "not_found",
                                       "conflict", "quota",    "integrity",   "storage",
                                       "state",   "usage",     "audit",       "auth_limited"};

// Label values in the text format escape backslash, double quote and line
// feed, and nothing else.
std::string EscapeLabel(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void Header(std::string* out, const char* name, const char* type, const char* help) {
  *out += "# HELP ";
  *out += name;
  *out += ' ';
  *out += help;
  *out += "\n# TYPE ";
  *out += name;
  *out += ' ';
  *out += type;
  *out += '\n';
}

void Sample(std::string* out, const char* name, const std::string& labels, uint64_t value) {
  *out += name;
  if (!labels.empty()) *out += "{" + labels + "}";
  *out += ' ';
  *out += std::to_string(value);
  *out += '\n';
}

std::string Label(const char* key, std::string_view value) {
  return std::string(key) + "=\"" + EscapeLabel(value) + "\"";
}

}  // namespace

void Metrics::CountRequest(const std::string& method, int status) {
  std::lock_guard<std::mutex> guard(mu_);
  ++requests_[{method, status}];
}

void Metrics::CountError(const std::string& kind) {
  std::lock_guard<std::mutex> guard(mu_);
  ++errors_[kind];
}

void Metrics::CountCut(const std::string& reason) {
  std::lock_guard<std::mutex> guard(mu_);
  ++cuts_[reason];
}

std::string Metrics::Render(const std::vector<TenantUsage>& tenants) const {
  std::map<std::pair<std::string, int>, uint64_t> requests;
  std::map<std::string, uint64_t> errors;
  std::map<std::string, uint64_t> cuts;
  {
    std::lock_guard<std::mutex> guard(mu_);
    requests = requests_;
    errors = errors_;
    cuts = cuts_;
  }
  for (const char* kind : kErrorKinds) errors.emplace(kind, 0);  // keeps counted ones

  std::string out;
  Header(&out, "coffre_vault_requests_total", "counter",
         "Requests answered, by method and status.");
  for (const auto& [key, n] : requests) {
    Sample(&out, "coffre_vault_requests_total",
           Label("method", key.first) + "," + Label("status", std::to_string(key.second)), n);
  }
  Header(&out, "coffre_vault_bytes_received_total", "counter", "Bytes of request bodies received.");
  Sample(&out, "coffre_vault_bytes_received_total", "", bytes_received_.load());
  Header(&out, "coffre_vault_bytes_sent_total", "counter", "Bytes of response bodies sent.");
  Sample(&out, "coffre_vault_bytes_sent_total", "", bytes_sent_.load());
  Header(&out, "coffre_vault_errors_total", "counter", "Requests refused or failed, by kind.");
  for (const auto& [kind, n] : errors) {
    Sample(&out, "coffre_vault_errors_total", Label("kind", kind), n);
  }
  Header(&out, "coffre_vault_connections_cut_total", "counter",
         "Connections cut or refused by the vault, by reason.");
  for (const auto& [reason, n] : cuts) {
    Sample(&out, "coffre_vault_connections_cut_total", Label("reason", reason), n);
  }

  std::vector<TenantUsage> sorted = tenants;
  std::sort(sorted.begin(), sorted.end(),
            [](const TenantUsage& a, const TenantUsage& b) { return a.tenant < b.tenant; });
  Header(&out, "coffre_vault_tenant_stored_bytes", "gauge", "Bytes stored by each tenant.");
  for (const TenantUsage& t : sorted) {
    Sample(&out, "coffre_vault_tenant_stored_bytes", Label("tenant", t.tenant), t.stored_bytes);
  }
  Header(&out, "coffre_vault_tenant_quota_bytes", "gauge",
         "Bytes each tenant may store (tenants without a quota are absent).");
  for (const TenantUsage& t : sorted) {
    if (t.quota_bytes == 0) continue;
    Sample(&out, "coffre_vault_tenant_quota_bytes", Label("tenant", t.tenant), t.quota_bytes);
  }
  return out;
}

}  // namespace coffre::vault
