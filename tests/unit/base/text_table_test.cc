// TextTable: columns as wide as their widest cell, two spaces apart, the
// last cell unpadded.
#include "core/base/text_table.h"

#include <catch2/catch.hpp>

namespace coffre {
namespace {

TEST_CASE("a text table aligns columns on their widest cell", "[unit][text_table]") {
  TextTable t;
  t.AddRow({"ID", "TENANT", "ROLE"});
  t.AddRow({"1c36544fc89a8894", "acme", "admin"});
  t.AddRow({"2", "a-much-longer-name", "backup"});
  CHECK(t.Render() ==
        "ID                TENANT              ROLE\n"
        "1c36544fc89a8894  acme                admin\n"
        "2                 a-much-longer-name  backup\n");
}

TEST_CASE("an empty text table renders nothing", "[unit][text_table]") {
  CHECK(TextTable().Render().empty());
}

}  // namespace
}  // namespace coffre
