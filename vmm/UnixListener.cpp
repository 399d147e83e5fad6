#include "vmm/UnixListener.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/UniqueFd.h"
#include "vmm/Errors.h"

namespace vmm {

namespace {

// A socket file nobody listens on any more: connecting is refused.
bool nobody_listens(const std::filesystem::path& path) {
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (probe.get() < 0) return false;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string text = path.string();
  if (text.size() >= sizeof address.sun_path) return false;
  std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) return false;
  return errno == ECONNREFUSED;
}

}  // namespace

void listen_unix(boost::asio::local::stream_protocol::acceptor& acceptor, const std::filesystem::path& path,
                 const std::string& what, int backlog) {
  using boost::asio::local::stream_protocol;
  struct stat existing{};
  if (::lstat(path.c_str(), &existing) == 0) {
    // Only a stale socket of ours is replaced: never a file, never another
    // user's socket, never one a live process still listens on.
    if (!S_ISSOCK(existing.st_mode))
      throw InputError(what + " " + path.string() + ": exists and is not a socket; choose another path");
    if (existing.st_uid != ::geteuid())
      throw InputError(what + " " + path.string() + ": a socket of another user (uid " +
                       std::to_string(existing.st_uid) + "); choose another path");
    if (!nobody_listens(path))
      throw InputError(what + " " + path.string() + ": another process is listening on it; choose another path");
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
