// The factorysim CLI's subcommands (CLI11). Each returns the process exit code.
#pragma once
#include <string>
#include <vector>

namespace fs::cli {

struct RunArgs {
  std::string scenario; // empty: the built-in default
  std::string out_dir;
  std::vector<std::string> sets;
  std::vector<std::string> placements; // empty: all
  std::string mode;                    // "", fast, exact
  int jobs = 0;
  bool strict = false; // exit 3 when a placement misses its SLOs or is unstable
};
int cmd_run(const RunArgs& a);
int cmd_list();
int cmd_describe(const std::string& name); // one catalog entry, field by field, with units and sources

struct TopologyArgs {
  std::string scenario; // empty: the built-in default
  std::string out;      // Graphviz file; empty: to stdout
  std::vector<std::string> sets;
};
int cmd_topology(const TopologyArgs& a); // the factory's graph (sim/scenario/topology.hpp)
int cmd_schema(const std::string& what); // "scenario" or a catalog section

struct FitArgs {
  std::string raw_dir, out, chip;
};
int cmd_calibrate_fit(const FitArgs& a);

struct WorkloadFitArgs {
  std::string trace, out, format; // format: "" (detected), azure_csv, mooncake_jsonl
  long hash_block_tokens = 512;
};
int cmd_workload_fit(const WorkloadFitArgs& a); // a runnable workload and its report, fitted to a trace

struct SweepArgs {
  std::string file, out;
  std::vector<std::string> sets; // applied to every point
  int jobs = 0;                  // points simulated at once (per MPI rank); 0: the cores
  double target_qps = 0;         // > 0: rank the configurations serving it
  double timeout_s = 0;          // per point; 0: none
};
int cmd_sweep(const SweepArgs& a);      // a grid of scenarios, resumable, over MPI ranks under mpirun
int cmd_report(const std::string& dir); // report.md and report.html of a sweep's results, plots by gnuplot

// Side-by-side table of summaries (one column per placement).
std::string format_table(const std::vector<std::string>& names, const std::vector<std::string>& summary_json_texts);

} // namespace fs::cli
