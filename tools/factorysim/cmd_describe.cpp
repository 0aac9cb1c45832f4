// `factorysim describe NAME`: one catalog entry (chip, NIC, CPU, server, switch or model), every field with its
// value, unit and source, as the catalog tables (sim/scenario/schema.hpp) declare them.
#include "catalog.hpp"
#include "commands.hpp"
#include "schema.hpp"
#include <cstdio>
#include <string>

namespace fs::cli {

namespace {

bool ends_with(const std::string& s, const std::string& tail)
{
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The unit a catalog key carries in its name.
std::string unit_of(const std::string& path)
{
  if (path.rfind("peak_tflops.", 0) == 0) return "TFLOP/s";
  static const std::pair<const char*, const char*> units[] = {
      {"_mib", "MiB"}, {"_tb_per_s", "TB/s"}, {"_gb_per_s", "GB/s"},  {"_gbps", "Gb/s"},    {"_us", "us"},
      {"_w", "W"},     {"_usd", "USD"},       {"_fraction", "x TDP"}, {"_tokens", "tokens"}};
  for (auto const& [tail, unit] : units)
    if (ends_with(path, tail)) return unit;
  return "";
}

std::string value_text(const Json& v)
{
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return format_number(v.get<double>());
  return v.dump();
}

void print_fields(const Json& entry, const ObjectSpec& spec, const std::string& prefix)
{
  for (const FieldSpec& f : spec.fields) {
    auto it = entry.find(f.key);
    if (it == entry.end() || it->is_null()) continue;
    const std::string path = prefix + f.key;
    if (f.type == FieldType::object && f.object && it->is_object()) {
      print_fields(*it, *f.object, path + ".");
      continue;
    }
    if (f.key == "description") continue; // printed in the heading
    const bool sourced = it->is_object() && it->contains("value");
    const Json& v = sourced ? it->at("value") : *it;
    std::string shown = value_text(v);
    if (const std::string unit = unit_of(path); !unit.empty()) shown += " " + unit;
    std::printf("  %-38s %-16s %s\n", path.c_str(), shown.c_str(), f.doc.c_str());
    if (sourced && it->contains("source"))
      std::printf("  %-38s source: %s\n", "", it->at("source").get<std::string>().c_str());
  }
}

} // namespace

int cmd_describe(const std::string& name)
{
  const Catalog cat = load_catalog();
  int found = 0;
  std::string known;
  for (auto const& [section, entries] : cat.entries) {
    known += (known.empty() ? "" : "; ") + section + ": " + known_names(entries);
    auto e = entries.find(name);
    if (e == entries.end()) continue;
    if (found++) std::printf("\n");
    std::printf("%s (%s, scenarios/catalog/%s.json): %s\n", name.c_str(), section.c_str(), section.c_str(),
                e->second.value("description", "").c_str());
    const ObjectSpec& spec = *catalog_spec(section).entries;
    print_fields(e->second, spec, "");
    if (section == "servers") {
      // What a host pool of these servers offers (scenario "host"; docs/model.md, "Host work").
      const ServerSpec& sv = cat.servers.at(name);
      const std::string cores = std::to_string(long(sv.cpus_per_server * sv.cpu.cores)) + " cores";
      char dram[64];
      std::snprintf(dram, sizeof dram, "%.1f GB/s", sv.cpus_per_server * sv.cpu.memory_bandwidth / 1e9);
      std::printf("  %-38s %-16s %s\n", "host CPU cores", cores.c_str(),
                  ("cpus_per_server x cores of " + sv.cpu.name).c_str());
      std::printf("  %-38s %-16s %s\n", "host DRAM bandwidth", dram,
                  ("cpus_per_server x memory_bandwidth_gb_per_s of " + sv.cpu.name).c_str());
    }
    if (section != "chips") continue;
    // The scale-up domain is the server's: the chips one server's scale-up links join.
    for (auto const& [sname, sv] : cat.servers) {
      if (sv.chip.name != name) continue;
      const std::string shown = std::to_string(sv.chips_per_server) + " chips";
      std::printf("  %-38s %-16s %s\n", "scale-up domain", shown.c_str(),
                  ("chips_per_server of server " + sname + " (scale-up bandwidth above is per chip)").c_str());
      std::printf("  %-38s source: %s\n", "", sv.sources.at("chips_per_server").c_str());
    }
  }
  if (!found) throw InputError("unknown catalog name \"" + name + "\"; known: " + known);
  return 0;
}

} // namespace fs::cli
