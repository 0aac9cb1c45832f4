// The fully resolved scenario (presets and defaults applied), written next to the results.
#include "scenario.hpp"

namespace fs {

namespace {

Json chip_json(const ChipSpec& c)
{
  Json peaks = Json::object();
  for (auto const& [d, f] : c.peak_flops)
    peaks[dtype_name(d)] = f / 1e12;
  return {{"name", c.name},
          {"kind", c.kind},
          {"peak_tflops", peaks},
          {"hbm_capacity_gb", c.mem_capacity_bytes / 1e9},
          {"hbm_bandwidth_tb_per_s", c.mem_bandwidth / 1e12},
          {"scaleup_bandwidth_gb_per_s", c.scaleup_bandwidth / 1e9},
          {"scaleup_latency_us", c.scaleup_latency_s * 1e6},
          {"idle_power_w", c.idle_power_w},
          {"tdp_w", c.tdp_w},
          {"price_usd", c.price_usd},
          {"calibration", c.calibration.empty() ? "datasheet" : c.calibration},
          {"sources", c.sources}};
}

Json length_json(const LengthDist& d)
{
  Json j = {{"type", d.type}, {"min", d.min}, {"max", d.max}};
  if (d.type == "fixed") j["value"] = d.value;
  if (d.type == "lognormal") {
    j["mu"] = d.mu;
    j["sigma"] = d.sigma;
  }
  return j;
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
                     {"gpus_per_server", sv.gpus_per_server},
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
    Json groups = Json::array();
    for (auto const& g : pc.groups)
      groups.push_back({{"role", role_name(g.role)},
                        {"pool", g.pool},
                        {"instances", g.instances},
                        {"tp", g.par.tp},
                        {"pp", g.par.pp}});
    places.push_back({{"name", pc.name}, {"type", pc.type}, {"groups", groups}});
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
  const WorkloadConfig& w = s.workload;
  Json workload = {{"type", w.type}, {"num_requests", w.num_requests}, {"duration_s", w.duration_s}};
  if (w.type == "trace") {
    workload["path"] = w.trace_path;
    workload["time_scale"] = w.time_scale;
  } else {
    workload["qps"] = w.qps;
    if (w.type == "gamma") workload["cv"] = w.cv;
    workload["input"] = length_json(w.input);
    workload["output"] = length_json(w.output);
  }
  const SchedulerConfig& sc = s.scheduler;
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
          {"scheduler",
           {{"type", sc.type},
            {"max_num_batched_tokens", sc.max_num_batched_tokens},
            {"max_num_seqs", sc.max_num_seqs},
            {"prefill_chunk_tokens", sc.prefill_chunk_tokens},
            {"gpu_memory_utilization", sc.gpu_memory_utilization},
            {"activation_reserve_gb", sc.activation_reserve_gb}}},
          {"router", s.router},
          {"workload", workload},
          {"slo", {{"ttft_s", s.slo.ttft_s}, {"tpot_s", s.slo.tpot_s}, {"e2e_s", s.slo.e2e_s}}},
          {"economics",
           {{"usd_per_kwh", s.economics.usd_per_kwh},
            {"pue", s.economics.pue},
            {"depreciation_years", s.economics.depreciation_years},
            {"busy_power_fraction", s.economics.busy_power_fraction},
            {"sources", s.economics_sources}}},
          {"sim", {{"mode", s.sim.mode}, {"warmup_s", s.sim.warmup_s}, {"cooldown_s", s.sim.cooldown_s}}}};
}

} // namespace fs
