#pragma once
// One owner for an mmap()ed range: unmapped exactly once.

#include <sys/mman.h>

#include <cstddef>
#include <utility>

namespace vmm {

class Mapping {
 public:
  Mapping() = default;
  Mapping(void* address, std::size_t size) : address_(address), size_(size) {}
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  Mapping(Mapping&& other) noexcept
      : address_(std::exchange(other.address_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  Mapping& operator=(Mapping&& other) noexcept {
    if (this != &other) {
      reset();
      address_ = std::exchange(other.address_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~Mapping() { reset(); }

  void* get() const { return address_; }
  std::size_t size() const { return size_; }

 private:
  void reset() {
    if (address_ != nullptr) ::munmap(address_, size_);
    address_ = nullptr;
  }

  void* address_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace vmm
