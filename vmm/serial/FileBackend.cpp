#include "vmm/serial/FileBackend.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "vmm/Errors.h"

namespace vmm {

FileBackend::FileBackend(boost::asio::io_context& io, const security::SeccompFilters& seccomp,
                         const std::filesystem::path& path)
    : SerialBackend(io, seccomp), file_(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) {
  if (!file_.valid()) throw InputError("serial output file " + path.string() + ": " + std::strerror(errno));
  output_.attach(file_.get(), /*permanent=*/true);
}

}  // namespace vmm
