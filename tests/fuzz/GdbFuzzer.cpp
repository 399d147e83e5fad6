// libFuzzer target for the GDB stub's packet layer: what a client on the
// socket controls. The input is a byte stream (the last 8 bytes seed the
// places it is split at). It goes through RspDecoder in random pieces and, as
// a reference, in one piece; every packet is parsed, answered and, where it
// carries register bytes, decoded. Invariants: the split does not change the
// packets, no payload exceeds kMaxPacketBytes, a framed payload decodes back
// to itself, and parsed lengths and replies stay within what was received.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "FuzzCheck.h"
#include "vmm/debug/GdbCommand.h"
#include "vmm/debug/RspFraming.h"
#include "vmm/debug/X86Registers.h"

namespace {

using namespace vmm::debug;

std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// Garbage is coalesced per feed(), so its events legitimately depend on the
// split; everything else must not.
std::vector<RspEvent> without_garbage(std::vector<RspEvent> events) {
  std::erase_if(events, [](const RspEvent& e) { return e.kind == RspEvent::Kind::Garbage; });
  return events;
}

void check_framing_round_trip(const std::string& payload) {
  RspDecoder decoder;
  const auto events = decoder.feed(as_bytes(rsp_frame(payload)));
  FUZZ_CHECK(events.size() == 1);
  FUZZ_CHECK(events[0].kind == RspEvent::Kind::Packet);
  FUZZ_CHECK(events[0].payload == payload);
  FUZZ_CHECK(decoder.pending_bytes() == 0);
}

void check_registers(const std::vector<std::uint8_t>& bytes) {
  const auto registers = decode_registers(bytes);
  if (registers) FUZZ_CHECK(encode_registers(*registers) == bytes);
}

void answer(const std::string& payload) {
  const GdbCommand command = parse_gdb_command(payload);
  std::visit(
      [&](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, cmd::Malformed>) {
          FUZZ_CHECK(!c.why.empty());
          FUZZ_CHECK(error_reply(1) == "E01");
        } else if constexpr (std::is_same_v<T, cmd::ReadFeatures>) {
          const std::string reply = xfer_reply(target_description_xml(), c.offset, c.length);
          FUZZ_CHECK(!reply.empty() && (reply[0] == 'm' || reply[0] == 'l'));
          FUZZ_CHECK(reply.size() <= kMaxPacketBytes);
          FUZZ_CHECK(reply.size() - 1 <= c.length || reply == "l");
          check_framing_round_trip(reply);
        } else if constexpr (std::is_same_v<T, cmd::WriteRegisters>) {
          FUZZ_CHECK(c.bytes.size() * 2 + 1 == payload.size());
          check_registers(c.bytes);
        } else if constexpr (std::is_same_v<T, cmd::WriteRegister>) {
          X86Registers registers;
          if (decode_register(registers, c.number, c.bytes)) {
            FUZZ_CHECK(encode_register(registers, c.number) == c.bytes);
            FUZZ_CHECK(c.bytes.size() == register_size(c.number));
          }
        } else if constexpr (std::is_same_v<T, cmd::ReadRegister>) {
          FUZZ_CHECK(encode_register(X86Registers{}, c.number).size() == register_size(c.number));
        } else if constexpr (std::is_same_v<T, cmd::WriteMemory>) {
          FUZZ_CHECK(c.bytes.size() < payload.size());
        } else if constexpr (std::is_same_v<T, cmd::VCont>) {
          FUZZ_CHECK(!c.actions.empty());
          for (const auto& action : c.actions)
            FUZZ_CHECK(action.action == 'c' || action.action == 's' || action.action == 'C' || action.action == 'S');
        } else if constexpr (std::is_same_v<T, cmd::InsertBreakpoint> || std::is_same_v<T, cmd::RemoveBreakpoint>) {
          FUZZ_CHECK(c.type <= 4);
        } else if constexpr (std::is_same_v<T, cmd::SetThread>) {
          FUZZ_CHECK(c.operation == 'g' || c.operation == 'c');
          FUZZ_CHECK(stop_reply(5, c.thread).starts_with("T05thread:"));
        } else if constexpr (std::is_same_v<T, cmd::ThreadAlive>) {
          FUZZ_CHECK(stop_reply(static_cast<int>(c.thread), c.thread).back() == ';');
        } else if constexpr (std::is_same_v<T, cmd::QuerySupported>) {
          for (const auto& feature : c.features) FUZZ_CHECK(!feature.empty() && feature.size() < payload.size());
        }
      },
      command);
  // Any payload is something vmm might send back (an error message, memory).
  check_framing_round_trip(payload);
  const auto hex = to_hex(std::string_view(payload));
  const auto back = from_hex(hex);
  FUZZ_CHECK(back && back->size() == payload.size());
  check_registers(std::vector<std::uint8_t>(payload.begin(), payload.end()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  std::uint64_t seed = in.ConsumeIntegral<std::uint64_t>() | 1;
  const std::vector<std::uint8_t> stream = in.ConsumeRemainingBytes<std::uint8_t>();

  RspDecoder whole_decoder;
  const auto whole = without_garbage(whole_decoder.feed(stream));

  RspDecoder split_decoder;
  std::vector<RspEvent> split;
  for (std::size_t at = 0; at < stream.size();) {
    seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;  // xorshift64
    const std::size_t piece = std::min<std::size_t>(stream.size() - at, seed % 17);
    auto events = split_decoder.feed(std::span(stream).subspan(at, piece));
    split.insert(split.end(), std::make_move_iterator(events.begin()), std::make_move_iterator(events.end()));
    at += piece;
    FUZZ_CHECK(split_decoder.pending_bytes() <= at);
  }
  split = without_garbage(std::move(split));
  FUZZ_CHECK(split_decoder.pending_bytes() == whole_decoder.pending_bytes());

  FUZZ_CHECK(split.size() == whole.size());
  for (std::size_t i = 0; i < whole.size(); ++i) {
    FUZZ_CHECK(split[i].kind == whole[i].kind);
    FUZZ_CHECK(split[i].payload == whole[i].payload);
    FUZZ_CHECK(whole[i].payload.size() <= kMaxPacketBytes);
    if (whole[i].kind == RspEvent::Kind::Oversized) FUZZ_CHECK(whole[i].payload.empty());
    if (whole[i].kind == RspEvent::Kind::Packet) answer(whole[i].payload);
  }
  (void)thread_list_reply(static_cast<unsigned>(seed % 64));
  return 0;
}
