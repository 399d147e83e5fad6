#pragma once
// The config's interrupt lines that scripts drive (a timeline, the control
// socket): one irqfd line per entry, an edge line or a level line with a
// resamplefd, and the Injector that fires them and counts their deliveries.
// The lines outlive the Injector that holds them.

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "irq/Injector.h"
#include "irq/InterruptLines.h"
#include "irq/IrqLine.h"

namespace vmm {

class ScriptedLines {
 public:
  // `on_resample(index)`, when set, hears KVM resample level line `index` of
  // `specs` (the trace draws it).
  ScriptedLines(int vm_fd, const std::vector<InterruptLineSpec>& specs, boost::asio::io_context& io, Clock& clock,
                unsigned vcpus, const std::function<void(std::uint32_t index)>& on_resample);

  Injector& injector() { return *injector_; }
  const Injector& injector() const { return *injector_; }

 private:
  std::vector<std::unique_ptr<IrqLine>> lines_;
  std::unique_ptr<Injector> injector_;
};

}  // namespace vmm
