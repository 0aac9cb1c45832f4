// What a run measures while it runs (pure C++; the summary is built from it afterwards).
#pragma once
#include <algorithm>
#include <vector>

namespace fs {

struct Window {
  double start = 0, end = 0;
  double length() const { return std::max(0.0, end - start); }
  bool contains(double t) const { return t >= start && t <= end; }
  double overlap(double a, double b) const { return std::max(0.0, std::min(b, end) - std::max(a, start)); }
};

struct InstanceStats {
  double busy_s = 0;           // whole run
  double busy_in_window_s = 0; // stepping time inside the measured window
  long steps = 0;
  long wakeups = 0;
  long preemptions = 0;
  double compute_bound_s = 0, memory_bound_s = 0, comm_s = 0, overhead_s = 0;
};

struct Collector {
  Window window;
  double input_tokens = 0; // prefill tokens computed inside the window
  double output_tokens = 0;
  long events = 0; // actor wake-ups (sleeps and waits that returned)

  void tokens(double t, double in, double out)
  {
    if (window.contains(t)) {
      input_tokens += in;
      output_tokens += out;
    }
  }
};

} // namespace fs
