// The fully resolved scenario (presets and defaults applied), written next to the results.
#include "placement.hpp"
#include "scheduler.hpp"
#include "workload.hpp"

namespace fs {

namespace {

Json chip_json(const ChipSpec& c)
{
  Json peaks = Json::object();
  for (auto const& [d, f] : c.peak_flops)
    peaks[dtype_name(d)] = f / 1e12;
  const ScaleUpSpec& su = c.scaleup;
  return {{"name", c.name},
          {"kind", c.kind},
          {"step_time_model", c.step_time_model},
          {"peak_tflops", peaks},
          {"memory_capacity_mib", c.memory_capacity_bytes / (1024.0 * 1024.0)},
          {"memory_bandwidth_tb_per_s", c.memory_bandwidth / 1e12},
          {"scaleup_bandwidth_gb_per_s", su.bandwidth / 1e9},
          {"allreduce_ring_bus_bandwidth_gb_per_s", su.ring_bus_bandwidth / 1e9},
          {"allreduce_ring_base_latency_us", su.ring_base_latency_s * 1e6},
          {"allreduce_ring_step_latency_us", su.ring_step_latency_s * 1e6},
          {"allreduce_one_shot_latency_us", su.one_shot_latency_s * 1e6},
          {"allreduce_one_shot_peer_latency_us", su.one_shot_peer_latency_s * 1e6},
          {"allreduce_nvls_bus_bandwidth_gb_per_s", su.nvls_bus_bandwidth / 1e9},
          {"allreduce_nvls_latency_us", su.nvls_latency_s * 1e6},
          {"idle_power_w", c.power.idle_w},
          {"tdp_w", c.power.tdp_w},
          {"power_compute_fraction", c.power.compute_fraction},
          {"power_memory_fraction", c.power.memory_fraction},
          {"power_comm_fraction", c.power.comm_fraction},
          {"price_usd", c.price_usd},
          {"calibration", c.calibration.empty() ? "datasheet" : c.calibration},
          {"sources", c.sources}};
}

} // namespace

Json resolved_json(const Scenario& s)
{
  Json pools = Json::array();
  for (auto const& p : s.pools) {
    const ServerSpec& sv = p.server;
    pools.push_back({{"name", p.name},
                     {"server", sv.name},
                     {"servers", p.servers},
                     {"chips_per_server", sv.chips_per_server},
                     {"chip", chip_json(sv.chip)},
                     {"cpu", {{"name", sv.cpu.name}, {"count", sv.cpus_per_server}, {"sources", sv.cpu.sources}}},
                     {"nic",
                      {{"name", sv.nic.name},
                       {"count", sv.nics_per_server},
                       {"bandwidth_gbps", sv.nic.bandwidth * 8 / 1e9},
                       {"latency_us", sv.nic.latency_s * 1e6},
                       {"sources", sv.nic.sources}}},
                     {"base_power_w", sv.base_power_w},
                     {"other_capex_usd", sv.other_capex_usd},
                     {"sources", sv.sources}});
  }
  Json places = Json::array();
  for (auto const& pc : s.placements) {
    Json j = placement_registry().make(pc.type)->to_json(pc, s.scheduler);
    j["name"] = pc.name;
    j["type"] = pc.type;
    places.push_back(j);
  }
  const LlmSpec& m = s.model;
  Json model = {{"name", m.name},
                {"num_layers", m.num_layers},
                {"hidden_size", m.hidden_size},
                {"num_attention_heads", m.num_attention_heads},
                {"num_kv_heads", m.num_kv_heads},
                {"head_dim", m.head_dim},
                {"intermediate_size", m.intermediate_size},
                {"vocab_size", m.vocab_size},
                {"max_context_tokens", m.max_context_tokens},
                {"moe", m.moe
                            ? Json{{"num_experts", m.moe->num_experts}, {"experts_per_token", m.moe->experts_per_token}}
                            : Json()},
                {"source", m.source}};
  return {{"name", s.name},
          {"seed", s.seed},
          {"model", model},
          {"dtype", dtype_name(s.dtypes.weights)},
          {"kv_dtype", dtype_name(s.dtypes.kv)},
          {"pools", pools},
          {"fabric",
           {{"type", s.fabric.type},
            {"servers_per_rack", s.fabric.servers_per_rack},
            {"oversubscription", s.fabric.oversubscription},
            {"link_latency_us", s.fabric.link_latency_s * 1e6},
            {"network_model", s.fabric.network_model}}},
          {"placements", places},
          {"scheduler", scheduler_config_json(s.scheduler)},
          {"router", s.router},
          {"workload", workload_json(s.workload)},
          {"slo", {{"ttft_s", s.slo.ttft_s}, {"tpot_s", s.slo.tpot_s}, {"e2e_s", s.slo.e2e_s}}},
          {"economics",
           {{"usd_per_kwh", s.economics.usd_per_kwh},
            {"pue", s.economics.pue},
            {"depreciation_years", s.economics.depreciation_years},
            {"sources", s.economics_sources}}},
          {"sim", {{"mode", s.sim.mode}, {"warmup_s", s.sim.warmup_s}, {"cooldown_s", s.sim.cooldown_s}}}};
}

} // namespace fs
