// resolved_scenario.json: a scenario that runs as it is and reproduces the run, with every preset it uses
// carried inline (with its sources) and every default written out.
#include "catalog.hpp"
#include "kv_hierarchy.hpp"
#include "placement.hpp"
#include "scheduler.hpp"
#include "workload.hpp"

namespace fs {

namespace {

Json host_json(const HostConfig& h)
{
  return {{"pool", h.pool},
          {"request_core_ms", h.request_core_ms},
          {"tokenize_core_us_per_token", h.tokenize_core_us_per_token},
          {"detokenize_core_us_per_token", h.detokenize_core_us_per_token},
          {"sources", h.sources}};
}

} // namespace

Json resolved_json(const Scenario& s, const Catalog& cat)
{
  Json catalog = {{"chips", Json::object()},  {"models", Json::object()},  {"nics", Json::object()},
                  {"cpus", Json::object()},   {"servers", Json::object()}, {"switches", Json::object()},
                  {"storage", Json::object()}};
  auto carry = [&](const std::string& section, const std::string& name) {
    auto sec = cat.entries.find(section);
    if (sec == cat.entries.end()) return;
    auto e = sec->second.find(name);
    if (e != sec->second.end()) catalog[section][name] = e->second;
  };
  carry("models", s.model.name);
  carry("switches", s.fabric.switch_name);
  Json pools = Json::array();
  for (const ServerPool& p : s.pools) {
    const ServerSpec& sv = p.server;
    carry("servers", sv.name);
    // The server entry names its own chip, CPU and NIC; the pool may name others.
    const Json& entry = cat.entries.at("servers").at(sv.name);
    if (entry.contains("chip")) carry("chips", entry.at("chip").get<std::string>());
    carry("cpus", entry.at("cpu").get<std::string>());
    carry("cpus", sv.cpu.name);
    carry("nics", entry.at("nic").get<std::string>());
    if (!sv.chip.name.empty()) carry("chips", sv.chip.name);
    carry("nics", sv.nic.name);
    Json j = {{"name", p.name}, {"server", sv.name}, {"servers", p.servers}};
    for (auto const& [k, v] : p.overrides.items())
      j[k] = v;
    pools.push_back(j);
  }
  Json places = Json::array();
  for (auto const& pc : s.placements) {
    Json j = placement_registry().make(pc.type)->to_json(pc, s.scheduler);
    j["name"] = pc.name;
    j["type"] = pc.type;
    places.push_back(j);
  }
  Json j = {{"name", s.name},
            {"description", s.description},
            {"seed", s.seed},
            {"model", s.model.name},
            {"dtype", dtype_name(s.dtypes.weights)},
            {"kv_dtype", dtype_name(s.dtypes.kv)},
            {"catalog", catalog},
            {"pools", pools},
            {"fabric",
             {{"type", s.fabric.type},
              {"servers_per_rack", s.fabric.servers_per_rack},
              {"oversubscription", s.fabric.oversubscription},
              {"link_latency_us", s.fabric.link_latency_us},
              {"network_model", s.fabric.network_model},
              {"switch", s.fabric.switch_name}}},
            {"placements", places},
            {"scheduler", scheduler_config_json(s.scheduler)},
            {"router", s.router},
            {"workload", workload_json(s.workload)},
            {"slo", {{"ttft_s", s.slo.ttft_s}, {"tpot_s", s.slo.tpot_s}, {"e2e_s", s.slo.e2e_s}}},
            {"economics",
             {{"usd_per_kwh", s.economics.usd_per_kwh},
              {"pue", s.economics.pue},
              {"depreciation_years", s.economics.depreciation_years},
              {"cost_of_capital", s.economics.cost_of_capital},
              {"facility_usd_per_mw", s.economics.facility_usd_per_mw},
              {"facility_years", s.economics.facility_years},
              {"colocation_usd_per_kw_month", s.economics.colocation_usd_per_kw_month},
              {"operations_capex_fraction", s.economics.operations_capex_fraction},
              {"operations_usd_per_server_year", s.economics.operations_usd_per_server_year},
              {"sources", s.economics_sources}}},
            {"sim",
             {{"mode", s.sim.mode},
              {"warmup_s", s.window.start},
              {"cooldown_s", s.sim.cooldown_s},
              {"max_requests", s.sim.max_requests},
              {"exact_percentiles_up_to", s.sim.exact_percentiles_up_to}}}};
  if (s.host.enabled()) j["host"] = host_json(s.host);
  if (s.pods.given) {
    j["pods"] = {{"count", s.pods.count}, {"router", s.pods.router}};
    if (s.pods.router == "least_outstanding") j["pods"]["sync_s"] = s.pods.sync_s;
  }
  if (s.kv_cache.enabled()) {
    j["kv_cache"] = kv_cache_json(s.kv_cache);
    for (auto const& [pool, dev, n] : kv_storage(s))
      carry("storage", dev->name);
    j["catalog"] = catalog;
  }
  return j;
}

} // namespace fs
