// The engine's own timed events behind one SimGrid kernel timer: instances' step ends and wake-ups, the request
// source, KV pulls' ends. Events at one instant run first in, first out (SimGrid's timer heap compares dates only,
// so its order at one instant changed with any timer added elsewhere), and an event costs a binary-heap entry and a
// reused slot, not a kernel timer allocated per event.
#pragma once
#include <cstdint>
#include <functional>
#include <queue>
#include <simgrid/kernel/Timer.hpp>
#include <vector>

namespace fs {

class EventQueue {
public:
  struct Handle {
    uint32_t slot = 0;
    uint64_t seq = 0; // 0: no event
    explicit operator bool() const { return seq != 0; }
  };

  EventQueue() = default;
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;
  ~EventQueue();

  // Runs `f` (which must not throw) at simulated time `t` (not before now), after every event already set for `t`.
  Handle at(double t, std::function<void()> f);
  // The event does not run (no-op if it ran or was cancelled).
  void cancel(Handle h);
  bool empty() const { return live_ == 0; } // no event left to run

private:
  struct Entry {
    double t;
    uint64_t seq;
    uint32_t slot;
    bool operator>(const Entry& o) const { return t != o.t ? t > o.t : seq > o.seq; }
  };
  struct Slot {
    std::function<void()> f;
    uint64_t seq = 0; // of the event it holds; 0: free
  };
  void arm(double t); // the kernel timer at t
  void run();         // the kernel timer fired: every event due now, in order
  void release(uint32_t slot);

  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap_; // may hold cancelled entries (seq mismatch)
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  uint64_t next_seq_ = 1;
  long live_ = 0;
  bool running_ = false;
  simgrid::kernel::timer::Timer* timer_ = nullptr;
  double armed_ = 0;
};

} // namespace fs
