// A validation case (docs/validation.md): one published end-to-end result, the scenario that reproduces its
// conditions and the number of the simulator's summary it is compared with.
#pragma once
#include "json_input.hpp"
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fs::cli {

struct ValidationCase {
  std::string name;               // the record's file name without ".case.json"
  std::filesystem::path file;     // the record
  std::filesystem::path scenario; // resolved against the record's folder
  std::string placement;          // the placement compared ("" = the scenario's only one)
  std::vector<std::string> sets;  // --set overrides applied to the scenario
  std::string command;            // "run", or "capacity" (the highest rate within the scenario's SLOs)
  std::string style;              // offline_throughput, server_capacity, fixed_concurrency, single_user, fixed_batch
  std::string chip, model;        // for the table (model: the scenario's catalog model)
  std::string metric;             // dotted path into summary.json, e.g. latency_s.tpot.mean
  double metric_scale = 1;        // simulated value x scale = the published unit (e.g. 1000 for s -> ms)
  double published = 0;
  std::string unit;          // of the published value
  std::string normalisation; // per chip, per system, per user
  std::string source_url, source_date;
};

// Every DIR/*.case.json, sorted by name; with `only` non-empty, just those (an unknown name is an InputError
// listing the known ones). Throws InputError naming the file and the JSON path of a bad record.
std::vector<ValidationCase> load_cases(const std::filesystem::path& dir, const std::vector<std::string>& only);

// The number at a dotted path of a summary ("throughput.output_tokens_per_s"); nullopt when it is absent or not
// a number.
std::optional<double> metric_at(const Json& summary, const std::string& path);

// Signed error of a simulated value against a published one, in percent of the published value.
inline double error_percent(double simulated, double published) { return (simulated - published) / published * 100; }

// Median of |errors| (mean of the two middle values for an even count); 0 for none.
double median_abs(std::vector<double> errors);

} // namespace fs::cli
