#include "summary.hpp"
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <stdexcept>

namespace fs {

Percentiles percentiles(std::vector<double> xs)
{
  Percentiles p;
  p.n = long(xs.size());
  if (xs.empty()) return p;
  std::sort(xs.begin(), xs.end());
  auto q = [&](double f) {
    const double pos = f * double(xs.size() - 1);
    const size_t lo = size_t(std::floor(pos)), hi = std::min(lo + 1, xs.size() - 1);
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - double(lo));
  };
  p.mean = std::accumulate(xs.begin(), xs.end(), 0.0) / double(xs.size());
  p.p50 = q(0.5);
  p.p90 = q(0.9);
  p.p99 = q(0.99);
  return p;
}

namespace {

Json to_json(const Percentiles& p)
{
  return {{"mean", p.mean}, {"p50", p.p50}, {"p90", p.p90}, {"p99", p.p99}, {"n", p.n}};
}

double tpot(const Request& r) { return (r.finish - r.first_token) / double(r.spec.output_tokens - 1); }

bool meets_slo(const Request& r, const SloConfig& slo)
{
  if (r.finish < 0) return false;
  if (slo.ttft_s > 0 && r.first_token - r.spec.arrival > slo.ttft_s) return false;
  if (slo.tpot_s > 0 && r.spec.output_tokens > 1 && tpot(r) > slo.tpot_s) return false;
  if (slo.e2e_s > 0 && r.finish - r.spec.arrival > slo.e2e_s) return false;
  return true;
}

} // namespace

Json make_summary(const Scenario& s, const PlacementConfig& pc, const RunResult& r)
{
  const Window& w = r.collector.window;
  long completed = 0, dropped = 0, measured = 0, good = 0, preemptions = 0;
  std::map<std::string, long> drop_reasons;
  std::vector<double> ttft, tpots, e2e, transfer_bytes;
  for (const Request& q : r.requests) {
    if (!q.dropped.empty()) {
      dropped++;
      drop_reasons[q.dropped]++;
      continue;
    }
    if (q.finish < 0) continue;
    completed++;
    preemptions += q.preemptions;
    if (q.kv_bytes_transferred > 0) transfer_bytes.push_back(q.kv_bytes_transferred);
    if (!w.contains(q.spec.arrival)) continue;
    measured++;
    ttft.push_back(q.first_token - q.spec.arrival);
    e2e.push_back(q.finish - q.spec.arrival);
    if (q.spec.output_tokens > 1) tpots.push_back(tpot(q));
    good += meets_slo(q, s.slo);
  }
  const long arrived = long(r.requests.size());
  if (arrived != completed + dropped)
    throw std::runtime_error("conservation check failed in placement \"" + pc.name + "\": " + std::to_string(arrived) +
                             " arrived, " + std::to_string(completed) + " completed, " + std::to_string(dropped) +
                             " dropped");
  const double len = w.length();
  const double in_tps = r.collector.input_tokens / len, out_tps = r.collector.output_tokens / len;

  // Utilization and power: every GPU of every pool counts (idle ones draw idle power and cost capex).
  std::map<std::string, double> busy, capacity;
  std::map<std::string, double> pool_busy_gpu_s; // GPU-seconds busy inside the window
  for (const InstanceReport& ir : r.instances) {
    const std::string key = ir.pool + "/" + role_name(ir.role);
    busy[key] += ir.stats.busy_in_window_s;
    capacity[key] += len;
    pool_busy_gpu_s[ir.pool] += ir.stats.busy_in_window_s * ir.gpus;
  }
  Json util = Json::object();
  for (auto const& [k, b] : busy)
    util[k] = b / capacity[k];
  std::vector<CostItem> items;
  long gpus = 0;
  for (const ServerPool& p : s.pools) {
    const ChipSpec& c = p.server.chip;
    const double busy_frac = pool_busy_gpu_s[p.name] / (len * p.gpus());
    items.push_back({p.name + " " + c.name, double(p.gpus()), c.price_usd,
                     accelerator_power_w(c.idle_power_w, c.tdp_w, busy_frac, s.economics.busy_power_fraction)});
    items.push_back({p.name + " server", double(p.servers), p.server.other_capex_usd, p.server.base_power_w});
    gpus += p.gpus();
  }
  const CostResult cost = cost_per_hour(items, s.economics);
  const double it_w = cost.power_kw * 1000;

  Json drops = Json::object();
  for (auto const& [why, n] : drop_reasons)
    drops[why] = n;
  const Percentiles tb = percentiles(transfer_bytes);
  return {{"scenario", s.name},
          {"placement", pc.name},
          {"placement_type", pc.type},
          {"model", s.model.name},
          {"gpus", gpus},
          {"requests",
           {{"arrived", arrived},
            {"completed", completed},
            {"dropped", dropped},
            {"measured", measured},
            {"drop_reasons", drops},
            {"preemptions", preemptions}}},
          {"window_s", {{"start", w.start}, {"end", w.end}}},
          {"throughput",
           {{"input_tokens_per_s", in_tps},
            {"output_tokens_per_s", out_tps},
            {"requests_per_s", double(measured) / len},
            {"output_tokens_per_s_per_gpu", out_tps / double(gpus)}}},
          {"latency_s",
           {{"ttft", to_json(percentiles(ttft))},
            {"tpot", to_json(percentiles(tpots))},
            {"e2e", to_json(percentiles(e2e))}}},
          {"goodput_requests_per_s", double(good) / len},
          {"slo",
           {{"ttft_s", s.slo.ttft_s},
            {"tpot_s", s.slo.tpot_s},
            {"e2e_s", s.slo.e2e_s},
            {"attainment", measured ? double(good) / double(measured) : 0.0}}},
          {"utilization", util},
          {"power_kw", cost.power_kw},
          {"energy_j_per_output_token", out_tps > 0 ? it_w / out_tps : 0.0},
          {"facility_energy_j_per_output_token", out_tps > 0 ? it_w * s.economics.pue / out_tps : 0.0},
          {"cost",
           {{"usd_per_hour", cost.usd_per_hour},
            {"capex_usd_per_hour", cost.capex_usd_per_hour},
            {"energy_usd_per_hour", cost.energy_usd_per_hour},
            {"usd_per_million_output_tokens", usd_per_million(cost.usd_per_hour, out_tps)},
            {"usd_per_million_total_tokens", usd_per_million(cost.usd_per_hour, in_tps + out_tps)}}},
          {"kv_transfer", {{"requests", tb.n}, {"mean_bytes", tb.mean}, {"total_bytes", tb.mean * double(tb.n)}}},
          {"calibration", r.calibration},
          {"sim",
           {{"wall_s", r.wall_s},
            {"simulated_s", r.simulated_s},
            {"events", r.events},
            {"mode", s.sim.mode},
            {"network_model", s.fabric.network_model}}}};
}

void write_requests_csv(std::ostream& out, const RunResult& r)
{
  out << "id,arrival,first_token,finish,input_tokens,output_tokens,instances,kv_bytes_transferred,preemptions,"
         "dropped\n";
  out.precision(9);
  for (const Request& q : r.requests) {
    std::string why = q.dropped;
    std::replace(why.begin(), why.end(), ',', ';');
    out << q.spec.id << ',' << q.spec.arrival << ',' << q.first_token << ',' << q.finish << ',' << q.spec.input_tokens
        << ',' << q.spec.output_tokens << ',' << q.instances << ',' << q.kv_bytes_transferred << ',' << q.preemptions
        << ',' << why << '\n';
  }
}

} // namespace fs
