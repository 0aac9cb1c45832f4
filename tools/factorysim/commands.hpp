// The factorysim CLI's subcommands (CLI11). Each returns the process exit code.
#pragma once
#include <optional>
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
  std::string trace;   // a Chrome/Perfetto trace of the run(s) to write here
  long trace_events = 200000;
  std::string request_rows = "all"; // requests.csv: all, none, or N (every N-th request)
};
int cmd_run(const RunArgs& a);
int cmd_run_mpi(const RunArgs& a); // under mpirun: one placement, its pods split over the ranks (run_pods.cpp)

struct CapacityArgs {
  std::string scenario;
  std::vector<std::string> sets, placements;
  std::optional<std::string> slo; // replaces the scenario's slo
  std::string out_dir;
  double goodput = 0.99, tolerance = 0.02;
  int jobs = 0;
};
int cmd_capacity(const CapacityArgs& a); // the highest load each placement serves within its SLOs
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
  std::vector<std::string> sets;    // applied to every point
  int jobs = 0;                     // points simulated at once (per MPI rank); 0: the cores
  double target_qps = 0;            // > 0: rank the configurations serving it
  double timeout_s = 0;             // per point; 0: none
  std::string request_rows = "all"; // each point's requests.csv: all, none, or N (every N-th request)
};
int cmd_sweep(const SweepArgs& a);      // a grid of scenarios, resumable, over MPI ranks under mpirun
int cmd_report(const std::string& dir); // report.md and report.html of a sweep's results, plots by gnuplot
struct ValidateArgs {
  std::string dir;                // default: scenarios/validation
  std::string out_dir;            // validation.csv, validation.md and every case's run
  std::vector<std::string> cases; // empty: all
  int jobs = 0;                   // cases simulated at once (default: the cores)
};
int cmd_validate(const ValidateArgs& a); // published results vs the simulator (docs/validation.md)

// Side-by-side table of summaries (one column per placement).
std::string format_table(const std::vector<std::string>& names, const std::vector<std::string>& summary_json_texts);
// One number as printf's format `f` writes it.
std::string format_printf(const char* f, double x);
// The same layout for any rows: a label, then one cell per name.
std::string format_grid(const std::vector<std::string>& names,
                        const std::vector<std::pair<std::string, std::vector<std::string>>>& rows);

} // namespace fs::cli
