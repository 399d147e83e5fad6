#pragma once
// COM1's output into a file (created or truncated); no input.

#include <filesystem>

#include "base/UniqueFd.h"
#include "vmm/serial/SerialBackend.h"

namespace vmm {

class FileBackend final : public SerialBackend {
 public:
  FileBackend(boost::asio::io_context& io, const security::SeccompFilters& seccomp, const std::filesystem::path& path);
  ~FileBackend() override { finish(); }

 private:
  void start_input() override {}
  void on_input_consumed() override {}

  UniqueFd file_;
};

}  // namespace vmm
