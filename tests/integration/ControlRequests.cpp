#include "ControlRequests.h"

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "VmmProcess.h"

namespace vmm::testing {

bool send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

std::string read_line(int fd, std::string& buffer) {
  while (buffer.find('\n') == std::string::npos) {
    char chunk[4096];
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0) return "";
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  const auto end = buffer.find('\n');
  std::string line = buffer.substr(0, end);
  buffer.erase(0, end + 1);
  return line;
}

nlohmann::json request(const std::string& socket_path, const nlohmann::json& body) {
  const int fd = connect_unix(socket_path);
  if (fd < 0) return {{"ok", false}, {"error", "cannot connect"}};
  std::string buffer;
  send_all(fd, body.dump() + "\n");
  const std::string line = read_line(fd, buffer);
  ::close(fd);
  return line.empty() ? nlohmann::json{{"ok", false}, {"error", "no answer"}} : nlohmann::json::parse(line);
}

namespace {

bool quiet(const nlohmann::json& before, const nlohmann::json& now) {
  if (!now.contains("lines") || now["lines"].size() != before["lines"].size()) return false;
  for (std::size_t i = 0; i < now["lines"].size(); ++i) {
    const auto& line = now["lines"][i];
    if (line["pending"] != 0 || line["delivered"] != before["lines"][i]["delivered"]) return false;
    if (line["delivered"].get<std::uint64_t>() + line["coalesced"].get<std::uint64_t>() !=
        line["injected"].get<std::uint64_t>())
      return false;
  }
  return true;
}

}  // namespace

nlohmann::json wait_until_quiet(const std::string& socket_path, int settle_ms, int limit_s) {
  nlohmann::json before = request(socket_path, {{"cmd", "stats"}})["stats"];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(limit_s);
  while (before.is_object() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(settle_ms));
    const nlohmann::json now = request(socket_path, {{"cmd", "stats"}})["stats"];
    if (!now.is_object()) break;
    const bool done = quiet(before, now);
    before = now;
    if (done) break;
  }
  return before;
}

}  // namespace vmm::testing
