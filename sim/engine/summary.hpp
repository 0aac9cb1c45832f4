// Metrics of a finished run (docs/metrics.md): summary.json and requests.csv.
#pragma once
#include "factory.hpp"
#include <functional>
#include <ostream>

namespace fs {

struct Percentiles {
  double mean = 0, p1 = 0, p10 = 0, p50 = 0, p90 = 0, p99 = 0;
  long n = 0;
};
// Linear interpolation between closest ranks (numpy's default); zeros when empty.
Percentiles percentiles(std::vector<double> xs);

// Throws std::runtime_error when requests are neither completed nor dropped (conservation).
Json make_summary(const Scenario& s, const PlacementConfig& pc, const RunResult& r);
// requests.csv, handed to `sink` in pieces of about a megabyte.
void write_requests_csv(const RunResult& r, const std::function<void(const std::string&)>& sink);
// sessions.csv (one row per session or agent task), the same way; nothing when the run has none.
void write_sessions_csv(const RunResult& r, const std::function<void(const std::string&)>& sink);

// Whether a run is healthy: "ok", "slo_missed" (SLOs set and fewer than 99% of the measured requests meet
// them) or "unstable" (the queue grows without bound: a backlog at the end of the window and time to first
// token still rising). A summary's "status" object.
Json run_status(const Scenario& s, const RunResult& r);

} // namespace fs
