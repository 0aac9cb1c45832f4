#include "capacity.hpp"
#include "children.hpp"
#include "workload.hpp"
#include <cmath>
#include <iostream>
#include <sstream>
#include <thread>

namespace stdfs = std::filesystem;

namespace fs::cli {

namespace {

constexpr int max_doublings = 10; // bracketing: at most x1024 or /1024 from the scenario's load

std::string num(double x)
{
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", x);
  return buf;
}

// --slo "ttft_p99=2,tpot_p99=0.05" as one --set assignment replacing the scenario's slo.
std::string slo_set(const std::string& spec)
{
  static const std::map<std::string, std::string> keys = {{"ttft_p99", "ttft_s"}, {"tpot_p99", "tpot_s"},
                                                          {"e2e_p99", "e2e_s"},   {"ttft", "ttft_s"},
                                                          {"tpot", "tpot_s"},     {"e2e", "e2e_s"}};
  Json slo = Json::object();
  std::stringstream ss(spec);
  for (std::string item; std::getline(ss, item, ',');) {
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    if (eq == std::string::npos || !keys.count(key))
      throw InputError("--slo " + spec + ": \"" + item +
                       "\": expected KEY=SECONDS with KEY one of ttft_p99, tpot_p99, e2e_p99 (or ttft, tpot, e2e)");
    const std::string val = item.substr(eq + 1);
    char* end = nullptr;
    const double v = std::strtod(val.c_str(), &end);
    if (val.empty() || *end != '\0' || !std::isfinite(v) || v <= 0 || v > 1e7)
      throw InputError("--slo " + spec + ": " + key + "=" + val + ": expected a number of seconds > 0");
    slo[keys.at(key)] = v;
  }
  if (slo.empty()) throw InputError("--slo \"" + spec + "\": no target given, e.g. --slo ttft_p99=2,tpot_p99=0.05");
  return "slo=" + slo.dump();
}

// Bracket, then bisect, on the load x of one placement.
struct Search {
  double lo = -1, hi = -1; // highest served, lowest failed load so far (-1: none)
  int moves = 0;           // bracketing steps taken
  bool done = false;
  bool integer = false;
  double tolerance = 0.02;

  // The next load to probe after one at `x` was (not) served, or done.
  std::optional<double> after(double x, bool served)
  {
    if (served)
      lo = std::max(lo, x);
    else
      hi = hi < 0 ? x : std::min(hi, x);
    double next = 0;
    if (hi < 0 || lo < 0) {
      if (++moves > max_doublings) return finish();
      next = hi < 0 ? lo * 2 : hi / 2;
      if (integer) next = std::round(next);
      if (integer && next < 1) return finish();
      return next;
    }
    if (hi - lo <= tolerance * lo || (integer && hi - lo <= 1)) return finish();
    next = (lo + hi) / 2;
    if (integer) next = std::floor(next);
    return next;
  }
  std::optional<double> finish()
  {
    done = true;
    return std::nullopt;
  }
};

// Why a load cannot be probed ("" when it can): the scenario refuses it (past sim.max_requests), or its measured
// window would hold too few requests to measure (bracketing down from a scenario that misses its SLOs).
std::string refusal(const std::string& scenario, const std::vector<std::string>& sets, const std::string& rule)
{
  constexpr long min_requests = 20;
  try {
    const Scenario s = load_scenario(scenario, sets);
    if (!s.list) return "";
    long n = 0;
    for (auto st = s.workload.generator->stream(s.seed); auto r = st->next();)
      n += r->arrival >= s.window.start && r->arrival <= s.window.end;
    if (n < min_requests || s.window.rule != rule)
      return "its measured window would hold " + std::to_string(n) + " requests (want " + std::to_string(min_requests) +
             " at least)";
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

bool served(const Json& summary, double goodput, double& share)
{
  const Json& q = summary["requests"];
  const double measured = q["measured"].get<double>(), arrivals = measured + q["dropped"].get<double>();
  share = arrivals > 0 ? summary["slo"]["attainment"].get<double>() * measured / arrivals : 0.0;
  return arrivals > 0 && share >= goodput && summary["status"]["verdict"] != "unstable";
}

} // namespace

double LoadKnob::value(double x) const
{
  if (inverse) return 1 / x;
  return integer ? std::max(1.0, std::round(x)) : x;
}

double LoadKnob::load(double v) const { return inverse ? 1 / v : v; }

LoadKnob load_knob(const Scenario& s)
{
  const Json& w = s.resolved["workload"];
  auto has = [&](const char* k) { return w.contains(k) && w[k].is_number() && w[k].get<double>() > 0; };
  if (has("qps")) return {"workload.qps", "req/s", w["qps"].get<double>()};
  if (has("sessions_per_s")) return {"workload.sessions_per_s", "sessions/s", w["sessions_per_s"].get<double>()};
  if (has("tasks_per_s")) return {"workload.tasks_per_s", "tasks/s", w["tasks_per_s"].get<double>()};
  if (s.workload.type == "trace") return {"workload.time_scale", "x", w.value("time_scale", 1.0), true};
  if (has("clients")) return {"workload.clients", "clients", w["clients"].get<double>(), false, true};
  if (has("users")) return {"workload.users", "users", w["users"].get<double>(), false, true};
  throw InputError((s.file.empty() ? std::string("the built-in default") : s.file) + ": workload \"" + s.workload.type +
                   "\" has no load knob: a capacity search varies workload.qps (poisson, gamma), sessions_per_s, "
                   "tasks_per_s, a trace's time_scale, or a closed loop's clients or users");
}

double PlacementCapacity::capacity_qps(const LoadKnob& k) const
{
  if (best < 0) return 0;
  if (k.path == "workload.qps") return probes[size_t(best)].value;
  return probes[size_t(best)].summary["throughput"]["requests_per_s"].get<double>();
}

size_t PlacementCapacity::lowest() const
{
  size_t low = 0;
  for (size_t i = 1; i < probes.size(); ++i)
    if (probes[i].load < probes[low].load) low = i;
  return low;
}

const Json& PlacementCapacity::summary() const { return probes.at(best >= 0 ? size_t(best) : lowest()).summary; }

CapacityResult search_capacity(const CapacityOptions& o, ResultDir& dir)
{
  std::vector<std::string> sets = o.sets;
  if (o.slo) sets.push_back(slo_set(*o.slo));
  if (!(o.goodput > 0 && o.goodput <= 1)) throw InputError("--goodput: expected a share in (0, 1]");
  if (!(o.tolerance > 0 && o.tolerance < 1)) throw InputError("--tolerance: expected a share in (0, 1)");
  CapacityResult res{load_scenario(o.scenario, sets), {}, {}, {}, {}, 0};
  const Scenario& s = res.scenario;
  const std::string file = s.file.empty() ? "the built-in default" : s.file;
  if (s.slo.ttft_s <= 0 && s.slo.tpot_s <= 0 && s.slo.e2e_s <= 0)
    throw InputError(file + ": no SLOs (slo.ttft_s, tpot_s, e2e_s) to search a capacity against; give --slo, e.g. "
                            "--slo ttft_p99=2,tpot_p99=0.05");
  res.knob = load_knob(s);
  const LoadKnob& k = res.knob;

  const std::vector<size_t> chosen = chosen_placements(s, o.placements);
  std::vector<std::string> names;
  for (size_t idx : chosen)
    names.push_back(s.placements[idx].name);
  const std::vector<std::string> folders = folder_names(names);

  Json slo = Json::object();
  std::string slo_text;
  for (auto [key, v] : {std::pair{"ttft_s", s.slo.ttft_s}, {"tpot_s", s.slo.tpot_s}, {"e2e_s", s.slo.e2e_s}})
    if (v > 0) {
      slo[key] = v;
      slo_text += (slo_text.empty() ? "" : ", ") + std::string(key).substr(0, 4) + " <= " + num(v) + " s";
    }
  res.rule = {{"knob", k.path},
              {"start", k.base},
              {"served_when",
               "the share of requests arriving in the measured window (dropped ones included) that meet every SLO "
               "is at least goodput, and the run's status is not unstable"},
              {"goodput", o.goodput},
              {"slo", slo},
              {"bracket", "x2 from the scenario's load until a probe fails (or /2 until one is served), at most " +
                              std::to_string(max_doublings) + " times"},
              {"tolerance", o.tolerance},
              {"seed", s.seed},
              {"sets", sets}};
  res.rule_text =
      "capacity = the " + std::string(k.inverse ? "smallest " + k.path + " (highest load)" : "highest " + k.path) +
      " at which >= " + num(100 * o.goodput) + "% of the requests arriving in the measured window meet every SLO (" +
      slo_text + ") and the queue is not unstable; bracketed x2 from " + num(k.base) + ", bisected to " +
      num(100 * o.tolerance) + "%, seed " + std::to_string(s.seed) + " in every probe";

  std::vector<Search> search(chosen.size());
  std::vector<std::optional<double>> next(chosen.size()); // load to probe next, per placement
  for (size_t c = 0; c < chosen.size(); ++c) {
    res.placements.push_back({names[c], folders[c], {}, -1, false, {}});
    search[c].integer = k.integer;
    search[c].tolerance = o.tolerance;
    next[c] = k.load(k.base);
  }
  std::vector<bool> running(chosen.size(), false);
  std::vector<double> probing(chosen.size(), 0);
  const stdfs::path probes = dir.staging() / ".probes";
  auto probe_dir = [&](size_t c, size_t n) { return probes / (folders[c] + "-" + std::to_string(n)); };

  const int jobs = o.jobs > 0 ? o.jobs : int(std::max(1u, std::thread::hardware_concurrency()));
  Children kids(jobs);
  while (!kids.interrupted()) {
    for (size_t c = 0; c < chosen.size() && kids.can_start(); ++c) {
      if (running[c] || !next[c]) continue;
      const double x = *next[c];
      const double value = k.value(x);
      probing[c] = x;
      running[c] = true;
      std::vector<std::string> probe_sets = sets;
      probe_sets.push_back(k.path + "=" + (k.integer ? std::to_string(long(value)) : Json(value).dump()));
      PlacementCapacity& pc = res.placements[c];
      if (!pc.probes.empty()) {
        // Bracketing may go where the scenario refuses the load: the search ends at the loads it could run.
        const std::string why = refusal(o.scenario, probe_sets, s.window.rule);
        if (!why.empty()) {
          pc.stopped = k.path + " = " + num(value) + " cannot be probed: " + why;
          pc.capped = search[c].hi < 0;
          next[c] = std::nullopt;
          running[c] = false;
          continue;
        }
      }
      const stdfs::path d = probe_dir(c, pc.probes.size());
      const size_t idx = chosen[c];
      const std::string scenario = o.scenario;
      const long trace = o.trace_events;
      kids.start(c, [scenario, probe_sets, idx, d, trace](int err_fd) {
        const Scenario ps = load_scenario(scenario, probe_sets);
        return simulate(ps, idx, d, err_fd, trace);
      });
    }
    const auto done = kids.wait();
    if (!done) break;
    const size_t c = done->tag;
    running[c] = false;
    PlacementCapacity& pc = res.placements[c];
    const double x = probing[c];
    if (done->code != 0) {
      res.code = done->code;
      std::cerr << (done->crashed ? "error: placement \"" + names[c] + "\" crashed at " + k.path + "=" +
                                        num(k.value(x)) + " (" + done->error + ")"
                                  : done->error + " (probe at " + k.path + "=" + num(k.value(x)) + ")")
                << "\n";
      break;
    } else {
      Probe p;
      p.value = k.value(x);
      p.load = x;
      p.summary = read_json_file((probe_dir(c, pc.probes.size()) / "summary.json").string());
      p.verdict = p.summary["status"]["verdict"].get<std::string>();
      p.served = served(p.summary, o.goodput, p.good_share);
      if (p.served && (pc.best < 0 || p.load > pc.probes[size_t(pc.best)].load)) pc.best = int(pc.probes.size());
      pc.probes.push_back(std::move(p));
      next[c] = search[c].after(x, pc.probes.back().served);
      if (!next[c]) pc.capped = search[c].hi < 0;
    }
    bool all_done = true;
    for (size_t i = 0; i < chosen.size(); ++i)
      all_done = all_done && !next[i] && !running[i];
    if (all_done) break;
  }
  if (kids.interrupted()) {
    res.code = kids.stop_all();
    dir.remove_staging();
    return res;
  }
  if (res.code != 0) {
    dir.remove_staging();
    return res;
  }
  // Keep each placement's run at capacity (or at its lowest load when none served) as its result folder.
  for (size_t c = 0; c < chosen.size(); ++c) {
    PlacementCapacity& pc = res.placements[c];
    const size_t keep = pc.best >= 0 ? size_t(pc.best) : pc.lowest();
    std::error_code ec;
    stdfs::rename(probe_dir(c, keep), dir.staging() / pc.folder, ec);
    if (ec) throw OutputError("cannot keep the run at capacity of \"" + pc.name + "\": " + ec.message());
  }
  std::error_code ec;
  stdfs::remove_all(probes, ec);
  return res;
}

Json capacity_json(const CapacityResult& r)
{
  Json places = Json::object();
  for (const PlacementCapacity& pc : r.placements) {
    Json probes = Json::array();
    for (const Probe& p : pc.probes)
      probes.push_back({{"value", p.value},
                        {"load", p.load},
                        {"served", p.served},
                        {"good_share", p.good_share},
                        {"verdict", p.verdict},
                        {"requests_per_s", p.summary["throughput"]["requests_per_s"]},
                        {"ttft_p99_s", p.summary["latency_s"]["ttft"]["p99"]},
                        {"tpot_p99_s", p.summary["latency_s"]["tpot"]["p99"]}});
    places[pc.name] = {{"capacity_qps", pc.capacity_qps(r.knob)},
                       {"capacity_value", pc.capacity_value()},
                       {"meets_slo", pc.best >= 0},
                       {"above_highest_probe", pc.capped},
                       {"folder", pc.folder},
                       {"probes", probes},
                       {"summary", pc.summary()}};
  }
  return {{"scenario", r.scenario.name}, {"rule", r.rule}, {"placements", places}};
}

} // namespace fs::cli
