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
int cmd_schema(const std::string& what); // "scenario" or a catalog section

struct FitArgs {
  std::string raw_dir, out, chip;
};
int cmd_calibrate_fit(const FitArgs& a);

// Side-by-side table of summaries (one column per placement).
std::string format_table(const std::vector<std::string>& names, const std::vector<std::string>& summary_json_texts);

} // namespace fs::cli
