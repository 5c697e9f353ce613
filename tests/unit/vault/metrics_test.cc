#include "vault/metrics/metrics.h"

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

namespace coffre::vault {
namespace {

TEST_CASE("metrics render the documented series in the Prometheus text format", "[unit][vault]") {
  Metrics m;
  m.CountRequest("PUT", 201);
  m.CountRequest("PUT", 201);
  m.CountRequest("GET", 404);
  m.AddBytesReceived(1000);
  m.AddBytesReceived(24);
  m.AddBytesSent(7);
  m.CountError("not_found");
  m.CountError("auth");
  m.CountError("auth");

  const std::string want =
      "# HELP coffre_vault_requests_total Requests answered, by method and status.\n"
      "# TYPE coffre_vault_requests_total counter\n"
      "coffre_vault_requests_total{method=\"GET\",status=\"404\"} 1\n"
      "coffre_vault_requests_total{method=\"PUT\",status=\"201\"} 2\n"
      "# HELP coffre_vault_bytes_received_total Bytes of request bodies received.\n"
      "# TYPE coffre_vault_bytes_received_total counter\n"
      "coffre_vault_bytes_received_total 1024\n"
      "# HELP coffre_vault_bytes_sent_total Bytes of response bodies sent.\n"
      "# TYPE coffre_vault_bytes_sent_total counter\n"
      "coffre_vault_bytes_sent_total 7\n"
      "# HELP coffre_vault_errors_total Requests refused or failed, by kind.\n"
      "# TYPE coffre_vault_errors_total counter\n"
      "coffre_vault_errors_total{kind=\"audit\"} 0\n"
      "coffre_vault_errors_total{kind=\"auth\"} 2\n"
      "coffre_vault_errors_total{kind=\"auth_limited\"} 0\n"
      "coffre_vault_errors_total{kind=\"bad_request\"} 0\n"
      "coffre_vault_errors_total{kind=\"conflict\"} 0\n"
      "coffre_vault_errors_total{kind=\"forbidden\"} 0\n"
      "coffre_vault_errors_total{kind=\"integrity\"} 0\n"
      "coffre_vault_errors_total{kind=\"not_found\"} 1\n"
      "coffre_vault_errors_total{kind=\"quota\"} 0\n"
      "coffre_vault_errors_total{kind=\"state\"} 0\n"
      "coffre_vault_errors_total{kind=\"storage\"} 0\n"
      "coffre_vault_errors_total{kind=\"usage\"} 0\n"
      "# HELP coffre_vault_connections_cut_total Connections cut or refused by the vault, by "
      "reason.\n"
      "# TYPE coffre_vault_connections_cut_total counter\n"
      "# HELP coffre_vault_tenant_stored_bytes Bytes stored by each tenant.\n"
      "# TYPE coffre_vault_tenant_stored_bytes gauge\n"
      "coffre_vault_tenant_stored_bytes{tenant=\"acme\"} 5\n"
      "coffre_vault_tenant_stored_bytes{tenant=\"bolt\"} 0\n"
      "# HELP coffre_vault_tenant_quota_bytes Bytes each tenant may store (tenants without a "
      "quota are absent).\n"
      "# TYPE coffre_vault_tenant_quota_bytes gauge\n"
      "coffre_vault_tenant_quota_bytes{tenant=\"acme\"} 100\n";
  // Tenants given out of order come out sorted; bolt has no quota gauge.
  CHECK(m.Render({{"bolt", 0, 0}, {"acme", 5, 100}}) == want);
}

TEST_CASE("metrics escape quotes, backslashes and newlines in label values", "[unit][vault]") {
  Metrics m;
  m.CountRequest("G\"E\nT", 200);
  m.CountError("odd\\kind");
  const std::string out = m.Render({{"a\"b\\c\nd", 1, 2}});
  CHECK(out.find("coffre_vault_requests_total{method=\"G\\\"E\\nT\",status=\"200\"} 1\n") !=
        std::string::npos);
  CHECK(out.find("coffre_vault_errors_total{kind=\"odd\\\\kind\"} 1\n") != std::string::npos);
  CHECK(out.find("coffre_vault_tenant_stored_bytes{tenant=\"a\\\"b\\\\c\\nd\"} 1\n") !=
        std::string::npos);
  CHECK(out.find("coffre_vault_tenant_quota_bytes{tenant=\"a\\\"b\\\\c\\nd\"} 2\n") !=
        std::string::npos);
  // No raw newline may split a sample: every line is a comment or a sample.
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    REQUIRE(end != std::string::npos);
    std::string line = out.substr(start, end - start);
    INFO(line);
    CHECK((line.rfind("# ", 0) == 0 || line.rfind("coffre_vault_", 0) == 0));
    start = end + 1;
  }
}

TEST_CASE("metrics count requests from many threads without losing any", "[unit][vault][tsan]") {
  Metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m] {
      for (int i = 0; i < 1000; ++i) {
        m.CountRequest("PUT", 201);
        m.AddBytesReceived(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  const std::string out = m.Render({});
  CHECK(out.find("coffre_vault_requests_total{method=\"PUT\",status=\"201\"} 4000\n") !=
        std::string::npos);
  CHECK(out.find("coffre_vault_bytes_received_total 4000\n") != std::string::npos);
}

}  // namespace
}  // namespace coffre::vault
