#include "host.hpp"
#include <algorithm>
#include <stdexcept>

namespace fs {

CoreQueue::CoreQueue(long cores, double window_start, double window_end)
    : cores_(cores), window_start_(window_start), window_end_(window_end)
{
  if (cores <= 0) throw std::invalid_argument("a CoreQueue needs at least one core");
}

CoreQueue::Job CoreQueue::submit(double t, double work_s)
{
  Job j;
  if (long(free_at_.size()) < cores_) {
    j.start = t; // a core that never worked yet
  } else {
    j.start = std::max(t, free_at_.top());
    free_at_.pop();
  }
  j.finish = j.start + work_s;
  free_at_.push(j.finish);
  busy_ += std::max(0.0, std::min(j.finish, window_end_) - std::max(j.start, window_start_));
  return j;
}

} // namespace fs
