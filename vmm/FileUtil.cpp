#include "vmm/FileUtil.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/UniqueFd.h"
#include "vmm/Errors.h"

namespace vmm {

std::vector<std::uint8_t> read_input_file(const std::filesystem::path& path, const std::string& what,
                                          std::uint64_t max_bytes) {
  auto fail = [&](const std::string& why) -> InputError { return InputError(what + " " + path.string() + ": " + why); };
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw fail(std::strerror(errno));
  struct stat info{};
  if (::fstat(fd.get(), &info) < 0) throw fail(std::strerror(errno));
  if (!S_ISREG(info.st_mode)) throw fail("not a regular file");
  if (static_cast<std::uint64_t>(info.st_size) > max_bytes)
    throw fail("too large (" + std::to_string(info.st_size) + " bytes, at most " + std::to_string(max_bytes) + ")");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(info.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw fail(std::strerror(errno));
    if (n == 0) break;  // the file shrank while we read it
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

}  // namespace vmm
