// The one place where a scenario is parsed (docs/design.md, "One parser").
#include "catalog.hpp"
#include "memory.hpp"
#include "placement.hpp"
#include "router.hpp"
#include "scenario.hpp"
#include "scheduler.hpp"
#include "workload.hpp"
#include <filesystem>
#include <map>
#include <set>

namespace fs {

Json resolved_json(const Scenario& s);

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

Dtype dtype_of(const JsonNode& n, const char* key, const char* def)
{
  Dtype d;
  const std::string s = n.string(key, def);
  if (!parse_dtype(s, d)) n.fail(key, "unknown dtype \"" + s + "\"; expected fp32, bf16, fp16, fp8, int8 or fp4");
  return d;
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
  p.servers = int(n.positive_int("servers"));
  if (n.has("chip")) {
    const std::string chip = n.string("chip");
    auto c = cat.chips.find(chip);
    if (c == cat.chips.end()) n.fail("chip", "unknown chip \"" + chip + "\"; known: " + known_names(cat.chips));
    p.server.chip = c->second;
  }
  if (n.has("nic")) {
    const std::string nic = n.string("nic");
    auto c = cat.nics.find(nic);
    if (c == cat.nics.end()) n.fail("nic", "unknown NIC \"" + nic + "\"; known: " + known_names(cat.nics));
    p.server.nic = c->second;
  }
  n.renamed("gpus_per_server", "chips_per_server");
  p.server.chips_per_server = int(n.positive_int("chips_per_server", p.server.chips_per_server));
  p.server.nics_per_server = int(n.positive_int("nics_per_server", p.server.nics_per_server));
  if (auto bw = n.get("nic_bandwidth_gbps")) {
    p.server.nic.bandwidth = n.positive("nic_bandwidth_gbps") * 1e9 / 8;
    p.server.nic.sources["bandwidth_gbps"] = "scenario override";
  }
  if (auto o = n.get("chip_overrides")) {
    apply_chip_fields(*o, p.server.chip, true, std::filesystem::path(n.file()).parent_path().string());
    o->done();
  }
  n.done();
  return p;
}

Economics parse_economics(const JsonNode& n, Sources& src)
{
  // Defaults with their sources (docs/sources.md).
  Economics e;
  auto field = [&](const char* key, double def, const char* source, double lo, double hi) {
    double v = n.number(key, def);
    if (v < lo || v > hi) n.fail(key, "expected a value in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    src[key] = n.has(key) ? "scenario" : source;
    return v;
  };
  e.usd_per_kwh = field("usd_per_kwh", 0.0826, "EIA industrial rate, NY, Jul 2024 (8.26 c/kWh) [S118]", 0, 10);
  e.pue = field("pue", 1.3, "new large sites <= 1.3; industry average 1.56 (Uptime 2024) [S119-S121]", 1, 5);
  e.depreciation_years =
      field("depreciation_years", 5, "hyperscaler server useful life 5-6 years (10-K filings) [S124-S126]", 0.1, 30);
  if (n.has("busy_power_fraction"))
    n.fail("busy_power_fraction",
           "removed: accelerators now draw by phase (power_compute_fraction, "
           "power_memory_fraction, power_comm_fraction of each chip; see pools[].chip_overrides)");
  n.done();
  return e;
}

void apply_set(Json& doc, const std::string& assignment)
{
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw InputError("--set " + assignment + ": expected path=value, e.g. workload.qps=20");
  const std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  Json value;
  try {
    value = Json::parse(text);
  } catch (const Json::parse_error&) {
    value = text; // a bare word is a string
  }
  Json* cur = &doc;
  std::string token;
  auto step = [&](const std::string& t) {
    if (t.empty()) throw InputError("--set " + assignment + ": empty path element");
    if (cur->is_array()) {
      size_t i = std::stoul(t);
      if (i >= cur->size()) throw InputError("--set " + assignment + ": index " + t + " out of range");
      cur = &(*cur)[i];
    } else {
      if (!cur->is_object()) throw InputError("--set " + assignment + ": \"" + t + "\" is not inside an object");
      cur = &(*cur)[t];
    }
  };
  for (char c : path) {
    if (c == '.' || c == '[' || c == ']') {
      if (!token.empty()) step(token);
      token.clear();
    } else {
      token += c;
    }
  }
  step(token);
  *cur = value;
}

} // namespace

namespace {

// Where a stage's keys sit in the placement's JSON, for error messages.
std::string stage_prefix(const PlacementConfig& pc, size_t i)
{
  if (pc.type == "colocated") return "";
  if (pc.type == "disaggregated") return pc.stages[i].name + ".";
  return "stages[" + std::to_string(i) + "].";
}

// Every stage fits its pool: known pool, valid parallelism, weights fit, and all instances find chips.
void check_stages(const Scenario& s, const PlacementConfig& pc, const JsonNode& p)
{
  std::map<std::string, ChipAllocator> alloc;
  for (size_t i = 0; i < pc.stages.size(); ++i) {
    const StageConfig& st = pc.stages[i];
    const std::string where = stage_prefix(pc, i);
    const ServerPool* pool = nullptr;
    std::string known;
    for (auto const& pl : s.pools) {
      if (pl.name == st.pool) pool = &pl;
      known += (known.empty() ? "" : ", ") + pl.name;
    }
    if (!pool) p.fail(where + "pool", "unknown pool \"" + st.pool + "\"; known: " + known);
    if (auto why = check_parallelism(s.model, st.par); !why.empty()) p.fail(where + "tp", why);
    const int per_server = pool->server.chips_per_server;
    if (st.par.tp > per_server)
      p.fail(where + "tp", "tp=" + std::to_string(st.par.tp) + " exceeds the " + std::to_string(per_server) +
                               " chips of a " + pool->name + " server (tensor parallelism stays in one server)");
    if (st.par.chips() > per_server && st.par.chips() % per_server != 0)
      p.fail(where + "pp", "an instance of " + std::to_string(st.par.chips()) + " chips spans servers, so it must " +
                               "fill whole servers of " + std::to_string(per_server) + " chips");
    const SchedulerConfig& sc = st.scheduler;
    const MemoryPlan mp = plan_memory(s.model, pool->server.chip, st.par, s.dtypes, sc.gpu_memory_utilization,
                                      sc.activation_reserve_gib * 1024.0 * 1024 * 1024);
    if (!mp.fits) p.fail(where + "tp", mp.why);
    if (mp.kv_tokens < sc.block_size_tokens)
      p.fail(where + "tp", "the KV cache of an instance holds " + std::to_string(mp.kv_tokens) +
                               " tokens, less than one block of " + std::to_string(sc.block_size_tokens));
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

Scenario parse_scenario(const Json& doc, const std::string& file)
{
  JsonNode root(doc, file);
  root.expect_object();
  Scenario s;
  s.file = file;
  s.name = root.string("name");
  root.string("description", "");
  s.seed = uint64_t(root.integer("seed", 1));
  const std::string catalog_dir = root.has("catalog_dir") ? resolve_path(root.string("catalog_dir"), file) : "";
  const Catalog cat = load_catalog(catalog_dir);

  const std::string model = root.string("model");
  auto m = cat.models.find(model);
  if (m == cat.models.end()) root.fail("model", "unknown model \"" + model + "\"; known: " + known_names(cat.models));
  s.model = m->second;
  s.dtypes.weights = dtype_of(root, "dtype", "bf16");
  s.dtypes.kv = dtype_of(root, "kv_dtype", "bf16");

  JsonNode pools = root.at("pools");
  if (pools.size() == 0) pools.fail_here("expected at least one pool");
  for (size_t i = 0; i < pools.size(); ++i) {
    s.pools.push_back(parse_pool(pools[i], cat));
    for (size_t j = 0; j < i; ++j)
      if (s.pools[j].name == s.pools[i].name) pools[i].fail("name", "duplicate pool name \"" + s.pools[i].name + "\"");
  }

  if (auto f = root.get("fabric")) {
    s.fabric.type = f->choice("type", {"leaf_spine"}, "leaf_spine");
    s.fabric.servers_per_rack = int(f->positive_int("servers_per_rack", s.fabric.servers_per_rack));
    s.fabric.oversubscription = f->positive("oversubscription", s.fabric.oversubscription);
    s.fabric.link_latency_s = f->non_negative("link_latency_us", s.fabric.link_latency_s * 1e6) * 1e-6;
    s.fabric.network_model = f->choice("network_model", {"CM02", "LV08"}, s.fabric.network_model);
    f->done();
  }

  if (auto sc = root.get("scheduler")) s.scheduler = parse_scheduler_config(*sc, s.scheduler);
  s.router = root.string("router", s.router);
  if (!router_registry().has(s.router))
    root.fail("router", "unknown router \"" + s.router + "\"; known: " + router_registry().known());

  JsonNode places = root.at("placements");
  if (places.size() == 0) places.fail_here("expected at least one placement");
  std::set<std::string> names;
  for (size_t i = 0; i < places.size(); ++i) {
    JsonNode p = places[i];
    p.expect_object();
    PlacementConfig pc;
    pc.type = p.string("type");
    pc.name = p.string("name", pc.type);
    if (!placement_registry().has(pc.type))
      p.fail("type", "unknown placement \"" + pc.type + "\"; known: " + placement_registry().known());
    if (!names.insert(pc.name).second) p.fail("name", "duplicate placement name \"" + pc.name + "\"");
    pc.stages = placement_registry().make(pc.type)->parse(p, s.scheduler);
    validate_stages(pc.stages, p);
    check_stages(s, pc, p);
    s.placements.push_back(pc);
  }

  s.workload = parse_workload(root.at("workload"), file);
  if (auto slo = root.get("slo")) {
    s.slo.ttft_s = slo->non_negative("ttft_s", 0);
    s.slo.tpot_s = slo->non_negative("tpot_s", 0);
    s.slo.e2e_s = slo->non_negative("e2e_s", 0);
    slo->done();
  }
  if (auto e = root.get("economics"))
    s.economics = parse_economics(*e, s.economics_sources);
  else
    s.economics = parse_economics(JsonNode(Json::object(), file, "economics"), s.economics_sources);
  if (auto sim = root.get("sim")) {
    s.sim.mode = sim->choice("mode", {"fast", "exact"}, s.sim.mode);
    s.sim.warmup_s = sim->has("warmup_s") ? sim->non_negative("warmup_s", 0) : -1; // -1: 10% of the arrivals
    s.sim.cooldown_s = sim->non_negative("cooldown_s", 0);
    sim->done();
  }
  root.done();
  s.resolved = resolved_json(s);
  s.resolved["catalog"] = cat.origin;
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
