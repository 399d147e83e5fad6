#pragma once
// The architectural bits vmm sets or reads in a vCPU's control registers and
// EFER (Intel SDM vol. 3A, 2.5 and 2.2.1).

#include <cstdint>

namespace vmm::x86 {

constexpr std::uint64_t kCr0Pe = 1ull << 0, kCr0Nw = 1ull << 29, kCr0Cd = 1ull << 30, kCr0Pg = 1ull << 31;
constexpr std::uint64_t kCr4Pse = 1ull << 4, kCr4Pae = 1ull << 5, kCr4La57 = 1ull << 12;
constexpr std::uint64_t kEferLme = 1ull << 8, kEferLma = 1ull << 10;

}  // namespace vmm::x86
