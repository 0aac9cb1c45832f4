// Sweeps (docs/design.md, "Sweeps"): a base scenario and axes of --set paths, expanded into points, each a
// complete scenario document. Parsing and expansion are pure (no process, no file written); the CLI runs the
// points (tools/factorysim/cmd_sweep.cpp).
#pragma once
#include "json_input.hpp"
#include <optional>
#include <string>
#include <vector>

namespace fs {

struct SweepAxis {
  std::string path;                // a --set path of the scenario, e.g. pools[0].server
  std::vector<Json> values;        // in the order given (a range: from `from` to `to`)
  std::vector<std::string> labels; // optional names of the values (results show them instead of the JSON)
  std::string label(size_t i) const { return labels.empty() ? compact(values[i]) : labels[i]; }
  static std::string compact(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }
};

struct SweepSpec {
  std::string file; // the sweep file, named in errors
  std::string name, description;
  std::string base_file;         // the base scenario's path as given (resolved against the sweep file); "" when inline
  Json base;                     // the base scenario document
  std::vector<std::string> sets; // "path=value": the sweep file's "set", then the command line's --set
  std::vector<SweepAxis> axes;   // in the order given
  std::vector<std::vector<size_t>> dims; // groups of axes that vary together (zip), in the order of their first axis
  std::vector<std::string> placements;   // to run; empty: every placement of the scenario
  std::optional<double> max_chips, max_it_power_kw;
  std::vector<std::string> where; // expressions a point must satisfy (sweep_expr.hpp)
  Json definition;                // the sweep file's document (written next to the results)
};

// Reads and checks a sweep file; `cli_sets` (--set path=value) apply to every point after the file's "set".
// Throws InputError naming the sweep file and the JSON path.
SweepSpec load_sweep(const std::string& file, const std::vector<std::string>& cli_sets = {});
// Same from a document; `file` names it and anchors a relative base path.
SweepSpec parse_sweep(const Json& doc, const std::string& file, const std::vector<std::string>& cli_sets = {});

struct SweepPoint {
  size_t index = 0;               // position in the Cartesian product, filters ignored (human order, stable)
  std::string id;                 // 12 hex digits: a hash of the point's scenario document and placements
  std::vector<size_t> pick;       // per axis, the index of its value
  std::vector<std::string> sets;  // every assignment that makes the point from the base, in order
  Json doc;                       // the point's scenario document
  std::string status = "pending"; // pending, or "infeasible" (the scenario loader rejected it: see error)
  std::string error;
  long chips = 0;         // the most chips any chosen placement uses
  double it_power_kw = 0; // estimate: those chips at their TDP (docs/metrics.md, "Sweeps")
};

struct SweepExpansion {
  std::vector<SweepPoint> points; // in index order, filtered points left out
  size_t product = 0;             // points before the filters
  size_t filtered = 0;            // points the filters skipped
};

// The points of a sweep: every combination of the dimensions (the last one varying fastest), the `where`
// expressions, then each point parsed as a scenario (a rejected one is kept, "infeasible", with its error), then
// the chip and power filters. Throws InputError when a point cannot be built (an axis path that does not apply),
// when two points are the same scenario, or when no point is feasible.
SweepExpansion expand_sweep(const SweepSpec& sw);

// A scenario value as --set writes it: path=JSON.
std::string set_assignment(const std::string& path, const Json& value);
// 12 hex digits of a 64-bit FNV-1a hash.
std::string short_hash(const std::string& text);

} // namespace fs
