#pragma once
// IrqLine: the one thing a device model knows about interrupts. A device drives
// its output as a level; the implementation decides what reaches the guest
// (an irqfd pulse for edge lines, a resamplefd-backed level for level lines).

namespace vmm {

class IrqLine {
 public:
  virtual ~IrqLine() = default;

  virtual void set_level(bool asserted) = 0;
  void raise() { set_level(true); }
  void lower() { set_level(false); }

  // Lower the line, and take back an assertion the interrupt controller may
  // still hold for an EOI that is not coming (the guest masked the line while
  // it was pending). Where the controller follows the level, that is lower().
  virtual void retract() { lower(); }

  // An edge source whose low phase we never model (the PIT's OUT pulse in mode 2
  // is one input clock long): the line dropped and rose again since last seen.
  void pulse() {
    set_level(false);
    set_level(true);
  }
};

}  // namespace vmm
