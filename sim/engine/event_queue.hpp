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

  // The simulated time: the running event's, else SimGrid's clock (or, when events ran ahead of it, the last one's).
  // What the factory and its instances read, never SimGrid's clock: that one may be behind (below).
  double now() const;
  // Running ahead: the events of the next instants before `horizon()`, the earliest time at which SimGrid may do
  // anything of its own (+inf: nothing in progress there), run in the same round of SimGrid's main loop, SimGrid's
  // clock left behind, rather than one round each (docs/design.md, "Events ahead of SimGrid's clock"). Unset: never.
  void run_ahead_until(std::function<double()> horizon) { horizon_ = std::move(horizon); }
  // Runs `f` (which must not throw), which starts SimGrid activity, at the current time: at once when SimGrid's clock
  // is there, else first thing when it gets there (the events stop running ahead). While ahead, only events call at()
  // and in_simgrid: SimGrid's clock does not move, so nothing it has in progress (a pull before its horizon) calls
  // back.
  void in_simgrid(std::function<void()> f);
  long ran_ahead() const { return ahead_; }                    // instants run ahead of SimGrid's clock
  long waited() const { return waited_; }                      // calls of in_simgrid that waited for SimGrid's clock
  long ran_ahead_of_simgrid() const { return ahead_bounded_; } // instants ahead with a finite horizon

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
  std::vector<Entry> now_q_; // events set for the running instant while it runs, in order from now_head_ (at())
  size_t now_head_ = 0;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  uint64_t next_seq_ = 1;
  long live_ = 0;
  bool running_ = false;
  simgrid::kernel::timer::Timer* timer_ = nullptr;
  double armed_ = 0;
  double now_ = 0; // of the running event, or of the last one run (ahead of SimGrid's clock, maybe)
  std::function<double()> horizon_;
  std::vector<std::function<void()>> deferred_; // in_simgrid, while ahead
  long ahead_ = 0, waited_ = 0, ahead_bounded_ = 0;
};

} // namespace fs
