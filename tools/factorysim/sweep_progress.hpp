// A sweep's progress on stderr: on a terminal one line, redrawn (done/total, failures, elapsed, ETA); otherwise one
// plain line per finished point.
#pragma once
#include "sweep_spec.hpp"
#include <chrono>

namespace fs::cli {

class SweepProgress {
public:
  // `rank` >= 0 prefixes lines with the MPI rank.
  SweepProgress(const SweepSpec& sw, size_t total, int rank);
  void finished(const SweepPoint& p, const std::string& status, const std::string& error, double wall_s);
  void tick(); // redraws the terminal line at most a few times a second
  void end();

private:
  void draw();
  const SweepSpec& sw_;
  size_t total_, done_ = 0, failed_ = 0;
  int rank_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, drawn_;
};

} // namespace fs::cli
