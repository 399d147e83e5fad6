#pragma once
// An IrqLine that records what its device does with it, then passes it on:
// rising edges (the PIT's IRQ0) or level changes (COM1's IRQ4). Installed
// only with --trace, so the device models stay unaware of tracing.

#include <cstdint>

#include "irq/IrqLine.h"
#include "vmm/trace/Tracer.h"

namespace vmm::trace {

class TracedIrqLine final : public IrqLine {
 public:
  enum class Style { Edges, Levels };
  TracedIrqLine(IrqLine& inner, Style style, std::uint32_t track) : inner_(inner), style_(style), track_(track) {}

  void set_level(bool asserted) override {
    // The device calls this under its own lock, so `level_` needs no other.
    if (asserted != level_) {
      Record record{.start = Tracer::now_ns(), .a = asserted, .track = track_};
      record.kind = style_ == Style::Levels ? RecordKind::Level : RecordKind::Edge;
      if (style_ == Style::Levels || asserted) Tracer::record(record);
      level_ = asserted;
    }
    inner_.set_level(asserted);
  }

  void retract() override {
    if (level_ && style_ == Style::Levels)
      Tracer::record({.start = Tracer::now_ns(), .a = false, .kind = RecordKind::Level, .track = track_});
    level_ = false;
    inner_.retract();
  }

 private:
  IrqLine& inner_;
  Style style_;
  std::uint32_t track_;
  bool level_ = false;
};

}  // namespace vmm::trace
