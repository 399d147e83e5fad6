#include "vmm/debug/GdbCommand.h"

#include <algorithm>
#include <limits>

#include "vmm/debug/RspFraming.h"

namespace vmm::debug {
namespace {

using namespace std::string_view_literals;

constexpr char kHexDigits[] = "0123456789abcdef";
// Z0 software, Z1 hardware breakpoint, Z2 write, Z3 read, Z4 access watchpoint.
constexpr unsigned kMaxBreakpointType = 4;

cmd::Malformed malformed(std::string why) { return cmd::Malformed{std::move(why)}; }

std::optional<std::uint64_t> parse_hex(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    int digit;
    if (c >= '0' && c <= '9')
      digit = c - '0';
    else if (c >= 'a' && c <= 'f')
      digit = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      digit = c - 'A' + 10;
    else
      return std::nullopt;
    // Leading zeros are fine; a value past 64 bits is not.
    if (value >> 60) return std::nullopt;
    value = (value << 4) | static_cast<unsigned>(digit);
  }
  return value;
}

std::optional<unsigned> parse_hex_unsigned(std::string_view text) {
  const auto value = parse_hex(text);
  if (!value || *value > std::numeric_limits<unsigned>::max()) return std::nullopt;
  return static_cast<unsigned>(*value);
}

// "-1", "0", hex, or with multiprocess extensions "pPID.TID" / "pPID" (every
// thread of the process; vmm has a single process, so the pid is not checked).
std::optional<ThreadId> parse_thread_id(std::string_view text) {
  if (text == "-1") return kAllThreads;
  if (!text.empty() && text.front() == 'p') {
    const std::size_t dot = text.find('.');
    if (dot == std::string_view::npos) {
      if (text.substr(1) != "-1" && !parse_hex(text.substr(1))) return std::nullopt;
      return kAllThreads;
    }
    if (text.substr(1, dot - 1) != "-1" && !parse_hex(text.substr(1, dot - 1))) return std::nullopt;
    return parse_thread_id(text.substr(dot + 1));
  }
  const auto value = parse_hex(text);
  if (!value || *value > static_cast<std::uint64_t>(std::numeric_limits<ThreadId>::max())) return std::nullopt;
  return static_cast<ThreadId>(*value);
}

// "ADDR,LEN" -> both, hex.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_pair(std::string_view text) {
  const std::size_t comma = text.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  const auto first = parse_hex(text.substr(0, comma));
  const auto second = parse_hex(text.substr(comma + 1));
  if (!first || !second) return std::nullopt;
  return std::pair{*first, *second};
}

GdbCommand parse_query(std::string_view p) {
  if (p == "qSupported") return cmd::QuerySupported{};
  if (p.starts_with("qSupported:")) {
    cmd::QuerySupported query;
    std::string_view rest = p.substr("qSupported:"sv.size());
    while (!rest.empty()) {
      const std::size_t semi = rest.find(';');
      const std::string_view feature = rest.substr(0, semi);
      if (!feature.empty()) query.features.emplace_back(feature);
      if (semi == std::string_view::npos) break;
      rest.remove_prefix(semi + 1);
    }
    return query;
  }
  if (p.starts_with("qXfer:features:read:")) {
    const std::string_view rest = p.substr("qXfer:features:read:"sv.size());
    // The annex is a file name; the offset and length follow its last ':'.
    const std::size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return malformed("qXfer without offset,length");
    const auto range = parse_pair(rest.substr(colon + 1));
    if (!range) return malformed("qXfer offset,length not hex");
    return cmd::ReadFeatures{std::string(rest.substr(0, colon)), range->first, range->second};
  }
  if (p == "qC") return cmd::CurrentThread{};
  if (p == "qfThreadInfo") return cmd::FirstThreadInfo{};
  if (p == "qsThreadInfo") return cmd::NextThreadInfo{};
  if (p == "qAttached" || p.starts_with("qAttached:")) return cmd::Attached{};
  return cmd::Unsupported{};
}

GdbCommand parse_v(std::string_view p) {
  if (p == "vCont?") return cmd::VContQuery{};
  if (p == "vKill" || p.starts_with("vKill;")) return cmd::Kill{};
  if (!p.starts_with("vCont;")) return cmd::Unsupported{};
  cmd::VCont vcont;
  std::string_view rest = p.substr("vCont"sv.size());
  while (!rest.empty()) {
    // Each action is ";ACTION[:THREAD]"; C and S carry a two-digit signal.
    rest.remove_prefix(1);
    const std::size_t semi = rest.find(';');
    std::string_view item = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi);
    if (item.empty()) return malformed("vCont: empty action");
    const char action = item.front();
    std::string_view tail = item.substr(1);
    const std::size_t colon = tail.find(':');
    const std::string_view argument = tail.substr(0, colon);
    if (action == 'c' || action == 's') {
      if (!argument.empty()) return malformed("vCont: c/s take no argument");
    } else if (action == 'C' || action == 'S') {
      if (!parse_hex(argument) || argument.size() > 2) return malformed("vCont: bad signal");
    } else {
      return malformed("vCont: unknown action");
    }
    ThreadId thread = kAllThreads;
    if (colon != std::string_view::npos) {
      const auto id = parse_thread_id(tail.substr(colon + 1));
      if (!id) return malformed("vCont: bad thread id");
      thread = *id;
    }
    vcont.actions.push_back({action, thread});
  }
  if (vcont.actions.empty()) return malformed("vCont: no action");
  return vcont;
}

GdbCommand parse_breakpoint(std::string_view p) {
  const bool insert = p.front() == 'Z';
  // "Zt,addr,kind": the type is one decimal digit in practice, hex in the spec.
  const std::size_t comma = p.find(',');
  if (comma == std::string_view::npos) return malformed("Z/z: missing fields");
  const auto type = parse_hex_unsigned(p.substr(1, comma - 1));
  if (!type) return malformed("Z/z: bad type");
  // A type vmm does not know gets the empty reply, which tells GDB so.
  if (*type > kMaxBreakpointType) return cmd::Unsupported{};
  const auto rest = parse_pair(p.substr(comma + 1));
  if (!rest) return malformed("Z/z: bad address or kind");
  if (rest->second > std::numeric_limits<unsigned>::max()) return malformed("Z/z: kind too large");
  const unsigned kind = static_cast<unsigned>(rest->second);
  if (insert) return cmd::InsertBreakpoint{*type, rest->first, kind};
  return cmd::RemoveBreakpoint{*type, rest->first, kind};
}

// "M addr,len:XX.." and "X addr,len:bytes": the length must match the data.
GdbCommand parse_write_memory(std::string_view p) {
  const bool binary = p.front() == 'X';
  const std::size_t colon = p.find(':');
  if (colon == std::string_view::npos) return malformed("M/X: missing ':'");
  const auto range = parse_pair(p.substr(1, colon - 1));
  if (!range) return malformed("M/X: bad address or length");
  const std::string_view data = p.substr(colon + 1);
  cmd::WriteMemory write{range->first, {}};
  if (binary) {
    write.bytes.assign(data.begin(), data.end());
  } else {
    auto bytes = from_hex(data);
    if (!bytes) return malformed("M: data not hex");
    write.bytes = std::move(*bytes);
  }
  if (write.bytes.size() != range->second) return malformed("M/X: length does not match the data");
  return write;
}

GdbCommand parse_resume(std::string_view p, bool step) {
  std::optional<std::uint64_t> address;
  if (p.size() > 1) {
    address = parse_hex(p.substr(1));
    if (!address) return malformed("c/s: bad address");
  }
  if (step) return cmd::Step{address};
  return cmd::Continue{address};
}

}  // namespace

GdbCommand parse_gdb_command(std::string_view p) {
  if (p.empty()) return cmd::Unsupported{};
  switch (p.front()) {
    case 'q': return parse_query(p);
    case 'Q': return p == "QStartNoAckMode" ? GdbCommand{cmd::StartNoAckMode{}} : GdbCommand{cmd::Unsupported{}};
    case 'v': return parse_v(p);
    case '?': return p.size() == 1 ? GdbCommand{cmd::HaltReason{}} : GdbCommand{malformed("?: trailing bytes")};
    case 'g': return p.size() == 1 ? GdbCommand{cmd::ReadRegisters{}} : GdbCommand{malformed("g: trailing bytes")};
    case 'G': {
      auto bytes = from_hex(p.substr(1));
      if (!bytes) return malformed("G: data not hex");
      return cmd::WriteRegisters{std::move(*bytes)};
    }
    case 'p': {
      const auto number = parse_hex_unsigned(p.substr(1));
      if (!number) return malformed("p: bad register number");
      return cmd::ReadRegister{*number};
    }
    case 'P': {
      const std::size_t equals = p.find('=');
      if (equals == std::string_view::npos) return malformed("P: missing '='");
      const auto number = parse_hex_unsigned(p.substr(1, equals - 1));
      if (!number) return malformed("P: bad register number");
      auto bytes = from_hex(p.substr(equals + 1));
      if (!bytes || bytes->empty()) return malformed("P: bad value");
      return cmd::WriteRegister{*number, std::move(*bytes)};
    }
    case 'm': {
      const auto range = parse_pair(p.substr(1));
      if (!range) return malformed("m: bad address or length");
      return cmd::ReadMemory{range->first, range->second};
    }
    case 'M':
    case 'X': return parse_write_memory(p);
    case 'c': return parse_resume(p, false);
    case 's': return parse_resume(p, true);
    case 'Z':
    case 'z': return parse_breakpoint(p);
    case 'H': {
      if (p.size() < 2 || (p[1] != 'g' && p[1] != 'c')) return cmd::Unsupported{};
      const auto thread = parse_thread_id(p.substr(2));
      if (!thread) return malformed("H: bad thread id");
      return cmd::SetThread{p[1], *thread};
    }
    case 'T': {
      const auto thread = parse_thread_id(p.substr(1));
      if (!thread) return malformed("T: bad thread id");
      return cmd::ThreadAlive{*thread};
    }
    case 'D':
      if (p.size() == 1) return cmd::Detach{};
      if (p[1] == ';' && parse_hex(p.substr(2))) return cmd::Detach{};
      return malformed("D: bad pid");
    case 'k': return p.size() == 1 ? GdbCommand{cmd::Kill{}} : GdbCommand{malformed("k: trailing bytes")};
    default: return cmd::Unsupported{};
  }
}

namespace {

std::string hex_number(std::uint64_t value, unsigned min_digits) {
  std::string digits;
  do {
    digits.push_back(kHexDigits[value & 0xf]);
    value >>= 4;
  } while (value != 0);
  while (digits.size() < min_digits) digits.push_back('0');
  std::reverse(digits.begin(), digits.end());
  return digits;
}

// The replies below append to a prefix instead of writing `"T" + string`:
// GCC 12 at -O3 reports a false -Werror=restrict inside that operator+
// (GCC bug 105329, std::string::insert at 0 inlined into _M_replace).
std::string thread_hex(ThreadId thread) {
  if (thread >= 0) return hex_number(static_cast<std::uint64_t>(thread), 2);
  std::string text = "-";
  return text.append(hex_number(0 - static_cast<std::uint64_t>(thread), 1));
}

}  // namespace

std::string stop_reply(int signal, ThreadId thread) {
  std::string reply = "T";
  return reply.append(hex_number(static_cast<std::uint8_t>(signal), 2))
      .append("thread:")
      .append(thread_hex(thread))
      .append(";");
}

std::string error_reply(int code) {
  std::string reply = "E";
  return reply.append(hex_number(static_cast<std::uint8_t>(code), 2));
}

std::string xfer_reply(std::string_view document, std::uint64_t offset, std::uint64_t length) {
  if (offset >= document.size()) return "l";
  // Never answer more than a packet holds, whatever GDB asked for.
  const std::uint64_t room = kMaxPacketBytes - 1;
  const std::size_t count = static_cast<std::size_t>(std::min({length, room, document.size() - offset}));
  const std::string_view chunk = document.substr(static_cast<std::size_t>(offset), count);
  const bool last = offset + count >= document.size();
  std::string reply = last ? "l" : "m";
  return reply.append(chunk);
}

std::string thread_list_reply(unsigned count) {
  if (count == 0) return "l";
  std::string reply = "m";
  for (unsigned thread = 1; thread <= count; ++thread) {
    if (thread > 1) reply.push_back(',');
    reply += hex_number(thread, 1);
  }
  return reply;
}

}  // namespace vmm::debug
