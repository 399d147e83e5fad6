#include "vmm/profile/Profile.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>

namespace vmm::profile {

namespace {

struct Key {
  std::uint32_t vcpu;
  unsigned ring;
  std::string symbol;
  bool operator<(const Key& other) const {
    return std::tie(vcpu, ring, symbol) < std::tie(other.vcpu, other.ring, other.symbol);
  }
};

std::string format(const char* pattern, auto... values) {
  char text[256];
  std::snprintf(text, sizeof text, pattern, values...);
  return text;
}

double percent(std::uint64_t part, std::uint64_t whole) { return whole ? 100.0 * part / whole : 0; }

}  // namespace

ProfileReport make_report(const std::vector<const VcpuSamples*>& vcpus, const Symbols& symbols,
                          std::chrono::nanoseconds elapsed, unsigned hz, std::size_t top) {
  // By symbol: a function's addresses add up.
  std::map<Key, std::uint64_t> folded;
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> by_symbol;  // ring 0, ring 3
  std::vector<std::uint64_t> per_vcpu(vcpus.size(), 0);
  std::uint64_t rings[2] = {0, 0};
  std::chrono::nanoseconds cost{0};
  for (std::uint32_t id = 0; id < vcpus.size(); ++id) {
    cost += vcpus[id]->cost();
    for (unsigned side = 0; side < 2; ++side) {
      for (const auto& [rip, count] : side == 0 ? vcpus[id]->kernel() : vcpus[id]->user()) {
        const std::string name = symbols.name_of(rip);
        folded[Key{id, side == 0 ? 0u : 3u, name}] += count;
        (side == 0 ? by_symbol[name].first : by_symbol[name].second) += count;
        per_vcpu[id] += count;
        rings[side] += count;
      }
    }
  }
  ProfileReport report;
  report.samples = rings[0] + rings[1];

  std::vector<std::pair<Key, std::uint64_t>> lines(folded.begin(), folded.end());
  std::stable_sort(lines.begin(), lines.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [key, count] : lines)
    report.folded += format("vcpu%u;ring%u;", key.vcpu, key.ring) + key.symbol + " " + std::to_string(count) + "\n";

  const double seconds = std::chrono::duration<double>(elapsed).count();
  std::string& out = report.summary;
  out += format("profile: %llu samples in %.2f s at %u Hz per vCPU (%.0f samples/s in all), %.1f us of vmm's work "
                "per sample on the vCPU thread\n",
                static_cast<unsigned long long>(report.samples), seconds, hz,
                seconds > 0 ? report.samples / seconds : 0.0,
                report.samples ? std::chrono::duration<double, std::micro>(cost).count() / report.samples : 0.0);
  out += format("profile: ring 0 %.1f %%, ring 3 %.1f %%", percent(rings[0], report.samples),
                percent(rings[1], report.samples));
  for (std::uint32_t id = 0; id < per_vcpu.size(); ++id)
    out += format("; vcpu%u %llu", id, static_cast<unsigned long long>(per_vcpu[id]));
  out += "\n";

  std::vector<std::pair<std::string, std::pair<std::uint64_t, std::uint64_t>>> ranked(by_symbol.begin(),
                                                                                       by_symbol.end());
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second.first + a.second.second > b.second.first + b.second.second;
  });
  out += "profile:  rank  samples       %   ring 0 %  symbol\n";
  for (std::size_t i = 0; i < ranked.size() && i < top; ++i) {
    const auto& [name, counts] = ranked[i];
    const std::uint64_t total = counts.first + counts.second;
    out += format("profile: %5zu %8llu  %6.2f  %8.1f  ", i + 1, static_cast<unsigned long long>(total),
                  percent(total, report.samples), percent(counts.first, total)) +
           name + "\n";
  }
  return report;
}

}  // namespace vmm::profile
