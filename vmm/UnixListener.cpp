#include "vmm/UnixListener.h"

#include <sys/stat.h>
#include <unistd.h>

#include "vmm/Errors.h"

namespace vmm {

void listen_unix(boost::asio::local::stream_protocol::acceptor& acceptor, const std::filesystem::path& path,
                 const std::string& what, int backlog) {
  using boost::asio::local::stream_protocol;
  struct stat existing{};
  if (::lstat(path.c_str(), &existing) == 0) {
    if (!S_ISSOCK(existing.st_mode))
      throw InputError(what + " " + path.string() + ": exists and is not a socket; choose another path");
    ::unlink(path.c_str());  // left behind by an earlier run
  }
  boost::system::error_code error;
  acceptor.open(stream_protocol(), error);
  if (!error) {
    // No window in which others could connect: the umask makes bind create it 0600.
    const mode_t old_mask = ::umask(0177);
    acceptor.bind(stream_protocol::endpoint(path.string()), error);
    ::umask(old_mask);
  }
  if (!error) acceptor.listen(backlog, error);
  if (error) throw InputError(what + " " + path.string() + ": " + error.message());
}

}  // namespace vmm
