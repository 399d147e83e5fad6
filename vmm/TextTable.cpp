#include "vmm/TextTable.h"

#include <algorithm>

namespace vmm {

std::string TextTable::render() const {
  std::vector<std::size_t> widths;
  for (const auto& row : rows_)
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], row[i].size());
    }
  std::string out;
  for (const auto& row : rows_) {
    out += " ";
    for (std::size_t i = 0; i < row.size(); ++i) {
      const std::string pad(widths[i] - row[i].size(), ' ');
      out += "  " + (i == 0 ? row[i] + pad : pad + row[i]);
    }
    out += "\n";
  }
  return out;
}

}  // namespace vmm
