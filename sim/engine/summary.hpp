// Metrics of a finished run (docs/metrics.md): summary.json and requests.csv.
#pragma once
#include "factory.hpp"
#include <ostream>

namespace fs {

struct Percentiles {
  double mean = 0, p50 = 0, p90 = 0, p99 = 0;
  long n = 0;
};
// Linear interpolation between closest ranks (numpy's default); zeros when empty.
Percentiles percentiles(std::vector<double> xs);

// Throws std::runtime_error when requests are neither completed nor dropped (conservation).
Json make_summary(const Scenario& s, const PlacementConfig& pc, const RunResult& r);
void write_requests_csv(std::ostream& out, const RunResult& r);

} // namespace fs
