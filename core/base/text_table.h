// TextTable: rows of cells printed as left-aligned columns, each as wide as
// its widest cell, two spaces apart: the tables of `coffre` and of
// `coffre-vault` (a header row first, by convention in capitals).
// Thread-safety: a plain value.
#pragma once

#include <string>
#include <vector>

namespace coffre {

class TextTable {
 public:
  void AddRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  // Every row, each ending in "\n"; the last cell of a row is not padded.
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace coffre
