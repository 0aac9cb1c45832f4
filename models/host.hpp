// Host (CPU) work per request and the cores that do it (docs/model.md, "Host work"). Pure: no SimGrid.
#pragma once
#include "specs.hpp"
#include <queue>
#include <vector>

namespace fs {

// Core-seconds of CPU work a request costs outside the accelerators: the API server's handling of it and the
// tokenisation of its prompt before it can be scheduled; the detokenisation and streaming of its output.
struct HostWork {
  double request_core_s = 0;              // per request: parse, validate, admit, respond
  double tokenize_core_s_per_token = 0;   // per prompt token
  double detokenize_core_s_per_token = 0; // per output token (incremental detokenisation and streaming)

  double before_s(long input_tokens) const { return request_core_s + tokenize_core_s_per_token * double(input_tokens); }
  double after_s(long output_tokens) const { return detokenize_core_s_per_token * double(output_tokens); }
};

// Average power of one CPU socket busy `utilization` of the time: its serving draw (a lightly loaded host)
// rising linearly to TDP (docs/model.md, "Host work").
inline double cpu_power_w(const CpuSpec& c, double utilization)
{
  const double f = c.serving_power_fraction;
  return c.tdp_w * (f + (1 - f) * utilization);
}

// First come, first served over `cores` identical cores, one job per core. Jobs must be submitted in
// nondecreasing time order; then the earliest free core takes each (the Kiefer-Wolfowitz recursion), which is
// exactly FCFS M/G/c.
class CoreQueue {
public:
  // Busy core-seconds are counted inside [window_start, window_end].
  CoreQueue(long cores, double window_start, double window_end);
  struct Job {
    double start = 0, finish = 0;
    double wait(double submitted) const { return start - submitted; }
  };
  Job submit(double t, double work_s);
  // An end found during the run (the workload stopped): later jobs count up to it (earlier ones already counted).
  void set_window_end(double end) { window_end_ = end; }
  long cores() const { return cores_; }
  // Core-seconds of work inside the window, of every job submitted so far.
  double busy_core_s() const { return busy_; }

private:
  long cores_;
  std::priority_queue<double, std::vector<double>, std::greater<>> free_at_; // a core's free time, earliest first
  double window_start_, window_end_, busy_ = 0;
};

} // namespace fs
