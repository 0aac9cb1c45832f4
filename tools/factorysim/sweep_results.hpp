// A sweep's results table (docs/metrics.md, "Sweeps"): one row per point and placement, read back from the point
// folders, so a resumed sweep and an uninterrupted one write the same results.csv.
#pragma once
#include "json_input.hpp"
#include "sweep_spec.hpp"
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace fs::cli {

// The point folder's name for a point, and its placements' folder names (as `factorysim run` names them).
std::filesystem::path point_dir(const std::filesystem::path& out, const SweepPoint& p);
std::vector<std::string> point_placements(const SweepSpec& sw, const SweepPoint& p);

// A summary.json flattened to dotted names: nested objects joined with '.', stages by their name
// (stages.decode.utilization), arrays of plain values joined with "; ", nulls left out, cost.items replaced by
// the cost per component kind (cost.usd_per_hour.chip, cost.capex_usd.chip, ...).
void flatten_summary(const Json& summary, std::map<std::string, Json>& out);

struct SweepRow {
  size_t index = 0;
  std::string id, placement, folder, status, error;
  std::vector<std::string> axis_values; // per axis, its label or compact JSON value
  double offered_qps = -1;              // the point's workload.qps (-1 when the workload has none)
  double wall_s = 0;                    // the point's wall time (results.json only)
  std::map<std::string, Json> metrics;  // the flattened summary (empty unless the run succeeded)
};

// Rows of every point of `points` whose folder holds a finished point (point.json), in point then placement order.
std::vector<SweepRow> collect_rows(const SweepSpec& sw, const std::vector<SweepPoint>& points,
                                   const std::filesystem::path& out);
// results.csv (no wall times: byte-identical across resumes) and results.json (rows with wall times).
void write_results(const SweepSpec& sw, const std::vector<SweepRow>& rows, const std::filesystem::path& out);

// A row's number (NaN when absent or not a number).
double metric(const SweepRow& r, const std::string& key);
// Within SLO: the run succeeded and its summary's status verdict is "ok".
bool within_slo(const SweepRow& r);

// --target-qps: configurations serving `qps` within their SLOs, cheapest $/M output tokens first; writes
// OUTDIR/ranking_qps_<qps>.csv and returns the table as text.
std::string write_ranking(const SweepSpec& sw, const std::vector<SweepRow>& rows, double qps,
                          const std::filesystem::path& out);

// CSV field quoting (RFC 4180).
std::string csv_field(const std::string& s);
// A JSON value as a results cell: strings as they are, numbers with full precision, null empty.
std::string cell(const Json& v);

} // namespace fs::cli
