#include "summary.hpp"
#include "hardware_cost.hpp"
#include "host.hpp"
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <numeric>
#include <stdexcept>

namespace fs {

namespace {

Json to_json(const Percentiles& p)
{
  return {{"mean", p.mean}, {"p50", p.p50}, {"p90", p.p90}, {"p99", p.p99}, {"n", p.n}};
}

// Speeds: the slow tail is the low percentiles.
Json speed_json(const Percentiles& p)
{
  return {{"mean", p.mean}, {"p1", p.p1}, {"p10", p.p10}, {"p50", p.p50}, {"p90", p.p90}, {"n", p.n}};
}

Json phases_json(const PhaseSeconds& p, double host_s)
{
  const double busy = p.total();
  auto share = [&](double x) { return busy > 0 ? x / busy : 0.0; };
  return {{"compute_bound_share", share(p.compute)},
          {"memory_bound_share", share(p.memory)},
          {"communication_share", share(p.comm)},
          {"kernel_launch_share", share(p.launch)},
          {"busy_chip_s", busy},
          {"host_overhead_s", host_s}};
}

// Per stage: what its instances did (utilization, step breakdown, KV use, preemptions).
Json stages_json(const PlacementConfig& pc, const RunResult& r, double len)
{
  Json out = Json::array();
  for (const StageConfig& st : pc.stages) {
    PhaseSeconds ph;
    CommBreakdown comm;
    double busy_window = 0, host = 0;
    long steps = 0, preempt = 0, peak = 0, cap = 0, n = 0;
    for (const InstanceReport& ir : r.instances) {
      if (ir.stage != st.name) continue;
      n++;
      ph += ir.stats.phases;
      comm += ir.stats.comm;
      busy_window += ir.stats.busy_chip_s_window;
      host += ir.stats.host_s;
      steps += ir.stats.steps;
      preempt += ir.stats.preemptions;
      peak = std::max(peak, ir.stats.kv_peak_blocks);
      cap = ir.stats.kv_capacity_blocks;
    }
    Json ar = Json::object();
    for (AllReduceAlgo a : {AllReduceAlgo::ring, AllReduceAlgo::one_shot, AllReduceAlgo::nvls})
      if (comm.allreduce_s[size_t(a)] > 0) ar[algo_name(a)] = comm.allreduce_s[size_t(a)];
    const double chips = double(n) * st.par.chips();
    Json breakdown = phases_json(ph, host);
    breakdown["allreduce_s_by_algorithm"] = ar;
    breakdown["pipeline_hop_s"] = comm.pp_hop_s;
    if (comm.alltoall_s > 0) breakdown["expert_alltoall_s"] = comm.alltoall_s;
    out.push_back({{"name", st.name},
                   {"role", role_name(st.role)},
                   {"pool", st.pool},
                   {"instances", n},
                   {"tp", st.par.tp},
                   {"pp", st.par.pp},
                   {"chips", chips},
                   {"utilization", chips > 0 && len > 0 ? busy_window / (chips * len) : 0.0},
                   {"steps", steps},
                   {"preemptions", preempt},
                   {"kv_cache",
                    {{"block_tokens", st.scheduler.block_size_tokens},
                     {"blocks_per_instance", cap},
                     {"peak_used_fraction", cap > 0 ? double(peak) / double(cap) : 0.0}}},
                   {"step_breakdown", breakdown}});
  }
  return out;
}

// The KV hierarchy's part (scenario "kv_cache"): null without prefix caching.
Json kv_json(const Scenario& s, const RunResult& r, const std::vector<CostItem>& items, double usd_per_hour)
{
  const KvHierarchyReport& k = r.kv;
  if (!k.enabled) return nullptr;
  double prompt = r.stats.prompt_tokens, storage_usd = 0;
  for (const CostItem& it : items)
    if (it.kind == "storage") storage_usd += item_usd_per_hour(it, s.economics);
  const double chunk_bytes = double(s.prefix_block_tokens) * kv_bytes_per_token(s.model, s.dtypes.kv);
  Json tiers = Json::object();
  long hits = 0;
  for (int t = 0; t < kv_tier_count; ++t) {
    const TierStats& ts = k.tiers[size_t(t)];
    hits += ts.hit_chunks;
    if (t != int(KvTier::hbm) && k.capacity_bytes[size_t(t)] == 0) continue;
    tiers[tier_name(KvTier(t))] = {{"hit_rate", k.lookups ? double(ts.hit_chunks) / double(k.lookups) : 0.0},
                                   {"hit_chunks", ts.hit_chunks},
                                   {"bytes_loaded", ts.loaded_bytes},
                                   {"bytes_written", double(ts.stored_chunks) * chunk_bytes},
                                   {"evicted_chunks", ts.evicted_chunks},
                                   {"capacity_gb", k.capacity_bytes[size_t(t)] / 1e9}};
  }
  return {{"chunk_tokens", s.prefix_block_tokens},
          {"lookups_chunks", k.lookups},
          {"hit_rate", k.lookups ? double(hits) / double(k.lookups) : 0.0},
          {"tiers", tiers},
          {"prefill_tokens_saved", k.cached_tokens},
          {"preempted_tokens_restored", k.restored_tokens},
          {"prompt_tokens", prompt},
          {"prefill_saved_share", prompt > 0 ? double(k.cached_tokens) / prompt : 0.0},
          {"storage_usd_per_hour", storage_usd},
          {"storage_cost_share", usd_per_hour > 0 ? storage_usd / usd_per_hour : 0.0}};
}

// The host pool's part (scenario "host"): null when host work is not modelled.
Json host_json(const Scenario& s, const RunResult& r, double util, const Percentiles& queue, const Percentiles& work)
{
  if (r.host.cores == 0) return nullptr;
  return {{"pool", r.host.pool},
          {"cores", r.host.cores},
          {"utilization", util},
          {"queue_s", to_json(queue)},
          {"work_core_s_per_request", work.mean},
          {"request_core_ms", s.host.request_core_ms},
          {"tokenize_core_us_per_token", s.host.tokenize_core_us_per_token},
          {"detokenize_core_us_per_token", s.host.detokenize_core_us_per_token}};
}

// Sessions or agent tasks (null for other workloads): those that started inside the window, and the rate at which
// they complete inside it.
Json sessions_json(const Scenario& s, const RunResult& r, const Window& w)
{
  if (r.sessions.empty()) return nullptr;
  long completed = 0, failed = 0, done_in_window = 0;
  std::vector<double> e2e, llm, tool, queue, in, out, reqs, calls;
  for (const SessionRecord& x : r.sessions) {
    completed += x.completed();
    failed += x.failed;
    done_in_window += x.completed() && w.contains(x.end);
    if (!x.completed() || !w.contains(x.start)) continue;
    e2e.push_back(x.end - x.start);
    llm.push_back(x.llm_s);
    tool.push_back(x.tool_s);
    queue.push_back(x.tool_queue_s);
    in.push_back(double(x.input_tokens));
    out.push_back(double(x.output_tokens));
    reqs.push_back(double(x.requests));
    calls.push_back(double(x.tool_calls));
  }
  const double in_mean = percentiles(in).mean, out_mean = percentiles(out).mean;
  Json tools = nullptr;
  if (r.tools.cores > 0)
    tools = {{"pool", r.tools.pool},
             {"cores", r.tools.cores},
             {"utilization", r.tools.busy_core_s_window / (double(r.tools.cores) * w.length())},
             {"shared_with_host_work", r.tools.pool == s.host.pool}};
  return {{"workload", s.workload.type},
          {"started", long(r.sessions.size())},
          {"completed", completed},
          {"failed", failed},
          {"measured", long(e2e.size())},
          {"e2e_s", to_json(percentiles(e2e))},
          {"llm_s", to_json(percentiles(llm))},
          {"tool_s", to_json(percentiles(tool))},
          {"tool_queue_s", to_json(percentiles(queue))},
          {"requests_per_session", percentiles(reqs).mean},
          {"tool_calls_per_session", percentiles(calls).mean},
          {"tokens_per_session", {{"input", in_mean}, {"output", out_mean}, {"total", in_mean + out_mean}}},
          {"completed_per_hour", double(done_in_window) / w.length() * 3600},
          {"tool_pool", tools}};
}

} // namespace

Json make_summary(const Scenario& s, const PlacementConfig& pc, const RunResult& r)
{
  const Window& w = r.collector.window;
  const RequestStats& st = r.stats;
  const long completed = st.completed, dropped = st.dropped, measured = st.measured, good = st.good,
             arrived = st.arrived;
  if (arrived != completed + dropped)
    throw std::runtime_error("conservation check failed in placement \"" + pc.name + "\": " + std::to_string(arrived) +
                             " arrived, " + std::to_string(completed) + " completed, " + std::to_string(dropped) +
                             " dropped");
  const double len = w.length();
  if (!(len > 0))
    throw std::runtime_error("placement \"" + pc.name + "\": the measured window [" + std::to_string(w.start) + ", " +
                             std::to_string(w.end) + "] s (rule " + s.window.rule +
                             ") is empty: sim.warmup_s is past the end of the work");
  const double in_tps = r.collector.input_tokens / len, out_tps = r.collector.output_tokens / len;

  // Power and cost: every chip of every pool the placement uses counts (idle ones draw idle power and cost
  // capex), and every NIC, host CPU, server chassis, fabric switch and optic (hardware_cost.hpp). Pools the
  // placement leaves alone are not part of its factory: placements on different hardware compare fairly. The host
  // pool (scenario "host") serves every placement.
  Scenario used = s;
  used.pools.clear();
  for (const ServerPool& p : s.pools) {
    bool in = p.name == s.host.pool || p.name == s.tool_pool || p.name == s.kv_cache.remote_pool;
    for (const StageConfig& st : pc.stages)
      in = in || st.pool == p.name || st.ffn.pool == p.name;
    if (in) used.pools.push_back(p);
  }
  std::map<std::string, PhaseSeconds> pool_phases;
  Json util = Json::object();
  for (const InstanceReport& ir : r.instances) {
    pool_phases[ir.pool] += ir.stats.phases_window;
    if (!ir.ffn_pool.empty()) pool_phases[ir.ffn_pool] += ir.stats.offload_phases_window;
  }
  std::map<std::string, double> chip_w;
  long chips = 0;
  for (const ServerPool& p : used.pools) {
    const double n = double(p.chips());
    if (n == 0) continue; // a CPU pool
    chip_w[p.name] = chip_energy_j(p.server.chip.power, pool_phases[p.name], n * len) / len / n;
    chips += p.chips();
  }
  std::map<std::string, double> cpu_w;
  const double host_util = r.host.cores > 0 && len > 0 ? r.host.busy_core_s_window / (double(r.host.cores) * len) : 0;
  if (r.host.cores > 0) cpu_w[r.host.pool] = cpu_power_w(s.pool(r.host.pool).server.cpu, host_util);
  if (r.tools.cores > 0)
    cpu_w[r.tools.pool] = cpu_power_w(s.pool(r.tools.pool).server.cpu,
                                      len > 0 ? r.tools.busy_core_s_window / (double(r.tools.cores) * len) : 0);
  const std::vector<CostItem> items = hardware_items(used, chip_w, cpu_w);
  const CostResult cost = cost_per_hour(items, s.economics);
  double accel_w = 0, server_w = 0, network_w = 0;
  Json cost_items = Json::array();
  for (const CostItem& it : items) {
    const double w = it.count * it.avg_power_w;
    (it.kind == "chip" ? accel_w : it.group == "fabric" ? network_w : server_w) += w;
    const double usd_h = item_usd_per_hour(it, s.economics);
    cost_items.push_back({{"group", it.group},
                          {"kind", it.kind},
                          {"name", it.name},
                          {"count", it.count},
                          {"capex_usd_each", it.capex_usd},
                          {"power_w_each", it.avg_power_w},
                          {"usd_per_hour", usd_h},
                          {"share", cost.usd_per_hour > 0 ? usd_h / cost.usd_per_hour : 0.0}});
  }
  const double it_w = cost.power_kw * 1000;
  Json stages = stages_json(pc, r, len);
  for (const Json& st : stages)
    util[st["name"].get<std::string>()] = st["utilization"];

  Json drops = Json::object();
  for (auto const& [why, n] : st.drop_reasons)
    drops[why] = n;
  const Percentiles tb = st.transfer_bytes.result();
  Json sessions = sessions_json(s, r, w);
  if (!sessions.is_null()) {
    const double per_hour = sessions["completed_per_hour"].get<double>();
    sessions["usd_per_session"] = per_hour > 0 ? cost.usd_per_hour / per_hour : 0.0;
  }
  Json summary = {
      {"scenario", s.name},
      {"placement", pc.name},
      {"placement_type", pc.type},
      {"model", s.model.name},
      {"chips", chips},
      {"requests",
       {{"arrived", arrived},
        {"completed", completed},
        {"dropped", dropped},
        {"measured", measured},
        {"drop_reasons", drops},
        {"preemptions", st.preemptions}}},
      {"window_s", {{"start", w.start}, {"end", w.end}, {"rule", s.window.rule}}},
      {"throughput",
       {{"input_tokens_per_s", in_tps},
        {"output_tokens_per_s", out_tps},
        {"requests_per_s", double(measured) / len},
        {"output_tokens_per_s_per_chip", out_tps / double(chips)},
        {"output_tokens_per_s_per_mw", cost.power_kw > 0 ? out_tps / (cost.power_kw / 1000) : 0.0},
        {"output_tokens_per_s_per_mw_facility",
         cost.power_kw > 0 ? out_tps / (cost.power_kw * s.economics.pue / 1000) : 0.0},
        {"per_user_output_tokens_per_s", speed_json(st.user_speed.result())}}},
      {"latency_s",
       {{"ttft", to_json(st.ttft.result())},
        {"tpot", to_json(st.tpot.result())},
        {"e2e", to_json(st.e2e.result())},
        {"decode_wait", to_json(st.decode_wait.result())},
        {"kv_pull", to_json(st.kv_pull.result())}}},
      {"goodput_requests_per_s", double(good) / len},
      {"slo",
       {{"ttft_s", s.slo.ttft_s},
        {"tpot_s", s.slo.tpot_s},
        {"e2e_s", s.slo.e2e_s},
        {"attainment", measured ? double(good) / double(measured) : 0.0}}},
      {"utilization", util},
      {"stages", stages},
      {"host", host_json(s, r, host_util, st.host_queue.result(), st.host_work.result())},
      {"kv_hierarchy", kv_json(s, r, items, cost.usd_per_hour)},
      {"power_kw", cost.power_kw},
      {"power_breakdown_kw",
       {{"accelerators", accel_w / 1000}, {"servers", server_w / 1000}, {"network", network_w / 1000}}},
      {"energy_j_per_output_token", out_tps > 0 ? it_w / out_tps : 0.0},
      {"facility_energy_j_per_output_token", out_tps > 0 ? it_w * s.economics.pue / out_tps : 0.0},
      {"cost",
       {{"usd_per_hour", cost.usd_per_hour},
        {"capex_usd_per_hour", cost.capex_usd_per_hour},
        {"energy_usd_per_hour", cost.energy_usd_per_hour},
        {"facility_usd_per_hour", cost.facility_usd_per_hour},
        {"operations_usd_per_hour", cost.operations_usd_per_hour},
        {"rated_power_kw", cost.rated_power_kw},
        {"usd_per_hour_by_kind", cost.by_kind},
        {"usd_per_million_output_tokens_by_kind",
         [&] {
           Json j = Json::object();
           for (auto const& [kind, usd_h] : cost.by_kind)
             j[kind] = usd_per_million(usd_h, out_tps);
           return j;
         }()},
        {"usd_per_million_output_tokens", usd_per_million(cost.usd_per_hour, out_tps)},
        {"usd_per_million_total_tokens", usd_per_million(cost.usd_per_hour, in_tps + out_tps)},
        {"capex_usd",
         [&] {
           double c = 0;
           for (const CostItem& it : items)
             c += it.count * it.capex_usd;
           return c;
         }()},
        {"items", cost_items},
        {"fabric",
         [&] {
           const FabricCount f = fabric_count(s);
           return Json{{"switch", s.fabric.switch_name},
                       {"racks", f.racks},
                       {"leaf_switches", f.leaves},
                       {"spine_switches", f.spines},
                       {"aggregation_switches", f.aggregations},
                       {"core_switches", f.cores},
                       {"switch_ports_in_use", f.ports_in_use},
                       {"optics", f.optics()}};
         }()}}},
      {"kv_transfer", {{"requests", tb.n}, {"mean_bytes", tb.mean}, {"total_bytes", st.transfer_bytes_total}}},
      {"status", run_status(s, r)},
      {"calibration", r.calibration},
      {"sim",
       {{"wall_s", r.wall_s},
        {"simulated_s", r.simulated_s},
        {"events", r.events},
        {"kv_pulls_lone", r.kv_pulls_lone},
        {"kv_pulls_shared", r.kv_pulls_shared},
        {"instants_ahead", r.instants_ahead},
        {"instants_ahead_of_pulls", r.instants_ahead_of_pulls},
        {"peak_requests_held", r.peak_requests_held},
        {"exact_percentiles", r.stats.exact()},
        {"mode", s.sim.mode},
        {"network_model", s.fabric.network_model}}}};
  summary["sessions"] = sessions;
  if (s.pods.count > 1) {
    Json& p = summary["pods"] = {{"count", s.pods.count}, {"router", s.pods.router}};
    if (s.pods.router == "least_outstanding") p["sync_s"] = s.pods.sync_s;
    // With load snapshots in one process: the share of arrivals sent where the live router would have sent them.
    p["live_agreement"] = r.pod_picks > 0 ? Json(double(r.pod_live_picks) / double(r.pod_picks)) : Json(nullptr);
    p["live_agreement_arrivals"] = r.pod_picks; // the arrivals compared (a sample above 256 instances)
  }
  if (!sessions.is_null()) summary["cost"]["usd_per_session"] = sessions["usd_per_session"];
  return summary;
}

RequestCsv::RequestCsv(std::function<void(const std::string&)> sink, long every)
    : sink_(std::move(sink)), every_(std::max(1L, every)),
      buf_("id,arrival,first_token,finish,input_tokens,output_tokens,instances,kv_bytes_transferred,decode_wait_s,"
           "kv_pull_s,host_queue_s,host_work_s,cached_tokens,preemptions,session,dropped\n")
{
}

namespace {
// Appends what printf's "%.9g" and "%ld" write (std::to_chars, specified to give printf's digits: a tenth of
// snprintf's cost, which was most of a colocated request's when every row was written).
void append_g9(std::string& out, double x)
{
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::general, 9);
  out.append(buf, r.ptr);
}
void append_long(std::string& out, long x)
{
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, x);
  out.append(buf, r.ptr);
}
} // namespace

void RequestCsv::request_done(const Request& q, long session)
{
  if (q.spec.id % every_ != 0) return;
  std::string& row = row_;
  row.clear();
  auto num = [&](double x) {
    append_g9(row, x);
    row += ',';
  };
  auto whole = [&](long x) {
    append_long(row, x);
    row += ',';
  };
  whole(q.spec.id);
  num(q.spec.arrival);
  num(q.first_token);
  num(q.finish);
  whole(q.spec.input_tokens);
  whole(q.spec.output_tokens);
  row += q.instances;
  row += ',';
  num(q.kv_bytes_transferred);
  num(q.decode_wait_s());
  num(q.kv_transfer_s());
  num(q.host_queue_s);
  num(q.host_work_s);
  whole(q.cached_tokens);
  whole(q.preemptions);
  if (session >= 0) append_long(row, session);
  row += ',';
  const size_t why = row.size();
  row += q.dropped;
  std::replace(row.begin() + long(why), row.end(), ',', ';');
  row += '\n';
  put(q.spec.id, row);
}

void RequestCsv::request_elsewhere(long id)
{
  if (id % every_ == 0) put(id, {});
}

void RequestCsv::put(long id, const std::string& row)
{
  if (id < next_) throw std::logic_error("requests.csv: a second row for request " + std::to_string(id));
  if (id != next_) {
    const size_t ahead = size_t((id - next_) / every_);
    if (ahead >= state_.size()) grow(ahead);
    const size_t slot = (head_ + ahead) & (state_.size() - 1);
    if (state_[slot]) throw std::logic_error("requests.csv: a second row for request " + std::to_string(id));
    if (row.size() < slot_bytes) {
      std::memcpy(&ring_[slot * slot_bytes], row.data(), row.size());
      state_[slot] = uint16_t(row.size() + 1);
    } else {
      long_[slot] = row;
      state_[slot] = in_long;
    }
    waiting_++;
    return;
  }
  buf_ += row;
  next_ += every_;
  if (state_.empty()) return flush_if_full();
  const size_t mask = state_.size() - 1;
  head_ = (head_ + 1) & mask; // the slot of id - no row waits there
  while (const uint16_t st = state_[head_]) {
    if (st == in_long) {
      auto it = long_.find(head_);
      buf_ += it->second;
      long_.erase(it);
    } else
      buf_.append(&ring_[head_ * slot_bytes], st - 1u);
    state_[head_] = 0;
    waiting_--;
    next_ += every_;
    head_ = (head_ + 1) & mask;
  }
  flush_if_full();
}

void RequestCsv::grow(size_t ahead)
{
  // Re-lays the waiting rows from slot 0.
  const size_t slots = state_.size();
  size_t n = std::max<size_t>(64, slots);
  while (n <= ahead)
    n *= 2;
  std::vector<char> ring(n * slot_bytes);
  std::vector<uint16_t> state(n, 0);
  std::map<size_t, std::string> longs;
  for (size_t k = 0; k < slots; ++k) {
    const size_t from = (head_ + k) & (slots - 1);
    state[k] = state_[from];
    if (state_[from] == in_long)
      longs[k] = std::move(long_[from]);
    else if (state_[from])
      std::memcpy(&ring[k * slot_bytes], &ring_[from * slot_bytes], state_[from] - 1u);
  }
  ring_ = std::move(ring);
  state_ = std::move(state);
  long_ = std::move(longs);
  head_ = 0;
}

void RequestCsv::flush_if_full()
{
  if (buf_.size() < (1 << 16)) return; // pieces that stay in a core's cache until written
  sink_(buf_);
  buf_.clear();
}

void RequestCsv::finish()
{
  if (waiting_ > 0)
    throw std::runtime_error("requests.csv: the row of request " + std::to_string(next_) +
                             " never came (it did not leave the system)");
  sink_(buf_);
  buf_.clear();
}

namespace {
// One part of merge_request_rows, line by line.
class PartLines {
public:
  PartLines(size_t k, const std::function<std::string(size_t)>& next) : k_(k), next_(next) {}
  // The next line, without its newline; false at the part's end.
  bool read(std::string& line)
  {
    for (;;) {
      if (const size_t nl = buf_.find('\n', at_); nl != std::string::npos) {
        line.assign(buf_, at_, nl - at_);
        at_ = nl + 1;
        return true;
      }
      std::string more = next_(k_);
      if (more.empty()) {
        if (at_ < buf_.size()) fail("its last line has no newline");
        return false;
      }
      buf_.erase(0, at_);
      at_ = 0;
      buf_ += more;
    }
  }
  [[noreturn]] void fail(const std::string& why) const
  {
    throw std::runtime_error("requests.csv: part " + std::to_string(k_) + " of the merge: " + why);
  }

private:
  size_t k_;
  const std::function<std::string(size_t)>& next_;
  std::string buf_;
  size_t at_ = 0;
};

long row_id(const std::string& line, const PartLines& part)
{
  long id = -1;
  const auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), id);
  if (ec != std::errc() || end == line.data() + line.size() || *end != ',' || id < 0)
    part.fail("a row that does not start with a request id: \"" + line.substr(0, 40) + "\"");
  return id;
}
} // namespace

void merge_request_rows(size_t parts, const std::function<std::string(size_t)>& next,
                        const std::function<void(const std::string&)>& sink)
{
  std::vector<PartLines> in;
  in.reserve(parts);
  std::vector<std::string> line(parts);
  std::vector<long> id(parts, -1); // of the part's current row; -1: the part has no more
  std::string header, out;
  for (size_t k = 0; k < parts; ++k) {
    PartLines& p = in.emplace_back(k, next);
    std::string h;
    if (!p.read(h) || h.rfind("id,", 0) != 0) p.fail("it does not start with the header line");
    if (k == 0) header = h;
    if (h != header) p.fail("its header differs from part 0's");
    if (p.read(line[k])) id[k] = row_id(line[k], p);
  }
  out = header + '\n';
  for (;;) {
    size_t best = parts;
    for (size_t k = 0; k < parts; ++k)
      if (id[k] >= 0 && (best == parts || id[k] < id[best])) best = k;
    if (best == parts) break;
    for (size_t k = best + 1; k < parts; ++k)
      if (id[k] == id[best]) in[k].fail("request " + std::to_string(id[k]) + " has a row in another part too");
    out += line[best];
    out += '\n';
    if (out.size() >= (1 << 20)) {
      sink(out);
      out.clear();
    }
    const long was = id[best];
    id[best] = -1;
    if (in[best].read(line[best])) {
      id[best] = row_id(line[best], in[best]);
      if (id[best] <= was) in[best].fail("its rows are not in id order");
    }
  }
  sink(out);
}

void write_sessions_csv(const RunResult& r, const std::function<void(const std::string&)>& sink)
{
  if (r.sessions.empty()) return;
  std::string buf = "id,start,end,e2e_s,requests,tool_calls,input_tokens,output_tokens,llm_s,tool_s,tool_queue_s,"
                    "completed\n";
  char line[512];
  for (const SessionRecord& x : r.sessions) {
    std::snprintf(line, sizeof line, "%ld,%.9g,%.9g,%.9g,%ld,%ld,%ld,%ld,%.9g,%.9g,%.9g,%d\n", x.id, x.start, x.end,
                  x.completed() ? x.end - x.start : -1.0, x.requests, x.tool_calls, x.input_tokens, x.output_tokens,
                  x.llm_s, x.tool_s, x.tool_queue_s, int(x.completed()));
    buf += line;
    if (buf.size() > (1 << 20)) {
      sink(buf);
      buf.clear();
    }
  }
  sink(buf);
}

namespace {
std::string brief(double x)
{
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", x);
  return buf;
}
} // namespace

Json run_status(const Scenario& s, const RunResult& r)
{
  const Window& w = r.collector.window;
  // Backlog: requests that arrived in the window and had no first token when it closed.
  const RequestStats& st = r.stats;
  const long in_window = st.measured, backlog = st.backlog, dropped = st.dropped, good = st.good,
             measured = st.measured;
  const auto [e, l] = st.fifths.means(w); // mean TTFT of the first and last fifths of the window
  Json reasons = Json::array();
  std::string verdict = "ok";
  const bool slos = s.slo.ttft_s > 0 || s.slo.tpot_s > 0 || s.slo.e2e_s > 0;
  const double attainment = measured ? double(good) / double(measured) : 0.0;
  if (slos && attainment < 0.99) {
    verdict = "slo_missed";
    reasons.push_back(brief(100 * attainment) + "% of the measured requests meet the SLOs (want 99%)");
  }
  // Unstable: a backlog when the window closes, and time to first token still climbing across the window (a
  // queue that drains shows no trend; one that grows without bound rises by its growth rate x the window).
  if (backlog > std::max(20L, in_window / 20) && l - e > std::max(0.5, 0.05 * w.length())) {
    verdict = "unstable";
    reasons.push_back("unstable: the queue grows without bound (" + std::to_string(backlog) +
                      " requests still waiting for a first token when the window closed; mean TTFT rose from " +
                      brief(e) + " s to " + brief(l) + " s across the window)");
  }
  if (dropped > 0) reasons.push_back(std::to_string(dropped) + " requests dropped (see requests.drop_reasons)");
  return {{"verdict", verdict},
          {"reasons", reasons},
          {"backlog_at_window_end", backlog},
          {"mean_ttft_first_fifth_s", e},
          {"mean_ttft_last_fifth_s", l}};
}

} // namespace fs
