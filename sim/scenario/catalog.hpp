// Hardware and model presets (docs/design.md: hardware is data). Catalog JSON files live in
// scenarios/catalog/; the build embeds copies so the binary runs anywhere, and a catalog_dir replaces them.
#pragma once
#include "efficiency_measured.hpp"
#include "json_input.hpp"
#include "specs.hpp"
#include <map>
#include <string>

namespace fs {

struct Catalog {
  std::map<std::string, ChipSpec> chips;
  std::map<std::string, LlmSpec> models;
  std::map<std::string, NicSpec> nics;
  std::map<std::string, CpuSpec> cpus;
  std::map<std::string, ServerSpec> servers;
  std::map<std::string, SwitchSpec> switches;
  std::map<std::string, StorageSpec> storage;
  std::map<std::string, std::map<std::string, std::string>> descriptions; // kind -> name -> line
  std::map<std::string, std::map<std::string, Json>> entries;             // section -> name -> its JSON, as read
  std::string origin;                                                     // "embedded" or a directory
};

// Loads every catalog from `dir`, or the embedded copies when `dir` is empty; then the entries of `inline_catalog`
// (a scenario's "catalog" object: sections of entries in the files' format) replace or add to them.
Catalog load_catalog(const std::string& dir = "", const JsonNode* inline_catalog = nullptr);

// Applies the fields of `node` (catalog {value, source} objects, or plain numbers when overriding) to `chip`.
// A "calibration" path is read now (relative to `catalog_dir`, else to the project).
void apply_chip_fields(const JsonNode& node, ChipSpec& chip, bool overriding, const std::string& catalog_dir = "");

// Reads a fitted.json written by `factorysim calibrate fit` (format: calibration/README.md).
MeasuredFit read_fitted_json(const std::string& path);

// A file that ships with the project (calibration data): as given when it exists, else under the source tree
// the binary was built from, else under $FACTORYSIM_HOME.
std::string project_file(const std::string& path);

template <class T> std::string known_names(const std::map<std::string, T>& m)
{
  std::string s;
  for (auto const& [k, v] : m)
    s += (s.empty() ? "" : ", ") + k;
  return s;
}

// The text of an embedded data file ("default.json", "catalog/chips.json", ...), empty if none.
std::string embedded_file(const std::string& name);

} // namespace fs
