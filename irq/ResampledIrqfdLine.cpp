#include "irq/ResampledIrqfdLine.h"

#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include <boost/asio/buffer.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace vmm {

namespace {

int make_eventfd(std::uint32_t gsi) {
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) throw std::runtime_error("eventfd for GSI " + std::to_string(gsi) + ": " + std::strerror(errno));
  return fd;
}

}  // namespace

ResampledIrqfdLine::ResampledIrqfdLine(int vm_fd, std::uint32_t gsi, boost::asio::io_context& io)
    : vm_fd_(vm_fd), gsi_(gsi), trigger_fd_(make_eventfd(gsi)), resample_(io, make_eventfd(gsi)) {
  if (!assign())
    throw std::runtime_error("KVM_IRQFD with resample for GSI " + std::to_string(gsi) + ": " + std::strerror(errno));
  wait_for_resample();
}

ResampledIrqfdLine::~ResampledIrqfdLine() {
  deassign();  // best effort: the VM may already be gone
  boost::system::error_code ignored;
  resample_.close(ignored);
}

bool ResampledIrqfdLine::assign() {
  kvm_irqfd request{};
  request.fd = static_cast<std::uint32_t>(trigger_fd_.get());
  request.gsi = gsi_;
  request.flags = KVM_IRQFD_FLAG_RESAMPLE;
  request.resamplefd = static_cast<std::uint32_t>(resample_.native_handle());
  return ::ioctl(vm_fd_, KVM_IRQFD, &request) == 0;
}

void ResampledIrqfdLine::deassign() {
  kvm_irqfd request{};
  request.fd = static_cast<std::uint32_t>(trigger_fd_.get());
  request.gsi = gsi_;
  request.flags = KVM_IRQFD_FLAG_DEASSIGN;
  ::ioctl(vm_fd_, KVM_IRQFD, &request);
}

void ResampledIrqfdLine::trigger() {
  const std::uint64_t one = 1;
  if (::write(trigger_fd_.get(), &one, sizeof one) != sizeof one) return;
  held_by_kvm_.store(true, std::memory_order_release);
  assertions_.fetch_add(1, std::memory_order_relaxed);
}

void ResampledIrqfdLine::withdraw() {
  // KVM gives a resampling irqfd no de-assert; it lowers the GSI when the
  // resampler goes, and KVM_IRQFD's deassign waits for that. Assigning the
  // same eventfds again leaves the line as it was, only low.
  deassign();
  if (!assign())
    throw std::runtime_error("KVM_IRQFD with resample for GSI " + std::to_string(gsi_) +
                             ", assigning it again to lower it: " + std::strerror(errno));
  withdrawals_.fetch_add(1, std::memory_order_relaxed);
}

void ResampledIrqfdLine::set_level(bool asserted) {
  const bool was = level_.exchange(asserted, std::memory_order_acq_rel);
  // Lowering needs no message: KVM lowers the GSI itself at the guest's EOI.
  if (asserted && !was) trigger();
}

void ResampledIrqfdLine::retract() {
  level_.store(false, std::memory_order_release);
  if (held_by_kvm_.exchange(false, std::memory_order_acq_rel)) withdraw();
}

void ResampledIrqfdLine::wait_for_resample() {
  resample_.async_read_some(boost::asio::buffer(resample_count_),
                            [this](const boost::system::error_code& error, std::size_t) {
                              if (error) return;  // closed: the line is going away
                              resamples_.fetch_add(1, std::memory_order_relaxed);
                              held_by_kvm_.store(false, std::memory_order_release);
                              const std::uint64_t before = assertions_.load(std::memory_order_relaxed);
                              if (on_resample_) on_resample_();
                              // Still asserted and not raised again by the callback: come back.
                              if (level_.load(std::memory_order_acquire) &&
                                  assertions_.load(std::memory_order_relaxed) == before)
                                trigger();
                              wait_for_resample();
                            });
}

}  // namespace vmm
