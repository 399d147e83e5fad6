#pragma once
// Packets from GDB as typed commands: pure parsing, no target. Anything vmm
// does not implement is Unsupported (answered with the empty packet); a
// malformed known packet is Malformed (answered "E01").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vmm::debug {

// GDB thread ids are vCPU index + 1 (0 means "any", -1 "all").
using ThreadId = std::int64_t;
inline constexpr ThreadId kAnyThread = 0;
inline constexpr ThreadId kAllThreads = -1;

namespace cmd {
struct QuerySupported { std::vector<std::string> features; };            // qSupported:...
struct ReadFeatures { std::string annex; std::uint64_t offset, length; }; // qXfer:features:read:ANNEX:OFF,LEN
struct HaltReason {};                                                     // ?
struct ReadRegisters {};                                                  // g
struct WriteRegisters { std::vector<std::uint8_t> bytes; };               // G XX...
struct ReadRegister { unsigned number; };                                 // p n
struct WriteRegister { unsigned number; std::vector<std::uint8_t> bytes; };  // P n=XX...
struct ReadMemory { std::uint64_t address, length; };                     // m addr,len
struct WriteMemory { std::uint64_t address; std::vector<std::uint8_t> bytes; };  // M addr,len:XX / X addr,len:binary
struct Continue { std::optional<std::uint64_t> address; };                // c [addr]
struct Step { std::optional<std::uint64_t> address; };                    // s [addr]
struct VContQuery {};                                                     // vCont?
struct VContAction { char action; ThreadId thread; };  // 'c' or 's' (also 'C'/'S': signal ignored); thread kAllThreads if none
struct VCont { std::vector<VContAction> actions; };                       // vCont;c;s:2...
struct InsertBreakpoint { unsigned type; std::uint64_t address; unsigned kind; };  // Z0..Z4 type,addr,kind
struct RemoveBreakpoint { unsigned type; std::uint64_t address; unsigned kind; };  // z0..z4
struct SetThread { char operation; ThreadId thread; };                    // Hg / Hc
struct ThreadAlive { ThreadId thread; };                                  // T thread
struct CurrentThread {};                                                  // qC
struct FirstThreadInfo {};                                                // qfThreadInfo
struct NextThreadInfo {};                                                 // qsThreadInfo
struct Attached {};                                                       // qAttached
struct Detach {};                                                         // D
struct Kill {};                                                           // k, vKill
struct StartNoAckMode {};                                                 // QStartNoAckMode
struct Malformed { std::string why; };
struct Unsupported {};
}  // namespace cmd

using GdbCommand =
    std::variant<cmd::QuerySupported, cmd::ReadFeatures, cmd::HaltReason, cmd::ReadRegisters, cmd::WriteRegisters,
                 cmd::ReadRegister, cmd::WriteRegister, cmd::ReadMemory, cmd::WriteMemory, cmd::Continue, cmd::Step,
                 cmd::VContQuery, cmd::VCont, cmd::InsertBreakpoint, cmd::RemoveBreakpoint, cmd::SetThread,
                 cmd::ThreadAlive, cmd::CurrentThread, cmd::FirstThreadInfo, cmd::NextThreadInfo, cmd::Attached,
                 cmd::Detach, cmd::Kill, cmd::StartNoAckMode, cmd::Malformed, cmd::Unsupported>;

// `payload` as RspDecoder gives it (unescaped). Never throws.
GdbCommand parse_gdb_command(std::string_view payload);

// Replies.
std::string stop_reply(int signal, ThreadId thread);      // "T05thread:01;" (signal 5 = SIGTRAP)
std::string error_reply(int code);                          // "E01"
// A qXfer:features:read answer for `document` at offset/length: "m..." or "l...".
std::string xfer_reply(std::string_view document, std::uint64_t offset, std::uint64_t length);
// "m1,2,3" for threads 1..count (qfThreadInfo).
std::string thread_list_reply(unsigned count);

}  // namespace vmm::debug
