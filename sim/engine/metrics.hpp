// What a run measures while it runs (pure C++; the summary is built from it afterwards).
#pragma once
#include "power.hpp"
#include "prefix_cache.hpp"
#include "step_time.hpp"
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
  double busy_s = 0;                  // whole run: seconds its pipeline stages were busy, averaged over stages
  double busy_chip_s_window = 0;      // chip-seconds busy inside the measured window
  PhaseSeconds phases_window;         // the same split by phase (power)
  PhaseSeconds offload_phases_window; // attention/FFN split: chip-seconds of its FFN chips in the window
  PhaseSeconds phases;                // whole run, chip-seconds
  CommBreakdown comm;                 // whole run, seconds per chip of its stage
  double host_s = 0;                  // whole run: per-step host overhead (chips idle)
  long steps = 0;                     // micro-batches (one engine iteration each)
  long wakeups = 0;
  long preemptions = 0;
  long kv_peak_blocks = 0, kv_capacity_blocks = 0;
  long prefix_lookups = 0;  // prefix caching: prompt chunks looked up
  long cached_tokens = 0;   // prompt tokens admitted from the KV hierarchy (no prefill)
  long restored_tokens = 0; // preempted tokens brought back from a lower tier, not recomputed
  TierStats hbm;            // its accelerator-memory tier
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
  // `out` output tokens at each of the increasing times `ts[0..n)`: the same sums as n calls of tokens() (whole
  // token counts add exactly), in one addition when all of them are inside the window.
  void decode_tokens(const double* ts, int n, double out)
  {
    if (n > 0 && window.contains(ts[0]) && window.contains(ts[n - 1])) {
      output_tokens += out * double(n);
      return;
    }
    for (int j = 0; j < n; ++j)
      tokens(ts[j], 0, out);
  }
};

} // namespace fs
