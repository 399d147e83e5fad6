#pragma once
// A text table for a person: columns padded to their widest cell, the first
// left-aligned and the rest right-aligned, each row indented. Shared by
// `vmm ctl stats` and `vmm trace summary`, so their output looks alike.

#include <string>
#include <vector>

namespace vmm {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.size() == 1; }
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace vmm
