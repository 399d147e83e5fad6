#include "devices/CmosRtc.h"

namespace vmm {

namespace {

struct CivilTime {
  unsigned year, month, day, hour, minute, second, weekday;  // weekday 0 = Sunday
};

// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
// days-from-civil, inverted).
CivilTime civil_from_unix(std::int64_t seconds) {
  std::int64_t days = seconds / 86400;
  std::int64_t rest = seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  CivilTime time{};
  time.hour = static_cast<unsigned>(rest / 3600);
  time.minute = static_cast<unsigned>(rest / 60 % 60);
  time.second = static_cast<unsigned>(rest % 60);
  time.weekday = static_cast<unsigned>(((days % 7) + 7 + 4) % 7);  // 1970-01-01 was a Thursday
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  time.day = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  time.month = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  time.year = static_cast<unsigned>(yoe + era * 400 + (time.month <= 2));
  return time;
}

}  // namespace

std::uint8_t CmosRtc::encode(unsigned value) const {
  if (reg_b_ & kRegBBinary) return static_cast<std::uint8_t>(value);
  return static_cast<std::uint8_t>((value / 10) << 4 | value % 10);
}

std::uint8_t CmosRtc::read_register(std::uint8_t index) const {
  const bool is_time = index <= 0x09 || index == kCentury;
  const CivilTime now = is_time ? civil_from_unix(now_()) : CivilTime{};
  switch (index) {
    case 0x00: return encode(now.second);
    case 0x02: return encode(now.minute);
    case 0x04: {
      if (reg_b_ & kRegB24Hour) return encode(now.hour);
      const unsigned hour12 = now.hour % 12 == 0 ? 12 : now.hour % 12;
      return static_cast<std::uint8_t>(encode(hour12) | (now.hour >= 12 ? 0x80 : 0));
    }
    case 0x01:
    case 0x03:
    case 0x05: return 0;  // alarms
    case 0x06: return encode(now.weekday + 1);
    case 0x07: return encode(now.day);
    case 0x08: return encode(now.month);
    case 0x09: return encode(now.year % 100);
    case kCentury: return encode(now.year / 100 % 100);
    case kRegA: return 0x26;
    case kRegB: return reg_b_;
    case kRegC: return 0;
    case kRegD: return 0x80;
    default: return ram_[index];
  }
}

void CmosRtc::read(std::uint64_t offset, std::span<std::uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = offset + i == 1 ? read_register(index_) : 0xff;  // the index port is write-only
}

void CmosRtc::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  if (data.empty()) return;
  std::lock_guard lock(mutex_);
  if (offset == 0) {
    index_ = data[0] & 0x7f;  // bit 7 is the PC's NMI mask, not part of the index
    if (data.size() < 2) return;
    data = data.subspan(1);  // a 16-bit write at 0x70 writes the data port too
  } else if (offset != 1) {
    return;
  }
  const std::uint8_t value = data[0];
  if (index_ == kRegB)
    reg_b_ = value;
  else if (index_ > kRegD && index_ != kCentury)
    ram_[index_] = value;
  // The time, alarm, A, C and D registers are read-only here.
}

}  // namespace vmm
