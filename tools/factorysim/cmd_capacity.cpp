// `factorysim capacity`: per placement, the highest load served within the SLOs (capacity.hpp), with its throughput,
// efficiency and cost there. Also the built-in default study (`factorysim run` without a file): each placement at
// its capacity, side by side, and which is cheaper per token.
#include "capacity.hpp"
#include "children.hpp"
#include "commands.hpp"
#include <cstdio>
#include <iostream>

namespace fs::cli {

namespace {

std::string fmt(const char* f, double x) { return format_printf(f, x); }

double lowest(const PlacementCapacity& pc) { return pc.probes[pc.lowest()].value; }

// One line per placement: the loads probed, in order, and whether each was served.
std::string probe_log(const CapacityResult& r)
{
  std::string out;
  for (const PlacementCapacity& pc : r.placements) {
    out += "  " + pc.name + ":";
    for (const Probe& p : pc.probes) { // appended piece by piece (" " + ... trips GCC 12's -Wstringop-overflow)
      out += ' ';
      out += fmt("%.4g", p.value);
      out += p.served ? " ok" : p.verdict == "unstable" ? " UNSTABLE" : " missed";
      out += fmt(" (%.1f%%)", 100 * p.good_share);
      out += ',';
    }
    out.back() = '\n';
  }
  return out;
}

// What each placement's capacity is, loudly when it is none.
std::string verdicts(const CapacityResult& r)
{
  std::string out;
  for (const PlacementCapacity& pc : r.placements) {
    if (!pc.stopped.empty()) out += "note: placement \"" + pc.name + "\": the search stopped, " + pc.stopped + "\n";
    if (pc.best < 0) {
      const double low = lowest(pc);
      out += "NO CAPACITY: placement \"" + pc.name + "\" misses its SLOs even at the lowest load probed (" +
             r.knob.path + " = " + fmt("%.4g", low) + "); its results are those of that run\n";
    } else if (pc.capped) {
      out += "note: placement \"" + pc.name + "\" still meets its SLOs at the highest load probed (" + r.knob.path +
             " = " + fmt("%.4g", pc.capacity_value()) + "): its capacity is at least that\n";
    }
  }
  return out;
}

std::string capacity_table(const CapacityResult& r)
{
  std::vector<std::string> names;
  for (const PlacementCapacity& pc : r.placements)
    names.push_back(pc.name);
  using Rows = std::vector<std::pair<std::string, std::vector<std::string>>>;
  Rows rows;
  auto row = [&](const std::string& label, auto cell) {
    rows.push_back({label, {}});
    for (const PlacementCapacity& pc : r.placements)
      rows.back().second.push_back(pc.best < 0 && label != "capacity (req/s)" && label != "probes" ? "-" : cell(pc));
  };
  row("capacity (req/s)", [&](const PlacementCapacity& pc) {
    return pc.best < 0 ? std::string("0 (SLO MISSED)") : fmt("%.2f", pc.capacity_qps(r.knob));
  });
  if (r.knob.path != "workload.qps")
    row(r.knob.path, [&](const PlacementCapacity& pc) { return fmt("%.4g", pc.capacity_value()); });
  auto tp = [](const char* key) {
    return [key](const PlacementCapacity& pc) { return pc.summary()["throughput"][key].get<double>(); };
  };
  row("output tokens/s", [&](const PlacementCapacity& pc) { return fmt("%.0f", tp("output_tokens_per_s")(pc)); });
  row("output tokens/s per chip",
      [&](const PlacementCapacity& pc) { return fmt("%.1f", tp("output_tokens_per_s_per_chip")(pc)); });
  row("output tokens/s per MW (IT)",
      [&](const PlacementCapacity& pc) { return fmt("%.0f", tp("output_tokens_per_s_per_mw")(pc)); });
  row("output tokens/s per MW (facility)",
      [&](const PlacementCapacity& pc) { return fmt("%.0f", tp("output_tokens_per_s_per_mw_facility")(pc)); });
  row("$ / M output tokens", [&](const PlacementCapacity& pc) {
    return fmt("%.3f", pc.summary()["cost"]["usd_per_million_output_tokens"].get<double>());
  });
  row("TTFT p99 (s)",
      [&](const PlacementCapacity& pc) { return fmt("%.3f", pc.summary()["latency_s"]["ttft"]["p99"].get<double>()); });
  row("TPOT p99 (ms)", [&](const PlacementCapacity& pc) {
    return fmt("%.1f", 1e3 * pc.summary()["latency_s"]["tpot"]["p99"].get<double>());
  });
  row("requests meeting SLOs",
      [&](const PlacementCapacity& pc) { return fmt("%.1f%%", 100 * pc.probes[size_t(pc.best)].good_share); });
  row("probes", [&](const PlacementCapacity& pc) { return std::to_string(pc.probes.size()); });
  return format_grid(names, rows);
}

// "disaggregated is 12.3% cheaper per M output tokens than colocated at capacity ($0.81 vs $0.92, $0.11 less)"
std::string cheapest(const CapacityResult& r)
{
  const PlacementCapacity* best = nullptr;
  const PlacementCapacity* worst = nullptr;
  auto usd = [](const PlacementCapacity& pc) {
    return pc.summary()["cost"]["usd_per_million_output_tokens"].get<double>();
  };
  for (const PlacementCapacity& pc : r.placements) {
    if (pc.best < 0) continue;
    if (!best || usd(pc) < usd(*best)) best = &pc;
    if (!worst || usd(pc) > usd(*worst)) worst = &pc;
  }
  if (!best || best == worst) return "";
  const double share = 1 - usd(*best) / usd(*worst), tol = r.rule["tolerance"].get<double>();
  return best->name + " is " + fmt("%.1f", 100 * share) + "% cheaper per M output tokens than " + worst->name +
         " at capacity (" + fmt("$%.3f", usd(*best)) + " vs " + fmt("$%.3f", usd(*worst)) + ", " +
         fmt("$%.3f", usd(*worst) - usd(*best)) + " less" +
         (share < tol ? "; within the search's " + fmt("%.0f", 100 * tol) + "% resolution" : "") + ")\n";
}

} // namespace

int cmd_capacity(const CapacityArgs& a)
{
  CapacityOptions o;
  o.scenario = a.scenario;
  o.sets = a.sets;
  o.placements = a.placements;
  o.slo = a.slo;
  o.goodput = a.goodput;
  o.tolerance = a.tolerance;
  o.jobs = a.jobs;
  ResultDir dir(a.out_dir);
  const CapacityResult r = search_capacity(o, dir);
  if (r.code != 0) return r.code;
  const std::string table = capacity_table(r);
  try {
    if (dir.keeps()) {
      write_file(dir.staging() / "capacity.json", capacity_json(r).dump(2) + "\n");
      dir.commit();
    }
  } catch (const OutputError& e) {
    std::cerr << "error: cannot write the results: " << e.what() << "\n";
    dir.remove_staging();
    return 1;
  }
  const Scenario& s = r.scenario;
  std::cout << "scenario " << s.name << " (" << s.model.name << ", " << s.workload.type << " workload)\n"
            << r.rule_text << "\nprobes (" << r.knob.path << ", share of arrivals meeting the SLOs):\n"
            << probe_log(r) << table << verdicts(r) << cheapest(r);
  if (dir.keeps()) std::cout << "results in " << dir.out().string() << "/ (capacity.json, <placement>/summary.json)\n";
  return 0;
}

// The default study's probes: 150 s of arrivals after a 15 s warm-up (the file: 300 s after 30 s), so that the
// README's first command stays quick (on the default scenario they find the capacities the full 300 s find)
// (docs/metrics.md, "Capacity"). --set overrides them.
constexpr double default_study_tolerance = 0.02;
const std::vector<std::string> default_study_sets = {"workload.duration_s=150", "sim.warmup_s=15"};

int run_default_study(const RunArgs& a)
{
  CapacityOptions o;
  o.sets = default_study_sets;
  o.sets.insert(o.sets.end(), a.sets.begin(), a.sets.end());
  if (!a.mode.empty()) o.sets.push_back("sim.mode=" + a.mode);
  o.placements = a.placements;
  o.tolerance = default_study_tolerance;
  o.jobs = a.jobs;
  o.trace_events = a.trace.empty() ? 0 : a.trace_events;
  ResultDir dir(a.out_dir);
  const CapacityResult r = search_capacity(o, dir);
  if (r.code != 0) return r.code;
  std::vector<std::string> names, folders;
  std::string rates;
  for (const PlacementCapacity& pc : r.placements) {
    names.push_back(pc.name);
    folders.push_back(pc.folder);
    rates += (rates.empty() ? "" : ", ") + pc.name + " at " +
             (pc.best < 0 ? "its lowest probe (" + r.knob.path + " = " + fmt("%.4g", lowest(pc)) + ", NO CAPACITY)"
                          : fmt("%.2f", pc.capacity_qps(r.knob)) + " req/s");
  }
  RunReport how;
  how.preface = "each placement at its capacity: " + rates + "\n" + r.rule_text +
                " (quick probes: 150 s of arrivals after a 15 s warm-up; `factorysim capacity scenarios/default.json` "
                "searches the full 300 s)\n" +
                verdicts(r) + cheapest(r);
  how.extra["capacity.json"] = capacity_json(r).dump(2) + "\n";
  how.trace = a.trace;
  how.strict = a.strict;
  return finish_run(r.scenario, dir, names, folders, how);
}

} // namespace fs::cli
