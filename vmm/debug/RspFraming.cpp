#include "vmm/debug/RspFraming.h"

#include <algorithm>

namespace vmm::debug {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr std::uint8_t kInterruptByte = 0x03;
constexpr std::uint8_t kEscapeXor = 0x20;
// GDB encodes a run as the character, '*', then (repeat count + 29) as one
// printable byte.
constexpr int kRunLengthBias = 29;

int hex_value(std::uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::size_t RspDecoder::pending_bytes() const { return state_ == State::Idle ? 0 : raw_bytes_; }

void RspDecoder::append(char byte) {
  if (oversized_) return;
  if (raw_.size() >= kMaxPacketBytes) {
    // Keep scanning to the '#xx' so the stream stays in step, but stop storing:
    // the packet is refused whole anyway.
    oversized_ = true;
    raw_.clear();
    raw_.shrink_to_fit();
    return;
  }
  raw_.push_back(byte);
}

void RspDecoder::start_packet() {
  state_ = State::Payload;
  raw_.clear();
  raw_bytes_ = 1;
  sum_ = 0;
  oversized_ = false;
}

std::vector<RspEvent> RspDecoder::feed(std::span<const std::uint8_t> bytes) {
  std::vector<RspEvent> events;
  // Garbage is reported once per run of bytes, not once per byte, so a noisy
  // line costs one event per feed().
  std::string garbage;
  bool in_garbage = false;
  const auto flush_garbage = [&] {
    if (!in_garbage) return;
    events.push_back({RspEvent::Kind::Garbage, std::move(garbage)});
    garbage.clear();
    in_garbage = false;
  };

  for (const std::uint8_t byte : bytes) {
    if (state_ != State::Idle) ++raw_bytes_;
    if ((state_ == State::Payload || state_ == State::RunLength) && (byte == '$' || byte == '#')) {
      if (byte == '$') {
        // An unescaped '$' can only start a packet: the previous one was cut
        // short (a client that reconnected, a lost byte). Resynchronise.
        events.push_back({RspEvent::Kind::Garbage, std::move(raw_)});
        start_packet();
      } else {
        // After a '*', too: GDB never uses '#' as a count, so the '*' was the
        // packet's last byte.
        state_ = State::Checksum1;
      }
      continue;
    }
    switch (state_) {
      case State::Idle:
        if (byte == '$') {
          flush_garbage();
          start_packet();
        } else if (byte == '+' || byte == '-' || byte == kInterruptByte) {
          flush_garbage();
          const auto kind = byte == '+'   ? RspEvent::Kind::Ack
                            : byte == '-' ? RspEvent::Kind::Nak
                                          : RspEvent::Kind::Interrupt;
          events.push_back({kind, {}});
        } else {
          in_garbage = true;
          if (garbage.size() < kMaxPacketBytes) garbage.push_back(static_cast<char>(byte));
        }
        break;

      case State::Payload:
        sum_ = static_cast<std::uint8_t>(sum_ + byte);
        if (byte == '}') {
          state_ = State::Escape;
        } else if (byte == '*' && (!raw_.empty() || oversized_)) {
          state_ = State::RunLength;
        } else {
          // A '*' with nothing before it cannot be a run: it is kept as data.
          append(static_cast<char>(byte));
        }
        break;

      case State::Escape:
        sum_ = static_cast<std::uint8_t>(sum_ + byte);
        append(static_cast<char>(byte ^ kEscapeXor));
        state_ = State::Payload;
        break;

      case State::RunLength:
        sum_ = static_cast<std::uint8_t>(sum_ + byte);
        if (!oversized_) {
          const char repeated = raw_.back();
          for (int i = kRunLengthBias; i < byte && !oversized_; ++i) append(repeated);
        }
        state_ = State::Payload;
        break;

      case State::Checksum1:
        checksum_high_ = byte;
        state_ = State::Checksum2;
        break;

      case State::Checksum2: {
        const int high = hex_value(checksum_high_), low = hex_value(byte);
        const bool sum_ok = high >= 0 && low >= 0 && ((high << 4) | low) == sum_;
        RspEvent event{RspEvent::Kind::Packet, {}};
        if (oversized_)
          event.kind = RspEvent::Kind::Oversized;
        else if (!sum_ok)
          event.kind = RspEvent::Kind::BadChecksum;
        if (!oversized_) event.payload = std::move(raw_);
        events.push_back(std::move(event));
        raw_.clear();
        oversized_ = false;
        raw_bytes_ = 0;
        state_ = State::Idle;
        break;
      }
    }
  }
  flush_garbage();
  return events;
}

std::uint8_t rsp_checksum(std::string_view bytes) {
  std::uint8_t sum = 0;
  for (const char c : bytes) sum = static_cast<std::uint8_t>(sum + static_cast<std::uint8_t>(c));
  return sum;
}

std::string rsp_frame(std::string_view payload) {
  std::string body;
  body.reserve(payload.size() + 4);
  for (const char c : payload) {
    if (c == '#' || c == '$' || c == '}' || c == '*') {
      body.push_back('}');
      body.push_back(static_cast<char>(c ^ kEscapeXor));
    } else {
      body.push_back(c);
    }
  }
  const std::uint8_t sum = rsp_checksum(body);
  std::string framed;
  framed.reserve(body.size() + 4);
  framed.push_back('$');
  framed += body;
  framed.push_back('#');
  framed.push_back(kHexDigits[sum >> 4]);
  framed.push_back(kHexDigits[sum & 0xf]);
  return framed;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (const std::uint8_t b : bytes) {
    hex.push_back(kHexDigits[b >> 4]);
    hex.push_back(kHexDigits[b & 0xf]);
  }
  return hex;
}

std::string to_hex(std::string_view text) {
  return to_hex(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

std::optional<std::vector<std::uint8_t>> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::vector<std::uint8_t> bytes;
  bytes.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int high = hex_value(static_cast<std::uint8_t>(hex[i]));
    const int low = hex_value(static_cast<std::uint8_t>(hex[i + 1]));
    if (high < 0 || low < 0) return std::nullopt;
    bytes.push_back(static_cast<std::uint8_t>((high << 4) | low));
  }
  return bytes;
}

}  // namespace vmm::debug
