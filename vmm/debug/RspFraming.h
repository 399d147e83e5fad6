#pragma once
// The GDB remote serial protocol's framing, bytes in and packets out, with no
// I/O: `$payload#cs` packets, `}` escapes, `*` run-length encoding, `+`/`-`
// acknowledgements and the 0x03 interrupt byte (GDB's Ctrl-C).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vmm::debug {

// What vmm advertises as PacketSize (qSupported); a longer packet is refused.
inline constexpr std::size_t kMaxPacketBytes = 16384;

struct RspEvent {
  enum class Kind {
    Packet,       // a well-formed packet; `payload` is unescaped and run-length decoded
    Interrupt,    // 0x03 outside a packet
    Ack,          // '+'
    Nak,          // '-': resend the last packet
    BadChecksum,  // answer '-'; `payload` holds the packet as received, for the stats
    Oversized,    // longer than kMaxPacketBytes: dropped whole (up to its '#xx'), answer '-'
    Garbage,      // bytes outside any packet that mean nothing; counted, skipped
  };
  Kind kind;
  std::string payload;
};

// Incremental: bytes may arrive split anywhere, several packets per call.
class RspDecoder {
 public:
  std::vector<RspEvent> feed(std::span<const std::uint8_t> bytes);
  // Bytes of an unfinished packet held back (for a client that vanishes mid-packet).
  std::size_t pending_bytes() const;

 private:
  enum class State { Idle, Payload, Escape, RunLength, Checksum1, Checksum2 };
  void start_packet();
  void append(char byte);  // stores a decoded byte, or marks the packet oversized

  State state_ = State::Idle;
  std::string raw_;  // the payload as sent, escapes and run-lengths undone on the fly
  std::size_t raw_bytes_ = 0;
  std::uint8_t sum_ = 0;
  std::uint8_t checksum_high_ = 0;
  bool oversized_ = false;
};

// Sum of the bytes modulo 256, as the protocol computes it.
std::uint8_t rsp_checksum(std::string_view bytes);
// "$" + payload with '#', '$', '}' and '*' escaped + "#" + two hex digits.
std::string rsp_frame(std::string_view payload);

// Hex helpers for payloads: lower-case pairs, one per byte.
std::string to_hex(std::span<const std::uint8_t> bytes);
std::string to_hex(std::string_view text);
// Empty optional on an odd length or a non-hex digit.
std::optional<std::vector<std::uint8_t>> from_hex(std::string_view hex);

}  // namespace vmm::debug
