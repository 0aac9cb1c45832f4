#include "event_queue.hpp"
#include <algorithm>
#include <limits>
#include <simgrid/s4u/Engine.hpp>

namespace fs {

EventQueue::~EventQueue()
{
  if (timer_) timer_->remove(); // kernel timers live until the engine is destroyed
}

EventQueue::Handle EventQueue::at(double t, std::function<void()> f)
{
  uint32_t slot;
  if (free_.empty()) {
    slot = uint32_t(slots_.size());
    slots_.emplace_back();
  } else {
    slot = free_.back();
    free_.pop_back();
  }
  const uint64_t seq = next_seq_++;
  slots_[slot] = {std::move(f), seq};
  live_++;
  // An event for the instant that is running (a wake-up: most of them) runs after every event already set for it,
  // which are all in the heap, being older: a queue keeps that order without two walks of the heap.
  if (running_ && t == now_) {
    now_q_.push_back({t, seq, slot});
    return {slot, seq};
  }
  heap_.push({t, seq, slot});
  if (!running_ && (!timer_ || t < armed_)) arm(t); // while running, run() arms for what is left
  return {slot, seq};
}

void EventQueue::cancel(Handle h)
{
  if (h && slots_[h.slot].seq == h.seq) release(h.slot);
}

void EventQueue::release(uint32_t slot)
{
  slots_[slot].f = nullptr;
  slots_[slot].seq = 0;
  free_.push_back(slot);
  live_--;
}

void EventQueue::arm(double t)
{
  if (timer_) timer_->remove();
  armed_ = t;
  timer_ = simgrid::kernel::timer::Timer::set(t, [this] {
    timer_ = nullptr; // the kernel deletes it after this call
    run();
  });
}

double EventQueue::now() const { return running_ ? now_ : std::max(now_, simgrid::s4u::Engine::get_clock()); }

void EventQueue::in_simgrid(std::function<void()> f)
{
  if (running_ && now_ > simgrid::s4u::Engine::get_clock()) {
    deferred_.push_back(std::move(f)); // run() stops running ahead, and SimGrid's clock comes here
    waited_++;
  } else
    f();
}

void EventQueue::run()
{
  now_ = std::max(now_, simgrid::s4u::Engine::get_clock());
  running_ = true;
  // What events running ahead left for SimGrid starts first, now that its clock is at their time.
  for (size_t k = 0; k < deferred_.size(); ++k) // (f may defer nothing more: SimGrid's clock is now)
    deferred_[k]();
  deferred_.clear();
  while (true) {
    while (true) {
      Entry e;
      if (!heap_.empty() && heap_.top().t <= now_) {
        e = heap_.top();
        heap_.pop();
      } else if (now_head_ < now_q_.size())
        e = now_q_[now_head_++];
      else
        break;
      Slot& s = slots_[e.slot];
      if (s.seq != e.seq) continue; // cancelled
      std::function<void()> f = std::move(s.f);
      release(e.slot);
      f(); // may set events, for now too: they run in this loop
    }
    now_q_.clear();
    now_head_ = 0;
    while (!heap_.empty() && slots_[heap_.top().slot].seq != heap_.top().seq)
      heap_.pop();
    // Nothing else is due now. When SimGrid has nothing to do before the next event, that one runs in this round of
    // its main loop: SimGrid would only move its clock there and call us (~2,400 instructions a round).
    if (heap_.empty() || !deferred_.empty() || !horizon_) break;
    const double horizon = horizon_();
    if (!(heap_.top().t < horizon)) break;
    now_ = heap_.top().t;
    ahead_++;
    if (horizon < std::numeric_limits<double>::infinity()) ahead_bounded_++;
  }
  running_ = false;
  if (!deferred_.empty())
    arm(now_);
  else if (!heap_.empty())
    arm(heap_.top().t);
}

} // namespace fs
