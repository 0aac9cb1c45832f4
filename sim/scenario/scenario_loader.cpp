// The one place where a scenario is parsed (docs/design.md, "One parser").
#include "catalog.hpp"
#include "kv_hierarchy.hpp"
#include "memory.hpp"
#include "placement.hpp"
#include "router.hpp"
#include "scenario.hpp"
#include "scenario_pods.hpp"
#include "scheduler.hpp"
#include "schema.hpp"
#include "topology.hpp"
#include "workload.hpp"
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <set>

namespace fs {

Dtype dtype_of(const JsonNode& n, const char* key, const char* def)
{
  Dtype d;
  const std::string s = n.string(key, def);
  if (!parse_dtype(s, d)) n.fail(key, "unknown dtype \"" + s + "\"; expected fp32, bf16, fp16, fp8, int8 or fp4");
  return d;
}

Json resolved_json(const Scenario& s, const Catalog& cat);

const ServerPool& Scenario::pool(const std::string& name) const
{
  for (auto const& p : pools)
    if (p.name == name) return p;
  throw InputError("no pool named \"" + name + "\"");
}

std::string resolve_path(const std::string& p, const std::string& scenario_file)
{
  namespace stdfs = std::filesystem;
  if (p.empty() || stdfs::path(p).is_absolute() || stdfs::exists(p)) return p;
  const stdfs::path rel = stdfs::path(scenario_file).parent_path() / p;
  return stdfs::exists(rel) ? rel.string() : p;
}

namespace {

const ObjectSpec& pool_spec()
{
  static const ObjectSpec o{
      "pool",
      "servers of one preset; a placement's stages run on pools",
      {required(text("name", "unique")), required(text("server", "server preset (catalog)")),
       required(integer("servers", 1, 1e6, "how many")), text("chip", "another chip preset in the servers"),
       text("cpu", "another CPU preset in the servers"), integer("cpus_per_server", 0, 1024, "CPU sockets per server"),
       text("nic", "another NIC preset"), integer("chips_per_server", 1, 1024, "accelerators per server"),
       integer("nics_per_server", 1, 1024, "NICs per server"),
       num("nic_bandwidth_gbps", 1, 1e5, "each NIC's line rate, Gb/s"),
       object("chip_overrides", chip_fields_spec(), "single chip numbers, plain or {value, source}")},
      {{"gpus_per_server", renamed_to("chips_per_server")}}};
  return o;
}

const ObjectSpec& fabric_spec()
{
  static const ObjectSpec o{
      "fabric",
      "the network between servers: racks under a non-blocking spine (leaf_spine) or a k-ary fat tree",
      {text("type", "topology: leaf_spine (racks under one non-blocking spine) or fat_tree (k-ary, three levels)",
            {"leaf_spine", "fat_tree"}),
       integer("servers_per_rack", 1, 1e5, "servers under one leaf switch (leaf_spine)"),
       integer("k", 2, 512,
               "fat_tree: switch radix, even; k/2 servers per edge switch, k^3/4 at most (default: the "
               "smallest that holds the servers)"),
       num("oversubscription", 0.01, 1000, "rack downlink : uplink bandwidth"),
       num("link_latency_us", 0, 1e6, "per hop (NIC and switch), us"),
       text("network_model", "SimGrid model: CM02 (RDMA-like) or LV08 (TCP-calibrated)", {"CM02", "LV08"}),
       text("switch", "switch preset (catalog switches.json) of every fabric switch, for cost and power (default "
                      "QM9700)")}};
  return o;
}

const ObjectSpec& slo_spec()
{
  static const ObjectSpec o{"slo",
                            "latency targets a request must meet to count in goodput (0: none)",
                            {num("ttft_s", 0, 1e7, "time to first token, s"),
                             num("tpot_s", 0, 1e7, "time per output token after the first, s"),
                             num("e2e_s", 0, 1e7, "end to end, s")}};
  return o;
}

// Default host work per request (docs/sources.md). Estimates from published figures, per core of a current server
// CPU; a scenario sets its own from a measurement of its serving stack.
constexpr double HOST_REQUEST_MS = 1.0;
constexpr const char* HOST_REQUEST_SRC =
    "estimate: no published per-request figure for vLLM/SGLang/TGI's API server; OpenAI-protocol gateways add "
    "about 3 ms per request (LiteLLM proxy 3.25 ms [S139]; TrueFoundry gateway 350 requests/s on one CPU, <= 2.9 "
    "core-ms each [S140]); 1 core-ms assumed for an engine's own front-end, which does less";
constexpr double HOST_TOKENIZE_US = 2.3;
constexpr const char* HOST_TOKENIZE_SRC =
    "derived: HF GPT2TokenizerFast (tokenizers 0.13.2) tokenises ~1.7 MB/s on one thread in the tiktoken README "
    "benchmark (tiktoken itself ~6.4 MB/s) [S137]; at ~4 bytes per English token, ~2.3 core-us per token";
constexpr double HOST_DETOKENIZE_US = 20.0;
constexpr const char* HOST_DETOKENIZE_SRC =
    "measured by a vLLM user: detokenize_incrementally 19-21 us per call, one per output token per sequence "
    "(vLLM issue #5206) [S138]; streaming the token to the client is not included";

const ObjectSpec& host_spec()
{
  static const ObjectSpec o{
      "host",
      "host (CPU) work per request on a pool's CPU cores, first come first served: request handling and "
      "tokenisation before the accelerators (in TTFT), detokenisation and streaming of the output after them",
      {required(text("pool", "the pool whose CPU cores do it: a CPU pool (a server preset without chips) or an "
                             "accelerator pool's own host CPUs")),
       num("request_core_ms", 0, 1e6, "core-milliseconds per request (API server: parse, validate, admit, respond)"),
       num("tokenize_core_us_per_token", 0, 1e6, "core-microseconds per prompt token"),
       num("detokenize_core_us_per_token", 0, 1e6, "core-microseconds per output token"),
       free_form("sources", "where the numbers come from (written by factorysim; ignored)")}};
  return o;
}

const ObjectSpec& economics_spec()
{
  static const ObjectSpec o{"economics",
                            "cost inputs",
                            {num("usd_per_kwh", 0, 10, "electricity price"),
                             num("pue", 1, 5, "power usage effectiveness of the facility"),
                             num("depreciation_years", 0.1, 30, "capex amortisation"),
                             num("cost_of_capital", 0, 1,
                                 "annual rate (e.g. 0.08): capex becomes an annuity "
                                 "(capital recovery factor); 0: straight line"),
                             num("facility_usd_per_mw", 0, 1e9,
                                 "facility capex (building, power and cooling plant) per MW of rated IT power"),
                             num("facility_years", 1, 100, "the facility's amortisation"),
                             num("colocation_usd_per_kw_month", 0, 1e5,
                                 "rent per kW of rated IT power and month instead of facility_usd_per_mw (0: own "
                                 "facility)"),
                             num("operations_capex_fraction", 0, 10,
                                 "operations per year as a share of the hardware capex (support, spares, staff)"),
                             num("operations_usd_per_server_year", 0, 1e8, "operations per server and year"),
                             free_form("sources", "where the numbers come from (written by factorysim; ignored)")},
                            {{"busy_power_fraction",
                              "removed: accelerators now draw by phase (power_compute_fraction, power_memory_fraction, "
                              "power_comm_fraction of each chip; see pools[].chip_overrides)"}}};
  return o;
}

const ObjectSpec& sim_spec()
{
  static const ObjectSpec o{
      "sim",
      "how the simulation runs",
      {text("mode", "fast: closed-form decode runs; exact: one wake-up per step", {"fast", "exact"}),
       num("warmup_s", 0, 1e8, "start of the measured window (default: 10% of the arrival span)"),
       num("cooldown_s", 0, 1e8, "the window ends this long before the last arrival"),
       integer("max_requests", 1, 1e10, "refuse larger workloads (default 100,000,000: time)"),
       integer("exact_percentiles_up_to", 0, 1e9,
               "values per metric kept for exact percentiles (default 1,000,000); past it a histogram with 1% bins")}};
  return o;
}

ServerPool parse_pool(const JsonNode& n, const Catalog& cat)
{
  ServerPool p;
  p.name = n.string("name");
  const std::string preset = n.string("server");
  auto it = cat.servers.find(preset);
  if (it == cat.servers.end())
    n.fail("server", "unknown server \"" + preset + "\"; known: " + known_names(cat.servers));
  p.server = it->second;
  p.servers = int(n.integer("servers"));
  // A part the pool names in place of its server's: `key` looked up in `presets`.
  auto replace = [&n](const char* key, const char* what, const auto& presets, auto& part) {
    if (!n.has(key)) return;
    const std::string name = n.string(key);
    auto c = presets.find(name);
    if (c == presets.end())
      n.fail(key, std::string("unknown ") + what + " \"" + name + "\"; known: " + known_names(presets));
    part = c->second;
  };
  replace("chip", "chip", cat.chips, p.server.chip);
  replace("cpu", "CPU", cat.cpus, p.server.cpu);
  p.server.cpus_per_server = int(n.integer("cpus_per_server", p.server.cpus_per_server));
  replace("nic", "NIC", cat.nics, p.server.nic);
  p.server.chips_per_server = int(n.integer("chips_per_server", p.server.chips_per_server));
  if (p.server.chip.name.empty() && p.server.chips_per_server > 0)
    n.fail("chip", "server " + preset + " has no accelerators: name the chip its " +
                       std::to_string(p.server.chips_per_server) + " chips_per_server are");
  if (!p.server.chip.name.empty() && p.server.chips_per_server == 0)
    n.fail("chips_per_server", "server " + preset + " is a CPU server: a chip needs chips_per_server");
  p.server.nics_per_server = int(n.integer("nics_per_server", p.server.nics_per_server));
  if (auto bw = n.get("nic_bandwidth_gbps")) {
    p.server.nic.bandwidth = n.number("nic_bandwidth_gbps") * 1e9 / 8;
    p.server.nic.sources["bandwidth_gbps"] = "scenario override";
  }
  if (auto o = n.get("chip_overrides")) {
    apply_chip_fields(*o, p.server.chip, true, std::filesystem::path(n.file()).parent_path().string());
    o->done();
  }
  n.done();
  for (const char* k : {"chip", "cpu", "nic", "chips_per_server", "cpus_per_server", "nics_per_server",
                        "nic_bandwidth_gbps", "chip_overrides"})
    if (n.has(k)) p.overrides[k] = n.raw().at(k);
  return p;
}

Economics parse_economics(const JsonNode& n, Sources& src)
{
  // Defaults with their sources (docs/sources.md).
  Economics e;
  auto field = sourced_default(n, src);
  e.usd_per_kwh = field("usd_per_kwh", 0.0826, "EIA industrial rate, NY, Jul 2024 (8.26 c/kWh) [S118]");
  e.pue = field("pue", 1.3, "new large sites <= 1.3; industry average 1.56 (Uptime 2024) [S119-S121]");
  e.depreciation_years =
      field("depreciation_years", 5, "hyperscaler server useful life 5-6 years (10-K filings) [S124-S126]");
  e.cost_of_capital = field("cost_of_capital", 0,
                            "estimate: 0, straight-line depreciation as in the 10-K filings; "
                            "set a WACC (e.g. 0.08) for financed hardware");
  e.colocation_usd_per_kw_month =
      field("colocation_usd_per_kw_month", 0,
            "0: own facility (facility_usd_per_mw); CBRE H2 2024 asks $184.06/kW-month [S158]");
  const bool rented = e.colocation_usd_per_kw_month > 0;
  e.facility_usd_per_mw = field("facility_usd_per_mw", rented ? 0 : 11.7e6,
                                rented ? "0: colocation rented instead"
                                       : "Cushman & Wakefield 2025: $9.3-15.0M per MW of critical load across 19 US "
                                         "markets, average $11.7M [S157]");
  if (rented && e.facility_usd_per_mw > 0)
    n.fail("colocation_usd_per_kw_month", "give colocation_usd_per_kw_month (rented) or facility_usd_per_mw (owned), "
                                          "not both");
  e.facility_years = field("facility_years", 20, "estimate: building and M&E plant outlive several server generations");
  e.operations_capex_fraction =
      field("operations_capex_fraction", 0, "estimate: 0, not counted unless set (no public figure for AI clusters)");
  e.operations_usd_per_server_year = field("operations_usd_per_server_year", 0, "estimate: 0, not counted unless set");
  n.done();
  return e;
}

// The pool named at `key` of `n`, which must have CPU cores to run host work or tool calls on.
void check_cpu_pool(const Scenario& s, const std::string& name, const JsonNode& n, const char* key)
{
  const ServerPool& pool = pool_named(s, name, n, key);
  if (pool.cpu_cores() <= 0)
    n.fail(key, "pool \"" + name + "\" has no CPU cores (server " + pool.server.name + " has " +
                    std::to_string(pool.server.cpus_per_server) + " CPUs)");
}

HostConfig parse_host(const JsonNode& n, const Scenario& s)
{
  HostConfig h;
  h.pool = n.string("pool");
  check_cpu_pool(s, h.pool, n, "pool");
  // Defaults with their sources (docs/sources.md, docs/model.md "Host work").
  auto field = sourced_default(n, h.sources);
  h.request_core_ms = field("request_core_ms", HOST_REQUEST_MS, HOST_REQUEST_SRC);
  h.tokenize_core_us_per_token = field("tokenize_core_us_per_token", HOST_TOKENIZE_US, HOST_TOKENIZE_SRC);
  h.detokenize_core_us_per_token = field("detokenize_core_us_per_token", HOST_DETOKENIZE_US, HOST_DETOKENIZE_SRC);
  n.done();
  return h;
}

} // namespace

const ServerPool& pool_named(const Scenario& s, const std::string& name, const JsonNode& n, const std::string& key)
{
  std::string known;
  for (auto const& p : s.pools) {
    if (p.name == name) return p;
    known += (known.empty() ? "" : ", ") + p.name;
  }
  n.fail(key, "unknown pool \"" + name + "\"; known: " + known);
}

// "a.b[0].c=value" (or a.b.0.c): sets one value of the document, creating object keys as needed.
void apply_set(Json& doc, const std::string& assignment)
{
  const std::string what = "--set " + assignment;
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) throw InputError(what + ": expected path=value, e.g. workload.qps=20");
  const std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  Json value;
  try {
    value = Json::parse(text);
  } catch (const Json::parse_error&) {
    value = text; // a bare word is a string
    try {
      (void)value.dump();
    } catch (const Json::exception&) {
      throw InputError(what + ": the value is not valid UTF-8 text");
    }
  } catch (const Json::exception& e) {
    throw InputError(what + ": the value is not a valid JSON number or document (" + e.what() + ")");
  }
  auto is_index = [](const std::string& t) {
    return !t.empty() && t.size() <= 9 && t.find_first_not_of("0123456789") == std::string::npos;
  };
  const auto elems = set_path_elements(path, what);
  Json* cur = &doc;
  for (auto const& [t, bracket] : elems) {
    if (cur->is_array()) {
      if (!is_index(t)) throw InputError(what + ": \"" + t + "\" is not an index (a whole number) into an array");
      const size_t i = std::stoul(t);
      if (i >= cur->size())
        throw InputError(what + ": index " + t + " out of range (the array has " + std::to_string(cur->size()) +
                         " elements)");
      cur = &(*cur)[i];
    } else if (bracket) {
      throw InputError(what + ": [" + t + "] indexes something that is not an array");
    } else {
      if (!cur->is_object()) throw InputError(what + ": \"" + t + "\" is not inside an object");
      cur = &(*cur)[t];
    }
  }
  *cur = value;
}

// Splits a --set path into elements: keys separated by '.', and [index] after any element.
std::vector<std::pair<std::string, bool>> set_path_elements(const std::string& path, const std::string& what)
{
  std::vector<std::pair<std::string, bool>> elems; // (text, written as [index])
  for (size_t i = 0; i < path.size();) {
    if (path[i] == '[') {
      const size_t j = path.find(']', i);
      if (j == std::string::npos) throw InputError(what + ": missing ']' in the path");
      elems.push_back({path.substr(i + 1, j - i - 1), true});
      i = j + 1;
      if (i < path.size() && path[i] != '.' && path[i] != '[')
        throw InputError(what + ": expected '.' or '[' after ']' in the path");
      if (i < path.size() && path[i] == '.') {
        ++i;
        if (i == path.size()) throw InputError(what + ": the path ends with '.'");
      }
      continue;
    }
    const size_t j = path.find_first_of(".[", i);
    const std::string key = path.substr(i, j == std::string::npos ? std::string::npos : j - i);
    if (key.empty()) throw InputError(what + ": empty path element");
    elems.push_back({key, false});
    i = j == std::string::npos ? path.size() : j;
    if (i < path.size() && path[i] == '.') {
      ++i;
      if (i == path.size()) throw InputError(what + ": the path ends with '.'");
    }
  }
  return elems;
}

const Json* json_at_path(const Json& doc, const std::string& path)
{
  const Json* cur = &doc;
  for (auto const& [t, bracket] : set_path_elements(path, "path " + path)) {
    if (cur->is_array()) {
      if (t.empty() || t.size() > 9 || t.find_first_not_of("0123456789") != std::string::npos) return nullptr;
      const size_t i = std::stoul(t);
      if (i >= cur->size()) return nullptr;
      cur = &(*cur)[i];
    } else if (bracket || !cur->is_object() || !cur->contains(t)) {
      return nullptr;
    } else {
      cur = &(*cur)[t];
    }
  }
  return cur;
}

namespace {

} // namespace

namespace {

// Generates a list workload once, here in the parse, and counts it, so that the run's size, an empty workload and
// an empty measured window are errors before anything runs (every placement then draws the same list again). A
// workload that creates its requests during the run is checked on a sample of them.
void generate_requests(Scenario& s, const JsonNode& root, const std::optional<JsonNode>& sim)
{
  const WorkloadGenerator& g = *s.workload.generator;
  const double expected = g.expected_requests();
  if (!(expected <= double(s.sim.max_requests)))
    root.fail("workload", "would generate about " + format_number(expected) +
                              " requests, more than sim.max_requests = " + std::to_string(s.sim.max_requests) +
                              "; raise sim.max_requests to run it");
  s.prefix_block_tokens = g.prefix_block_tokens();
  auto fail_sim = [&](const char* key, const std::string& why) {
    if (sim && sim->has(key)) sim->fail(key, why);
    root.fail("sim", why);
  };
  const WorkloadGenerator::StopRule stop = g.stop_rule();
  if (stop.duration_s > 0 || stop.count > 0) { // created during the run
    if (sample_requests(g, s.seed, 1).empty()) root.fail("workload", "produces no requests");
    s.window.rule = "stop";
    if (stop.count > 0 && s.sim.cooldown_s > 0)
      fail_sim("cooldown_s", "this workload's measured window ends when its last request, session or task starts, "
                             "which a count decides during the run: cooldown_s applies with duration_s alone");
    s.window.start = s.sim.warmup_s >= 0 ? s.sim.warmup_s : 0.1 * stop.duration_s;
    s.window.end = stop.duration_s > 0 ? stop.duration_s - s.sim.cooldown_s : std::numeric_limits<double>::infinity();
    if (!(s.window.end > s.window.start))
      fail_sim(sim && sim->has("warmup_s") ? "warmup_s" : "cooldown_s",
               "warmup_s (" + format_number(s.window.start) + ") + cooldown_s (" + format_number(s.sim.cooldown_s) +
                   ") leave no measured window: new work stops at duration_s = " + format_number(stop.duration_s));
    return;
  }
  // One pass over the list to count and check it; the run draws it again (a run holds the requests in flight only).
  Scenario::ListInfo list;
  for (auto st = g.stream(s.seed); auto t = st->next_arrival();) {
    if (list.count == 0) list.first_arrival = *t;
    list.last_arrival = *t;
    if (++list.count > s.sim.max_requests) // a renewal process may overshoot its mean
      root.fail("workload",
                "generates more than sim.max_requests = " + std::to_string(s.sim.max_requests) + " requests");
  }
  if (list.count == 0) root.fail("workload", "produces no requests (check qps, duration_s, num_requests)");
  s.list = list;
  const double first = list.first_arrival, last = list.last_arrival;
  if (first == last) { // all at once, an offline batch: measured until the last one finishes
    s.window.rule = "makespan";
    if (s.sim.cooldown_s > 0)
      fail_sim("cooldown_s", "every request arrives at once (an offline batch), measured until the last one "
                             "finishes: cooldown_s does not apply");
    s.window.start = s.sim.warmup_s >= 0 ? s.sim.warmup_s : first;
    s.window.end = std::numeric_limits<double>::infinity();
    return;
  }
  s.window.start = s.sim.warmup_s >= 0 ? s.sim.warmup_s : 0.1 * last;
  s.window.end = last - s.sim.cooldown_s;
  if (!(s.window.end > s.window.start))
    fail_sim(sim && sim->has("warmup_s") ? "warmup_s" : "cooldown_s",
             "warmup_s (" + format_number(s.window.start) + ") + cooldown_s (" + format_number(s.sim.cooldown_s) +
                 ") leave no measured window: the arrivals span " + format_number(last) + " s");
}

// The pool whose cores run the workload's tool calls: the one it names, else the scenario's host pool.
void resolve_tool_pool(Scenario& s, const JsonNode& root)
{
  const WorkloadGenerator& g = *s.workload.generator;
  if (!g.has_tool_calls()) return;
  const JsonNode w = root.at("workload");
  s.tool_pool = g.tool_pool().empty() ? s.host.pool : g.tool_pool();
  if (s.tool_pool.empty())
    w.fail("tool_pool", "the graph has tool steps: name the pool whose CPU cores run them (or give the scenario a "
                        "host section, whose pool then does)");
  check_cpu_pool(s, s.tool_pool, w, "tool_pool");
}

// Where a stage's keys sit in the placement's JSON, for error messages.
std::string stage_prefix(const PlacementConfig& pc, size_t i)
{
  if (pc.type == "colocated") return "";
  if (pc.type == "disaggregated" || pc.type == "afd") return pc.stages[i].name + ".";
  return "stages[" + std::to_string(i) + "].";
}

const ServerPool* find_pool(const Scenario& s, const std::string& name, const JsonNode& p, const std::string& where)
{
  const ServerPool& pl = pool_named(s, name, p, where + "pool");
  if (pl.cpu_only())
    p.fail(where + "pool", "pool \"" + name + "\" is a CPU pool (server " + pl.server.name +
                               " has no accelerators): stages run on accelerator pools; a CPU pool does the "
                               "scenario's host work (\"host\": {\"pool\": \"" +
                               name + "\"})");
  return &pl;
}

// KV tokens an SRAM pipeline is sized for by default: max_num_seqs sequences of the workload's 99th-percentile
// request length (prompt + output), at most the model's context.
long default_kv_tokens(const Scenario& s, const StageConfig& st)
{
  // The lengths of the first requests (all of them up to a million): a list's, or those a workload creating them
  // during the run sends first.
  std::vector<RequestSpec> reqs;
  if (s.list)
    for (auto st = s.workload.generator->stream(s.seed); reqs.size() < 1'000'000;) {
      std::optional<RequestSpec> r = st->next();
      if (!r) break;
      reqs.push_back(std::move(*r));
    }
  else
    reqs = sample_requests(*s.workload.generator, s.seed, 20000);
  std::vector<long> len;
  len.reserve(reqs.size());
  for (const RequestSpec& r : reqs)
    len.push_back(r.input_tokens + r.output_tokens);
  long p99 = 1;
  if (!len.empty()) {
    const size_t k = std::min(len.size() - 1, size_t(0.99 * double(len.size())));
    std::nth_element(len.begin(), len.begin() + long(k), len.end());
    p99 = std::max(1L, len[k]);
  }
  return st.scheduler.max_num_seqs * std::min(p99, s.model.max_context_tokens);
}

// Pipeline depth and chip counts the scenario left open: pp 1 on GPU-class chips; on SRAM-pipeline chips the
// fewest whole servers of chips that hold the model, its KV budget and activations, in min(chips, layers)
// segments.
void size_parallelism(Scenario& s, PlacementConfig& pc, const JsonNode& p)
{
  for (size_t i = 0; i < pc.stages.size(); ++i) {
    StageConfig& st = pc.stages[i];
    const std::string where = stage_prefix(pc, i);
    const ServerPool* pool = find_pool(s, st.pool, p, where);
    const ChipSpec& chip = pool->server.chip;
    st.dtypes = s.dtypes;
    st.dtypes.weights = st.dtype.value_or(s.dtypes.weights);
    st.dtypes.kv = st.kv_dtype.value_or(s.dtypes.kv);
    if (chip.step_time_model != "sram_pipeline") {
      if (st.par.pipeline_chips > 0 || st.kv_tokens > 0)
        p.fail(where + (st.kv_tokens > 0 ? "kv_tokens" : "chips"),
               "applies to SRAM-pipeline chips only; " + chip.name + " instances are sized by tp and pp");
      if (st.par.pp == 0) st.par.pp = 1;
      continue;
    }
    const double act = sram_activation_bytes(s, st);
    if (st.par.pipeline_chips == 0) {
      const long kv = st.kv_tokens > 0 ? st.kv_tokens : default_kv_tokens(s, st);
      const long need =
          sram_chips_needed(s.model, chip, st.dtypes, st.scheduler.gpu_memory_utilization, act, double(kv));
      if (need <= 0)
        p.fail(where + "pool", "the activations of a " + std::to_string(st.scheduler.max_num_batched_tokens) +
                                   "-token step fill a " + chip.name + " chip; lower max_num_batched_tokens");
      const long per = pool->server.chips_per_server;
      const long chips = need > per ? (need + per - 1) / per * per : need;
      if (chips > 1'000'000)
        p.fail(where + "pool", s.model.name + " with " + std::to_string(kv) + " KV tokens needs " +
                                   std::to_string(chips) + " " + chip.name + " chips per instance: too many");
      st.par.pipeline_chips = int(chips);
    }
    if (st.par.pp == 0) st.par.pp = std::min(st.par.pipeline_chips, s.model.num_layers);
  }
}

// An attention/FFN split: a decode stage on GPU-class chips, its FFN pool known, the MLP or experts fit the FFN
// chips, and every instance finds its FFN chips.
void check_ffn(const Scenario& s, const StageConfig& st, const std::string& where, const JsonNode& p,
               std::map<std::string, ChipAllocator>& alloc)
{
  if (st.role != Role::decode) p.fail(where + "ffn", "an attention/FFN split applies to decode stages");
  const ServerPool* fp = find_pool(s, st.ffn.pool, p, where + "ffn.");
  if (st.par.pipeline_chips > 0 || s.pool(st.pool).server.chip.step_time_model != "roofline" ||
      fp->server.chip.step_time_model != "roofline")
    p.fail(where + "ffn", "an attention/FFN split is modelled for roofline (GPU-class) chips on both sides");
  if (st.par.pp != 1 || st.par.ep != 1) p.fail(where + "ffn", "an attention/FFN split needs pp=1 and ep=1");
  const int n = st.ffn.chips, per = fp->server.chips_per_server;
  if (s.model.moe && s.model.moe->num_experts % n != 0)
    p.fail(where + "ffn.chips", std::to_string(n) + " FFN chips do not divide the " +
                                    std::to_string(s.model.moe->num_experts) + " experts of " + s.model.name);
  if (n > per && n % per != 0)
    p.fail(where + "ffn.chips", "FFN chips spanning servers must fill whole servers of " + std::to_string(per));
  const ChipSpec& c = fp->server.chip;
  const double usable = c.memory_capacity_bytes * st.scheduler.gpu_memory_utilization -
                        st.scheduler.activation_reserve_gib * 1024.0 * 1024 * 1024;
  const double need = ffn_param_count(s.model) * dtype_bytes(st.dtypes.weights) / n;
  if (need > usable)
    p.fail(where + "ffn.chips", "the MLP/expert weights need " + format_number(need / 1e9) + " GB per FFN chip, " +
                                    c.name + " offers " + format_number(usable / 1e9) + " GB: use more FFN chips");
  auto it = alloc.try_emplace(fp->name, fp->servers, per).first;
  for (int k = 0; k < st.instances; ++k)
    if (it->second.take(n) < 0)
      p.fail(where + "ffn.chips", "pool \"" + fp->name + "\" cannot hold the FFN chips of instance " +
                                      std::to_string(k) + " of stage \"" + st.name + "\" (" + std::to_string(n) +
                                      " each)");
}

// Every stage fits its pool: known pool, valid parallelism, weights fit, and all instances find chips.
void check_stages(const Scenario& s, const PlacementConfig& pc, const JsonNode& p)
{
  std::map<std::string, ChipAllocator> alloc;
  for (size_t i = 0; i < pc.stages.size(); ++i) {
    const StageConfig& st = pc.stages[i];
    const std::string where = stage_prefix(pc, i);
    const ServerPool* pool = find_pool(s, st.pool, p, where);
    if (auto why = check_parallelism(s.model, st.par); !why.empty()) p.fail(where + "tp", why);
    const int per_server = pool->server.chips_per_server;
    if (st.par.tp > per_server)
      p.fail(where + "tp", "tp=" + std::to_string(st.par.tp) + " exceeds the " + std::to_string(per_server) +
                               " chips of a " + pool->name + " server (tensor parallelism stays in one server)");
    if (st.par.chips() > per_server && st.par.chips() % per_server != 0)
      p.fail(where + "pp", "an instance of " + std::to_string(st.par.chips()) + " chips spans servers, so it must " +
                               "fill whole servers of " + std::to_string(per_server) + " chips");
    const SchedulerConfig& sc = st.scheduler;
    const MemoryPlan mp = stage_memory(s, st);
    if (!mp.fits) p.fail(where + (st.par.pipeline_chips > 0 ? "chips" : "tp"), mp.why);
    if (mp.kv_tokens < sc.block_size_tokens)
      p.fail(where + "tp", "the KV cache of an instance holds " + std::to_string(mp.kv_tokens) +
                               " tokens, less than one block of " + std::to_string(sc.block_size_tokens));
    if (!st.ffn.pool.empty()) check_ffn(s, st, where, p, alloc);
    auto it = alloc.try_emplace(st.pool, pool->servers, per_server).first;
    for (int k = 0; k < st.instances; ++k)
      if (it->second.take(st.par.chips()) < 0)
        p.fail(where + "instances", "pool \"" + st.pool + "\" (" + std::to_string(pool->chips()) + " chips on " +
                                        std::to_string(pool->servers) + " servers) cannot hold all instances of " +
                                        "placement \"" + pc.name + "\": stage \"" + st.name + "\" runs out at " +
                                        "instance " + std::to_string(k) + " of " + std::to_string(st.instances) + " (" +
                                        std::to_string(st.par.chips()) + " chips each)");
  }
}

} // namespace

const ObjectSpec& scenario_spec()
{
  static const ObjectSpec o = [] {
    std::vector<std::string> routers;
    const std::vector<std::string>& dtypes = dtype_names();
    for (auto const& [k, e] : router_registry().entries())
      routers.push_back(k);
    return ObjectSpec{
        "scenario",
        "a factorysim scenario: pools of servers, placements of the model on them, a workload, SLOs and costs",
        {required(text("name", "names the study")),
         text("description", "what it is for"),
         integer("seed", 0, 9007199254740991.0, "random seed (arrivals, lengths, routers)"),
         text("catalog_dir", "a folder of catalog files replacing the built-in ones"),
         object("catalog", inline_catalog_spec(), "catalog entries carried by the scenario"),
         required(text("model", "model preset (catalog)")),
         text("dtype", "weights", dtypes),
         text("kv_dtype", "KV cache", dtypes),
         required(array_of("pools", pool_spec(), "server pools")),
         object("fabric", fabric_spec(), "the network between servers"),
         required(array_of("placements", placement_spec(), "the placements to compare, one run each")),
         object("scheduler", scheduler_spec(), "batching of every instance"),
         text("router", "how a request picks an instance", routers),
         required(object("workload", workload_spec(), "the requests")),
         object("slo", slo_spec(), "latency targets"),
         object("host", host_spec(), "host (CPU) work per request on a pool's cores (default: not modelled)"),
         object("kv_cache", kv_cache_spec(), "prefix caching and KV tiers (default: no prefix caching)"),
         object("economics", economics_spec(), "cost inputs"),
         object("sim", sim_spec(), "the simulation"),
         object("pods", pods_spec(), "the factory as identical pods behind a global router (default: one pod)")}};
  }();
  return o;
}

Scenario parse_scenario(const Json& doc, const std::string& file)
{
  JsonNode root(doc, file, "", &scenario_spec());
  root.expect_object();
  check_keys(doc, scenario_spec(), file); // every unknown key first, wherever it is
  Scenario s;
  s.file = file;
  s.name = root.string("name");
  s.description = root.string("description", "");
  s.seed = uint64_t(root.integer("seed", 1));
  const std::string catalog_dir = root.has("catalog_dir") ? resolve_path(root.string("catalog_dir"), file) : "";
  std::optional<JsonNode> inline_catalog = root.get("catalog");
  if (inline_catalog) inline_catalog->expect_object();
  const Catalog cat = load_catalog(catalog_dir, inline_catalog ? &*inline_catalog : nullptr);

  const std::string model = root.string("model");
  auto m = cat.models.find(model);
  if (m == cat.models.end()) root.fail("model", "unknown model \"" + model + "\"; known: " + known_names(cat.models));
  s.model = m->second;
  s.dtypes.weights = dtype_of(root, "dtype", "bf16");
  s.dtypes.kv = dtype_of(root, "kv_dtype", "bf16");

  JsonNode pools = root.at("pools");
  if (pools.size() == 0) pools.fail_here("expected at least one pool");
  for (size_t i = 0; i < pools.size(); ++i) {
    pools[i].expect_object();
    s.pools.push_back(parse_pool(pools[i], cat));
    for (size_t j = 0; j < i; ++j)
      if (s.pools[j].name == s.pools[i].name) pools[i].fail("name", "duplicate pool name \"" + s.pools[i].name + "\"");
  }

  if (auto f = root.get("fabric")) {
    f->expect_object();
    s.fabric.type = f->choice("type", {"leaf_spine", "fat_tree"}, "leaf_spine");
    s.fabric.servers_per_rack = int(f->integer("servers_per_rack", s.fabric.servers_per_rack));
    s.fabric.oversubscription = f->number("oversubscription", s.fabric.oversubscription);
    s.fabric.link_latency_us = f->number("link_latency_us", s.fabric.link_latency_us);
    s.fabric.network_model = f->choice("network_model", {"CM02", "LV08"}, s.fabric.network_model);
    s.fabric.switch_name = f->string("switch", s.fabric.switch_name);
    if (!cat.switches.count(s.fabric.switch_name))
      f->fail("switch", "unknown switch \"" + s.fabric.switch_name + "\"; known: " + known_names(cat.switches));
    if (f->has("k") && s.fabric.type != "fat_tree") f->fail("k", "only a fat_tree has a switch radix k");
    long servers = 0;
    for (auto const& p : s.pools)
      servers += p.servers;
    if (s.fabric.type == "fat_tree") {
      s.fabric.k = int(f->integer("k", fat_tree_default_k(servers)));
      if (s.fabric.k % 2) f->fail("k", "expected an even switch radix, got " + std::to_string(s.fabric.k));
      if (long(s.fabric.k) * s.fabric.k * s.fabric.k / 4 < servers)
        f->fail("k", "a k=" + std::to_string(s.fabric.k) + " fat tree holds " +
                         std::to_string(long(s.fabric.k) * s.fabric.k * s.fabric.k / 4) + " servers, the pools have " +
                         std::to_string(servers));
    }
    f->done();
  }

  if (auto sw = cat.switches.find(s.fabric.switch_name); sw != cat.switches.end())
    s.fabric.switch_spec = sw->second;
  else // the default, missing from a catalog_dir's switches.json
    root.fail("fabric", "the default switch \"" + s.fabric.switch_name + "\" is not in the catalog; name one in " +
                            "fabric.switch (known: " + known_names(cat.switches) + ")");

  if (auto sc = root.get("scheduler")) s.scheduler = parse_scheduler_config(*sc, s.scheduler);
  s.router = root.string("router", s.router);
  if (!router_registry().has(s.router))
    root.fail("router", "unknown router \"" + s.router + "\"; known: " + router_registry().known());

  JsonNode places = root.at("placements");
  if (places.size() == 0) places.fail_here("expected at least one placement");
  std::vector<JsonNode> placement_nodes; // checked against the pools once the workload is known
  std::set<std::string> names;
  for (size_t i = 0; i < places.size(); ++i) {
    JsonNode p = places[i];
    p.expect_object();
    PlacementConfig pc;
    pc.type = p.string("type");
    if (!placement_registry().has(pc.type))
      p.fail("type", "unknown placement \"" + pc.type + "\"; known: " + placement_registry().known());
    p.use_variant(pc.type);
    pc.name = p.string("name", pc.type);
    if (pc.name.empty() || pc.name.size() > 200) p.fail("name", "expected 1 to 200 characters");
    if (!names.insert(pc.name).second) p.fail("name", "duplicate placement name \"" + pc.name + "\"");
    pc.stages = placement_registry().make(pc.type)->parse(p, s.scheduler);
    validate_stages(pc.stages, p);
    s.placements.push_back(pc);
    placement_nodes.push_back(p);
  }

  s.workload = parse_workload(root.at("workload"), file);
  if (auto slo = root.get("slo")) {
    slo->expect_object();
    s.slo.ttft_s = slo->number("ttft_s", 0);
    s.slo.tpot_s = slo->number("tpot_s", 0);
    s.slo.e2e_s = slo->number("e2e_s", 0);
    slo->done();
  }
  if (auto h = root.get("host")) {
    h->expect_object();
    s.host = parse_host(*h, s);
  }
  if (auto k = root.get("kv_cache")) {
    k->expect_object();
    s.kv_cache = parse_kv_cache(*k, s, cat);
  }
  if (auto e = root.get("economics")) {
    e->expect_object();
    s.economics = parse_economics(*e, s.economics_sources);
  } else {
    s.economics = parse_economics(JsonNode(Json::object(), file, "economics", &economics_spec()), s.economics_sources);
  }
  std::optional<JsonNode> sim = root.get("sim");
  if (sim) {
    sim->expect_object();
    s.sim.mode = sim->choice("mode", {"fast", "exact"}, s.sim.mode);
    s.sim.warmup_s = sim->has("warmup_s") ? sim->number("warmup_s") : -1; // -1: 10% of the arrivals
    s.sim.cooldown_s = sim->number("cooldown_s", 0);
    s.sim.max_requests = sim->integer("max_requests", s.sim.max_requests);
    s.sim.exact_percentiles_up_to = sim->integer("exact_percentiles_up_to", s.sim.exact_percentiles_up_to);
    sim->done();
  }
  parse_pods(s, root);
  root.done();
  resolve_tool_pool(s, root);
  generate_requests(s, root, sim);
  check_kv_cache(s, root);
  for (size_t i = 0; i < s.placements.size(); ++i) {
    size_parallelism(s, s.placements[i], placement_nodes[i]);
    check_stages(s, s.placements[i], placement_nodes[i]);
  }
  check_pods(s, root);
  s.resolved = resolved_json(s, cat);
  if (s.fabric.type == "fat_tree") s.resolved["fabric"]["k"] = s.fabric.k;
  return s;
}

Scenario load_scenario(const std::string& path, const std::vector<std::string>& sets)
{
  Json doc;
  std::string file = path;
  if (path.empty()) {
    file = "(built-in default scenario)";
    doc = Json::parse(embedded_file("default.json"));
  } else {
    doc = read_json_file(path);
  }
  for (const std::string& a : sets)
    apply_set(doc, a);
  return parse_scenario(doc, file);
}

} // namespace fs
