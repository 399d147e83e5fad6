#include "irq/IrqfdLine.h"

#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace vmm {

namespace {

kvm_irqfd irqfd_request(int eventfd, std::uint32_t gsi, std::uint32_t flags) {
  kvm_irqfd request{};
  request.fd = static_cast<std::uint32_t>(eventfd);
  request.gsi = gsi;
  request.flags = flags;
  return request;
}

}  // namespace

IrqfdLine::IrqfdLine(int vm_fd, std::uint32_t gsi)
    : vm_fd_(vm_fd), gsi_(gsi), eventfd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!eventfd_.valid())
    throw std::runtime_error("eventfd for GSI " + std::to_string(gsi) + ": " + std::strerror(errno));
  kvm_irqfd request = irqfd_request(eventfd_.get(), gsi_, 0);
  if (::ioctl(vm_fd_, KVM_IRQFD, &request) < 0)
    throw std::runtime_error("KVM_IRQFD for GSI " + std::to_string(gsi) + ": " + std::strerror(errno));
}

IrqfdLine::~IrqfdLine() {
  kvm_irqfd request = irqfd_request(eventfd_.get(), gsi_, KVM_IRQFD_FLAG_DEASSIGN);
  ::ioctl(vm_fd_, KVM_IRQFD, &request);  // best effort: the VM may already be gone
}

void IrqfdLine::set_level(bool asserted) {
  bool was = level_.exchange(asserted, std::memory_order_acq_rel);
  if (!asserted || was) return;
  const std::uint64_t one = 1;
  // The counter only overflows after 2^64-2 unread writes; KVM drains it on every
  // wakeup, so EAGAIN cannot happen in practice and a short write cannot happen at all.
  if (::write(eventfd_.get(), &one, sizeof one) == sizeof one)
    edges_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace vmm
