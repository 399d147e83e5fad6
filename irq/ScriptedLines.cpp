#include "irq/ScriptedLines.h"

#include "irq/IrqfdLine.h"
#include "irq/ResampledIrqfdLine.h"

namespace vmm {

ScriptedLines::ScriptedLines(int vm_fd, const std::vector<InterruptLineSpec>& specs, boost::asio::io_context& io,
                             Clock& clock, unsigned vcpus,
                             const std::function<void(std::uint32_t index)>& on_resample) {
  std::vector<Injector::Line> injectable;
  for (const auto& spec : specs) {
    std::unique_ptr<IrqLine> irq;
    if (spec.trigger == Trigger::Level) {
      auto level = std::make_unique<ResampledIrqfdLine>(vm_fd, spec.gsi, io);
      if (on_resample)
        level->set_resample_callback(
            [on_resample, index = static_cast<std::uint32_t>(injectable.size())] { on_resample(index); });
      irq = std::move(level);
    } else {
      irq = std::make_unique<IrqfdLine>(vm_fd, spec.gsi);
    }
    injectable.push_back({spec.name, spec.gsi, spec.trigger, irq.get()});
    lines_.push_back(std::move(irq));
  }
  injector_ = std::make_unique<Injector>(clock, std::move(injectable), vcpus);
}

}  // namespace vmm
