// A progress line on stderr for long runs, only when stderr is a terminal (never in files or CI logs).
#pragma once
#include <chrono>
#include <string>

namespace fs {

// "placement: simulated 12.3 s, 4,567 of 10,000 requests done, 3,210 req/s, ETA 2 s" (`total` 0: unknown, no ETA
// unless the simulated end `sim_end` is known).
std::string progress_line(const std::string& label, double sim_now, long done, long total, double sim_end,
                          double wall_s);

class Progress {
public:
  // `total` requests expected (0: unknown), `sim_end` the simulated time the arrivals end (inf: unknown).
  Progress(std::string label, long total, double sim_end);
  ~Progress() { clear(); }
  // Cheap: looks at the wall clock every 256 calls, prints at most twice a second, first after 3 s of wall time.
  void tick(double sim_now, long done)
  {
    if (on_ && ++calls_ % 256 == 0) print(sim_now, done);
  }
  void clear(); // erases the line, if one was printed

private:
  void print(double sim_now, long done);
  std::string label_;
  long total_;
  double sim_end_;
  bool on_ = false, shown_ = false;
  long calls_ = 0;
  std::chrono::steady_clock::time_point start_, last_;
};

} // namespace fs
