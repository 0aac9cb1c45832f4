// Capacity search (docs/metrics.md, "Capacity"): per placement, the highest load it serves within the scenario's
// SLOs, by bracketing then bisecting on the workload's load knob; every probe is one simulation in its own child
// process (children.hpp), placements searched in parallel.
#pragma once
#include "json_input.hpp"
#include "output.hpp"
#include "scenario.hpp"
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fs::cli {

struct CapacityOptions {
  std::string scenario; // empty: the built-in default
  std::vector<std::string> sets;
  std::vector<std::string> placements; // empty: all
  std::optional<std::string> slo;      // --slo "ttft_p99=2,tpot_p99=0.05" replaces the scenario's slo
  double goodput = 0.99;               // share of arrivals that must meet every SLO
  double tolerance = 0.02;             // relative width of the final bracket
  int jobs = 0;
  long trace_events = 0; // > 0: each probe records a Chrome trace of at most this many events
};

// The workload setting that sets its load.
struct LoadKnob {
  std::string path;     // e.g. workload.qps
  std::string unit;     // e.g. req/s
  double base = 0;      // the scenario's value
  bool inverse = false; // time_scale: load = 1 / value
  bool integer = false; // clients, users
  // The knob's value for a load `x` (x = base load x multiplier; for time_scale, x = 1 / time_scale).
  double value(double x) const;
  double load(double value) const; // the inverse
};
// Throws InputError for a workload without one (offline batches, rate curves).
LoadKnob load_knob(const Scenario& s);

struct Probe {
  double value = 0; // the knob's
  double load = 0;  // the load it sets: the value, or 1 / value for time_scale (larger is more)
  bool served = false;
  double good_share = 0; // requests meeting every SLO / arrivals in the window (dropped included)
  std::string verdict;   // summary status
  Json summary;
};

struct PlacementCapacity {
  std::string name, folder;
  std::vector<Probe> probes; // in the order run
  int best = -1;             // index of the highest served probe; -1: none served (capacity 0)
  bool capped = false;       // still served at the highest load tried
  std::string stopped;       // why bracketing stopped early: a load the scenario refuses (too few or too many requests)
  double capacity_value() const { return best >= 0 ? probes[size_t(best)].value : 0; }
  // Requests/s at capacity: the knob for workload.qps, else the measured arrival rate there.
  double capacity_qps(const LoadKnob& k) const;
  const Json& summary() const; // at capacity, or at the lowest load probed when none served
  size_t lowest() const;       // the probe at the lowest load
};

struct CapacityResult {
  Scenario scenario; // as loaded, with --slo applied
  LoadKnob knob;
  std::vector<PlacementCapacity> placements;
  Json rule; // the rule, for capacity.json and the terminal
  std::string rule_text;
  int code = 0; // 0, or a child's failure code or 128 + signal (then it said so on stderr and `dir` is as it was)
};

// Runs the search; on a failure, says so on stderr and removes the staging folder. The run at capacity of each
// placement is left in dir.staging() / folder (summary.json, requests.csv, resolved_scenario.json, trace_events.json
// with a trace). Throws InputError before anything runs.
CapacityResult search_capacity(const CapacityOptions& o, ResultDir& dir);
// capacity.json's content.
Json capacity_json(const CapacityResult& r);

} // namespace fs::cli
