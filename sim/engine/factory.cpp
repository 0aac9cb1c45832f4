#include "factory.hpp"
#include "event_queue.hpp"
#include "fabric_flows.hpp"
#include "host.hpp"
#include "instance.hpp"
#include "kv_tiers.hpp"
#include "memory.hpp"
#include "placement.hpp"
#include "platform.hpp"
#include "pods.hpp"
#include "prefix_cache.hpp"
#include "progress.hpp"
#include "request_pool.hpp"
#include "scan.hpp"
#include "scenario_pods.hpp"
#include "step_time_afd.hpp"
#include "trace_recorder.hpp"
#include "workload.hpp"
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <simgrid/kernel/Timer.hpp>
#include <simgrid/kernel/resource/Action.hpp>
#include <simgrid/kernel/resource/Model.hpp>
#include <span>
#include <unordered_map>

namespace s4u = simgrid::s4u;

namespace fs {

namespace {

// The instances one router chooses among: the entry stages, or the stages a prefill stage hands off to.
struct Group {
  std::vector<Instance*> members;
  std::unique_ptr<Router> router;
  Router::Shortcut shortcut = Router::Shortcut::views;
  std::vector<InstanceView> views;    // scratch
  const EventQueue* events = nullptr; // the factory's: its clock

  // The member that gets `r` among those `fits` accepts (their KV caches can ever hold it); nullptr if none. When
  // `all_fit` (every member accepts it), a router with a shortcut needs no views: a blind pick costs O(1), a least
  // outstanding one O(n / 8 + members whose load went stale) (StaleMin), not a view of every member.
  template <class Fits> Instance* pick(const Request& r, bool all_fit, Fits&& fits)
  {
    if (all_fit && shortcut == Router::Shortcut::blind) return members[router->pick_blind(members.size(), r)];
    if (all_fit && shortcut == Router::Shortcut::least_outstanding) return least_cached();
    views.clear();
    eligible.clear();
    const bool prefix = router->wants_prefix() && !r.spec.prefix_hashes.empty();
    for (Instance* m : members)
      if (fits(m->setup().id)) {
        eligible.push_back(m);
        views.push_back(m->view());
        if (prefix) views.back().cached_prefix_tokens = m->cached_prefix(r);
      }
    if (eligible.empty()) return nullptr;
    return eligible[router->pick(views, r)];
  }
  std::vector<Instance*> eligible; // scratch
  // Least outstanding (index_groups): per member, its outstanding tokens as last read (exact in a double), stale
  // from its fast run's next step end, or at once after an event (Factory::on_changed). The first member wins a tie,
  // as in a scan of every member's view.
  StaleMin least;
  Instance* least_cached()
  {
    const double now = events->now();
    return members[least.argmin(now, [&](size_t k) {
      const auto [v, t] = members[k]->outstanding_and_change(now);
      return std::pair<double, double>(double(v), t);
    })];
  }
  // The smallest KV capacity (tokens) among its members, among its prefill members, and among the decode sides of
  // its prefill members: a request within them fits every member.
  long min_capacity = std::numeric_limits<long>::max(), min_prefill_capacity = min_capacity,
       min_next_capacity = min_capacity;
};

// Per instance, the (group, slot) pairs of the groups it belongs to, all in one array: a vector per instance was a
// cold allocation of its own, missed at every event of a large factory (Factory::on_changed).
class GroupSlots {
public:
  void assign(const std::vector<std::vector<std::pair<Group*, size_t>>>& per_instance)
  {
    first_.assign(1, 0);
    at_.clear();
    for (const auto& v : per_instance) {
      at_.insert(at_.end(), v.begin(), v.end());
      first_.push_back(at_.size());
    }
  }
  std::span<const std::pair<Group*, size_t>> of(int id) const
  {
    return {at_.data() + first_[size_t(id)], at_.data() + first_[size_t(id) + 1]};
  }

private:
  std::vector<size_t> first_; // instance i's pairs: at_[first_[i], first_[i + 1])
  std::vector<std::pair<Group*, size_t>> at_;
};

class Factory : public InstanceListener {
public:
  Factory(const Scenario& s, const PlacementConfig& pc, const RunOptions& opt)
      : s_(s), pc_(pc), trace_(opt.trace), rows_(opt.rows), keep_(opt.keep_requests),
        stats_(s.window.start, s.sim.exact_percentiles_up_to), pods_(s.pods.count), sync_(opt.pods), pod_router_(s.pods)
  {
    TraceRecorder* trace = opt.trace;
    pf_ = build_platform(s);
    // Pods (scenario "pods"): each takes its chips from its own contiguous share of every pool.
    std::vector<std::map<std::string, ChipAllocator>> alloc{size_t(pods_)};
    for (auto& a : alloc)
      for (auto const& p : s.pools)
        a.emplace(p.name, ChipAllocator(p.servers / pods_, p.server.chips_per_server));
    std::map<std::string, std::vector<Instance*>> by_stage;
    std::set<std::string> labels;
    tiers_ = std::make_unique<KvTiers>(s, pf_);
    if (latency_after_ && s.sim.lone_transfers && !tiers_->uses_fabric())
      fabric_ = std::make_unique<FabricFlows>(pf_.link_directions);
    // Events run ahead of SimGrid's clock up to the next thing SimGrid does (simgrid_horizon). Not with KV tiers (their
    // loads and writes are SimGrid activities, started from instances) nor with pods' load snapshots (SimGrid's
    // run_until ends each window).
    if (s.sim.run_ahead && tiers_->stores().empty() && !s.pods.windowed())
      events_.run_ahead_until([this] { return simgrid_horizon(); });
    for (const StageConfig& st : pc.stages) {
      const ServerPool& pool = s.pool(st.pool);
      const ServerSpec& sv = pool.server;
      const MemoryPlan mp = stage_memory(s, st);
      schedulers_.push_back(scheduler_registry().make(st.scheduler.type));
      ReplicaConfig rc{s.model, sv.chip, st.par, st.dtypes, {}, {}};
      rc.links.chips_per_server = sv.chips_per_server;
      rc.links.scaleout_bandwidth = sv.nic_bandwidth_per_chip();
      // Hops between servers at the far ends of the fabric: NIC, leaf, spine, leaf (a fat tree: NIC, edge,
      // aggregation, core, aggregation, edge).
      const int hops = s.fabric.type == "fat_tree" ? 6 : 4;
      rc.links.scaleout_latency_s = 2 * sv.nic.latency_s + hops * s.fabric.link_latency_s();
      if (!st.ffn.pool.empty()) {
        // The FFN chips of every instance first, in the order the scenario check took them.
        const ServerSpec& fs = s.pool(st.ffn.pool).server;
        for (int i = 0; i < st.instances; ++i)
          if (alloc[size_t(pod_of(i, st.instances, pods_))].at(st.ffn.pool).take(st.ffn.chips) < 0)
            throw std::logic_error("FFN chip allocation failed after the scenario check passed");
        FfnSide f;
        f.chip = fs.chip;
        f.chips = st.ffn.chips;
        f.micro_batches = st.ffn.micro_batches;
        f.moe_imbalance = st.par.moe_imbalance;
        // Each side sends through its own NICs: the narrower side bounds the transfer.
        f.bandwidth =
            std::min(st.par.chips() * sv.nic_bandwidth_per_chip(), st.ffn.chips * fs.nic_bandwidth_per_chip());
        f.latency_s = sv.nic.latency_s + fs.nic.latency_s + hops * s.fabric.link_latency_s();
        rc.ffn = f;
      }
      // One step-time model for the stage's instances (one config): what it reads stays in cache. Its scratch and
      // memo are safe to share: actors run one at a time, and no model call yields.
      const std::shared_ptr<const StepTimeModel> model(rc.ffn ? std::make_unique<AfdStepTime>(rc)
                                                              : step_time_registry().make(sv.chip.step_time_model, rc));
      labels.insert(model->calibration_label());
      for (int i = 0; i < st.instances; ++i) {
        const int pod = pod_of(i, st.instances, pods_);
        const int server = alloc[size_t(pod)].at(st.pool).take(st.par.chips());
        if (server < 0) throw std::logic_error("chip allocation failed after the scenario check passed");
        InstanceSetup setup;
        setup.id = int(instances_.size());
        setup.name = st.name + std::to_string(i);
        setup.stage = st.name;
        setup.pool = st.pool;
        setup.chip = sv.chip.name;
        setup.role = st.role;
        setup.par = st.par;
        setup.host = pf_.servers.at(st.pool).at(size_t(pod * (pool.servers / pods_) + server));
        setup.kv_capacity_tokens = mp.kv_tokens;
        setup.exact = s.sim.mode == "exact";
        setup.ffn_pool = st.ffn.pool;
        setup.kv_bytes_per_token = kv_bytes_per_token(s.model, st.dtypes.kv);
        setup.ffn_chips = st.ffn.chips;
        setup.trace = trace;
        setup.events = &events_;
        if (trace) trace->instance(setup.id, setup.name, setup.stage);
        if (s.kv_cache.enabled()) {
          PrefixConfig pc;
          pc.chunk_tokens = s.prefix_block_tokens;
          pc.chunk_bytes = double(pc.chunk_tokens) * setup.kv_bytes_per_token;
          pc.link_bandwidth = st.par.chips() * s.kv_cache.host_link_gb_per_s * 1e9;
          pc.net_bandwidth = st.par.chips() * sv.nic_bandwidth_per_chip();
          pc.below = tiers_->below_hbm(setup.host);
          pc.offload_preempted = s.kv_cache.offload_preempted;
          setup.prefix = pc;
        }
        instances_.push_back(
            std::make_unique<Instance>(setup, st.scheduler, *schedulers_.back(), model, collector_, *this));
        const long B = st.scheduler.block_size_tokens;
        capacity_.push_back(mp.kv_tokens / B * B);
        by_stage[st.name].push_back(instances_.back().get());
        pod_of_.push_back(pod);
      }
    }
    uint64_t router_seed = s.seed;
    // Each pod has its own groups (and routers): a request stays in its pod.
    auto make_group = [&](const std::vector<const StageConfig*>& stages, int pod) {
      auto g = std::make_unique<Group>();
      g->events = &events_;
      g->router = router_registry().make(s.router, ++router_seed);
      for (const StageConfig* st : stages)
        for (Instance* m : by_stage[st->name])
          if (pod_of_[size_t(m->setup().id)] == pod) g->members.push_back(m);
      return g;
    };
    std::vector<const StageConfig*> entry;
    for (const StageConfig& st : pc.stages)
      if (pc.is_entry(st)) entry.push_back(&st);
    next_.resize(size_t(pods_));
    for (int pod = 0; pod < pods_; ++pod) {
      entry_.push_back(make_group(entry, pod));
      for (const StageConfig& st : pc.stages) {
        if (st.to.empty()) continue;
        std::vector<const StageConfig*> next;
        for (const std::string& t : st.to)
          next.push_back(&pc.stage(t));
        next_[size_t(pod)][st.name] = make_group(next, pod);
      }
    }
    // What the decode side of each prefill instance can hold at most.
    next_capacity_.assign(instances_.size(), 0);
    for (int pod = 0; pod < pods_; ++pod)
      for (Instance* m : entry_[size_t(pod)]->members)
        if (m->setup().role == Role::prefill)
          for (Instance* d : next_[size_t(pod)].at(m->setup().stage)->members)
            next_capacity_[m->setup().id] = std::max(next_capacity_[m->setup().id], capacity_[d->setup().id]);
    for (int pod = 0; pod < pods_; ++pod)
      for (Instance* m : entry_[size_t(pod)]->members) {
        const int id = m->setup().id;
        Group& g = *entry_[size_t(pod)];
        if (m->setup().role != Role::prefill) {
          g.min_capacity = std::min(g.min_capacity, capacity_[id]);
          continue;
        }
        g.min_prefill_capacity = std::min(g.min_prefill_capacity, capacity_[id]);
        g.min_next_capacity = std::min(g.min_next_capacity, next_capacity_[id]);
      }
    for (auto& groups : next_)
      for (auto& [stage, g] : groups)
        for (Instance* m : g->members)
          g->min_capacity = std::min(g->min_capacity, capacity_[m->setup().id]);
    index_groups(s.sim.index_routers);
    watch_transfers();
    for (auto const& l : labels)
      calibration_ += (calibration_.empty() ? "" : ",") + l;
    // One FCFS queue per CPU pool: host work and tool calls share the cores of one pool.
    for (const std::string& p : {s.host.pool, s.tool_pool})
      if (!p.empty()) cpu_.try_emplace(p, s.pool(p).cpu_cores(), s.window.start, s.window.end);
    if (s.host.enabled()) host_ = &cpu_.at(s.host.pool);
    if (!s.tool_pool.empty()) tools_ = &cpu_.at(s.tool_pool);
  }

  ~Factory() override
  {
    current_ = nullptr;
    instances_.clear(); // they cancel their events; events_ removes its kernel timer when destroyed
  }

  RunResult run()
  {
    RunResult res;
    res.placement = pc_.name;
    collector_.window.start = s_.window.start; // checked when the scenario was parsed
    collector_.window.end = s_.window.end;     // +inf while the run decides it
    if (s_.requests)
      src_ = list_source(vector_stream(s_.requests));
    else if (s_.list)
      src_ = list_source(s_.workload.generator->stream(s_.seed));
    else
      src_ = s_.workload.generator->source({s_.seed, s_.sim.max_requests, tools_});
    for (auto& inst : instances_)
      inst->start();
    // The source runs on kernel timers like the instances; one actor waits until it is done, so that SimGrid's run
    // lasts until then (it ends when only daemon actors are left) and reports a deadlock if requests stall.
    source_at(0.0);
    s4u::Actor::create("factory", pf_.servers.begin()->second.front(), [this] {
      std::unique_lock lock(*mutex_);
      while (!source_done_)
        cv_->wait(lock);
    });
    progress_.emplace(pc_.name,
                      s_.requests ? long(s_.requests->size())
                      : s_.list   ? s_.list->count
                                  : 0,
                      s_.requests && !s_.requests->empty() ? s_.requests->back().arrival
                      : s_.list                            ? s_.list->last_arrival
                                                           : std::numeric_limits<double>::infinity());
    const auto t0 = std::chrono::steady_clock::now();
    run_engine();
    progress_->clear();
    if (failure_) std::rethrow_exception(failure_);
    res.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    res.simulated_s = events_.now();
    for (auto& inst : instances_) {
      const InstanceSetup& su = inst->setup();
      res.instances.push_back({su.name, su.stage, su.pool, su.chip, su.role, su.par, su.kv_capacity_tokens,
                               inst->stats(), su.ffn_pool, pod_of_[size_t(su.id)]});
    }
    if (s_.window.rule == "makespan" || std::isinf(collector_.window.end)) {
      // An offline batch is measured until its last request finished: nothing was counted after that.
      collector_.window.end =
          std::max(collector_.window.start, s_.window.rule == "makespan" ? last_finish_ : last_arrival_);
    }
    res.collector = collector_;
    if (host_) res.host = {s_.host.pool, host_->cores(), host_->busy_core_s()};
    res.kv = kv_report();
    if (tools_) res.tools = {s_.tool_pool, tools_->cores(), tools_->busy_core_s()};
    res.events = collector_.events;
    res.kv_pulls_lone = kv_pulls_lone_;
    res.instants_ahead = events_.ran_ahead();
    res.instants_ahead_of_pulls = events_.ran_ahead_of_simgrid();
    res.simgrid_waits = events_.waited();
    res.kv_pulls_shared = kv_pulls_shared_;
    res.peak_requests_held = long(store_.made());
    res.pod_picks = pod_picks_;
    res.pod_live_picks = pod_live_picks_;
    res.calibration = calibration_;
    res.sessions = src_->sessions();
    res.stats = std::move(stats_);
    if (keep_) {
      std::sort(kept_.begin(), kept_.end(),
                [](auto const& a, auto const& b) { return a.first.spec.id < b.first.spec.id; });
      for (auto& [r, session] : kept_) {
        if (!res.sessions.empty()) res.request_session.push_back(session);
        res.requests.push_back(std::move(r));
      }
    }
    return res;
  }

  // Pods with load snapshots (pods.sync_s): the engine runs in windows of sync_s; at the end of each, every pod's load
  // is taken (and summed over the processes sharing the pods), for the global router's picks in the next window.
  void run_engine()
  {
    s4u::Engine* e = s4u::Engine::get_instance();
    if (!s_.pods.windowed()) {
      e->run();
      return;
    }
    for (long k = 1;; ++k) {
      e->run_until(double(k) * s_.pods.sync_s);
      std::vector<double> load = pod_loads();
      if (sync_) sync_->sum(load);
      pod_router_.snapshot(load);
      // SimGrid's run_until moves the clock to the window's end even when nothing is left to happen: a stalled
      // engine (requests that never finish) would loop here forever. Stop, and let run() below report it.
      const bool over = source_done_ || stalled();
      if (sync_ ? sync_->all(over) : over) break;
    }
    e->run();
  }

  // Nothing can happen anymore: no event (source, instances, capped pulls), no transfer, no tier load or write.
  bool stalled() const { return events_.empty() && pulls_.empty() && !tiers_->busy(); }

  // Each pod's outstanding tokens now: this process's pods (zero for the others').
  std::vector<double> pod_loads() const
  {
    std::vector<double> load(size_t(pods_), 0.0);
    for (size_t id = 0; id < instances_.size(); ++id)
      if (!sync_ || sync_->mine(pod_of_[id])) load[size_t(pod_of_[id])] += double(instances_[id]->outstanding_now());
    return load;
  }

  void on_prefilled(Instance& from, Request* r) override
  {
    const long need = r->context + r->remaining_output();
    Group& g = *next_[size_t(pod_of_[size_t(from.id())])].at(from.setup().stage);
    Instance* to = g.pick(*r, need <= g.min_capacity, [&](int id) { return capacity_[id] >= need; });
    if (!to) throw std::logic_error("no decode instance can hold a request that passed the arrival check");
    r->instances += ">" + to->setup().name;
    r->holder = from.id();
    to->submit_handoff(r);
  }

  void start_pull(Instance& to, Request* r) override
  {
    r->decode_admitted = events_.now();
    Instance* from = instances_.at(r->holder).get();
    // The sender's layout and dtype go over the wire; the decode side holds the tokens in its own.
    const double bytes = double(r->context) * from->setup().kv_bytes_per_token;
    s4u::Host* src = from->setup().host;
    s4u::Host* dst = to.setup().host;
    // Each chip sends its shard of the KV over its own links, so a pull runs as wide as the smaller instance:
    // its chips' share of the NICs across servers, their scale-up links inside one.
    const double lanes = std::min(from->setup().par.chips(), to.setup().par.chips());
    const ServerSpec& sv = s_.pool(from->setup().pool).server;
    const double nvlink = lanes * sv.chip.scaleup.bandwidth, nic_rate = lanes * sv.nic_bandwidth_per_chip();
    KvJob job{from, &to, r, bytes, nullptr, 0, 0};
    const double now = events_.now();
    if (src == dst) { // same server: scale-up links (no contention modelled)
      events_.at(now + bytes / nvlink, [this, job]() mutable { guarded([&] { pulled(job); }); });
      return;
    }
    // The transfer shares the servers' NIC links and the rack uplinks with every other one; it cannot go faster
    // than its chips' NICs, which SimGrid 3.32 cannot cap for a host-to-host transfer (Comm::set_rate is not passed
    // on), so a transfer that finished sooner waits out the difference.
    const double latency = route_latency(src, dst);
    job.capped = now + latency + bytes / nic_rate;
    if (latency_after_) job.latency = latency;
    // A transfer of 0 bytes would never start in SimGrid.
    const double wire = double(std::max<uint64_t>(1, uint64_t(bytes)));
    if (fabric_) {
      route_hops(src, dst, hops_);
      fabric_->lone_on(hops_, lone_ids_);
      for (long id : lone_ids_) // a lone pull whose bytes are through holds no link any more
        if (LonePull& l = lone_.at(id); l.moved_at <= now) release_links(l);
      if (fabric_->free(hops_)) {
        start_lone(std::move(job), wire, now);
        return;
      }
      for (long id : lone_ids_)
        if (!lone_.at(id).released) to_network_model(id, now);
      fabric_->add(hops_, -1);
    }
    start_comm(std::move(job), wire);
  }

  void on_changed(Instance& i) override
  {
    for (auto [g, k] : scanned_by_.of(i.id()))
      g->least.mark_stale(k);
  }

  void start_loads(Instance& to, int ve, const std::vector<TierLoad>& loads) override
  {
    tiers_->load(to.setup().host, loads, [&to, ve] { to.loads_done(ve); });
  }

  void flush_writes(Instance& from) override { tiers_->flush(from.setup().host); }

  void on_finished(Request* r) override
  {
    if (host_) {
      // Detokenising and streaming the output, as one job when the last token leaves the accelerators: its wait
      // for a core (an overloaded host pool) delays the response's end.
      const double work = s_.host.work().after_s(r->spec.output_tokens);
      const CoreQueue::Job j = host_->submit(r->finish, work);
      r->host_queue_s += j.wait(r->finish);
      r->host_work_s += work;
      r->finish = j.finish;
    }
    finished(*r, r->finish);
  }

private:
  // `r` completed at `t` (or was dropped): a source that creates requests as the run goes may send more.
  // It is counted, its row written, and its slot reused by a later arrival.
  void finished(Request& r, double t)
  {
    ++done_;
    progress_->tick(t, long(done_));
    stats_.add(r, collector_.window, s_.slo, host_ != nullptr);
    last_finish_ = std::max(last_finish_, r.finish);
    last_arrival_ = std::max(last_arrival_, r.spec.arrival);
    const long session = src_->session_of(r.spec.id);
    if (rows_) rows_->request_done(r, session);
    if (keep_) kept_.push_back({r, session});
    src_->finished(r.spec.id, t, r.dropped.empty());
    store_.give(&r);
    if (src_->reactive() || done_ == arrived_) wake_source();
  }

  // A slot for a request that arrives: one that left the system, else a new one (pointers into store_ stay valid).
  Request& new_request(RequestSpec&& spec)
  {
    ++arrived_;
    Request* r = store_.take();
    r->spec = std::move(spec);
    return *r;
  }

  // Arrivals in order, as the source gives them; with host work, each first waits for a host core to handle and
  // tokenise it, and enters the accelerators when that is done (in the order those finish). Wakes at the next
  // arrival, or when a request finishes if that can create one. An exception (a workload sending past
  // sim.max_requests) ends the run and is thrown from run().
  void source_wake()
  {
    source_listening_ = false;
    collector_.events++;
    try {
      if (source_step()) return;
    } catch (...) {
      failed(std::current_exception());
      return;
    }
    source_done_ = true;
    cv_->notify_one();
  }

  // What a timer runs: an exception must not escape into SimGrid's kernel (it would abort the process).
  template <class F> void guarded(F&& f)
  {
    try {
      f();
    } catch (...) {
      failed(std::current_exception());
    }
  }

  // The run failed (the first error is kept): nothing more happens but the transfers under way, and run() throws it.
  void failed(std::exception_ptr e) override
  {
    if (!failure_) failure_ = e;
    for (auto& inst : instances_)
      inst->halt();
    events_.cancel(source_timer_);
    source_timer_ = {};
    source_listening_ = false;
    if (!source_done_) {
      source_done_ = true;
      cv_->notify_one();
    }
  }

  // One wake-up of the source; true while it has more to do (its timer or listening set).
  bool source_step()
  {
    const double now = events_.now();
    while (std::optional<RequestSpec> spec = src_->take(now)) {
      int pod = 0;
      if (pods_ > 1) { // the global router; another rank's pods take the arrival there
        if (s_.pods.live()) pod_router_.snapshot(pod_loads());
        pod = pod_router_.pick(double(spec->input_tokens + spec->output_tokens));
        // How often the snapshot's pick is the live one: every arrival's live loads read every instance, so a large
        // factory compares a sample (every live_check_every-th routed arrival; RunResult::pod_picks says how many).
        if (s_.pods.windowed() && !sync_ && routed_++ % live_check_every() == 0) {
          const std::vector<double> live = pod_loads();
          pod_picks_++;
          pod_live_picks_ += live[size_t(pod)] == *std::min_element(live.begin(), live.end());
        }
        if (sync_ && !sync_->mine(pod)) {
          if (rows_) rows_->request_elsewhere(spec->id);
          continue;
        }
      }
      Request& r = new_request(std::move(*spec));
      if (!host_) {
        admit(r, pod);
        continue;
      }
      const double work = s_.host.work().before_s(r.spec.input_tokens);
      const CoreQueue::Job j = host_->submit(r.spec.arrival, work);
      r.host_queue_s = j.wait(r.spec.arrival);
      r.host_work_s = work;
      ready_.emplace(j.finish, &r);
    }
    note_stop();
    for (; !ready_.empty() && ready_.top().first <= now; ready_.pop())
      admit(*ready_.top().second);
    if (src_->exhausted() && ready_.empty() && done_ == arrived_) return false;
    const double next =
        std::min(src_->next_time(), ready_.empty() ? std::numeric_limits<double>::infinity() : ready_.top().first);
    if (!std::isinf(next)) source_at(next);
    // A list's next arrival alone wakes it, unless every request arrived: then the last finish does.
    source_listening_ = src_->reactive() || std::isinf(next);
    return true;
  }

  // A finish (or drop) may let the source send more: it wakes in this instant (its timer, if any, is replaced).
  void wake_source()
  {
    if (!source_listening_) return;
    source_listening_ = false;
    events_.cancel(source_timer_);
    source_at(events_.now());
  }

  // The source's next wake-up, at t (it has none pending).
  void source_at(double t)
  {
    source_timer_ = events_.at(t, [this] {
      source_timer_ = {};
      source_wake();
    });
  }

  // SimGrid's signals are process-wide and cannot be disconnected: one callback, connected once, passes a network
  // action's state change to the factory whose run is under way.
  static inline Factory* current_ = nullptr;
  void watch_transfers()
  {
    static const bool connected = [] {
      s4u::Link::on_communication_state_change_cb(
          [](simgrid::kernel::resource::NetworkAction& na, simgrid::kernel::resource::Action::State) {
            // A NetworkAction is an Action (its only base; its class is not in SimGrid's public headers).
            if (current_) current_->on_comm_state(reinterpret_cast<simgrid::kernel::resource::Action&>(na));
          });
      return true;
    }();
    (void)connected;
    current_ = this;
  }

  // One KV pull, from start to the decode side having it. No actor runs it: the transfer starts from the instance's
  // wake-up, and its end is seen by a callback on the network model's actions (on_comm_state).
  struct KvJob {
    Instance* from;
    Instance* dest;
    Request* r;
    double bytes;
    s4u::CommPtr comm; // held until the pull is over (dropping a running one would cancel it)
    double capped;     // its end at its chips' NIC rate
    double latency;    // added to the end SimGrid reports (latency_after_transfer), else 0
  };

  // A lone pull (fabric_flows.hpp): its job, when it started, at what rate, how many bytes.
  struct LonePull {
    KvJob job;
    double start, rate, wire;
    double moved_at;        // when its last byte arrives at that rate
    EventQueue::Handle end; // lone_done
    bool released;          // its links freed (moved_at passed before its end)
  };

  // Started now (we run in SimGrid's kernel), once SimGrid's clock is here (events may have run ahead of it); its end
  // is seen by on_comm_state.
  void start_comm(KvJob job, double wire)
  {
    events_.in_simgrid([this, job = std::move(job), wire]() mutable {
      guarded([&] { // it may run from the event queue itself (deferred), outside any wake-up's guard
        job.comm = s4u::Comm::sendto_async(job.from->setup().host, job.dest->setup().host, uint64_t(wire));
        pulls_.emplace(job.comm->get_impl(), std::move(job));
      });
    });
  }

  // A pull alone on every link of its route (hops_, FabricFlows): at its route's slowest link, as SimGrid's max-min
  // sharing would run it, until another pull needs one of its links.
  void start_lone(KvJob job, double wire, double now)
  {
    double rate = std::numeric_limits<double>::infinity();
    for (const FabricHop& h : hops_)
      rate = std::min(rate, h.bandwidth);
    const long id = next_lone_++;
    fabric_->add(hops_, id);
    const double moved = now + wire / rate;
    const double end = std::max(moved + job.latency, job.capped);
    LonePull& l = lone_.emplace(id, LonePull{std::move(job), now, rate, wire, moved, {}, false}).first->second;
    l.end = events_.at(end, [this, id] { guarded([&] { lone_done(id); }); });
  }

  void release_links(LonePull& l)
  {
    route_hops(l.job.from->setup().host, l.job.dest->setup().host, lone_hops_);
    fabric_->remove(lone_hops_);
    l.released = true;
  }

  // A lone pull's links are wanted by another: it goes on in SimGrid with the bytes it has left (its NIC cap and
  // route latency unchanged), sharing them from now on.
  void to_network_model(long id, double now)
  {
    auto it = lone_.find(id);
    LonePull l = std::move(it->second);
    lone_.erase(it);
    events_.cancel(l.end);
    route_hops(l.job.from->setup().host, l.job.dest->setup().host, lone_hops_);
    fabric_->to_network_model(lone_hops_);
    start_comm(std::move(l.job), std::max(1.0, std::ceil(l.wire - l.rate * (now - l.start))));
  }

  void lone_done(long id)
  {
    auto it = lone_.find(id);
    LonePull l = std::move(it->second);
    lone_.erase(it);
    if (!l.released) release_links(l);
    kv_pulls_lone_++;
    pulled(l.job);
  }

  // How far events may run ahead of SimGrid's clock: +inf without a KV pull in its network model, else a margin before
  // its next action event (a pull's latency or transfer ends, SimGrid's lazy heap of them) or kernel timer. Our events
  // before it change nothing there, except for starting pulls, which wait for SimGrid's clock (EventQueue::in_simgrid);
  // an action ending at our event's instant would come first in SimGrid's round, hence the margin (its timing
  // precision is 1e-9 s). The network model is known from the first pull that ended (an Action's model is public API,
  // the model's class is not); until then, -inf: no running ahead with pulls in flight.
  double simgrid_horizon()
  {
    constexpr double inf = std::numeric_limits<double>::infinity(), margin = 1e-6;
    if (pulls_.empty()) return inf;
    if (!net_model_ || !net_model_->next_occurring_event_is_idempotent()) return -inf;
    const double now = s4u::Engine::get_clock();
    // What SimGrid's next round computes first, at the same clock (SimGrid declares it idempotent for this model).
    const double next = net_model_->next_occurring_event(now);
    double h = next >= 0 ? now + next : inf;
    if (const double timer = simgrid::kernel::timer::Timer::next(); timer >= 0) h = std::min(h, timer);
    return h - margin;
  }

  // A network action changed state (SimGrid calls this from its model update, for every transfer): a pull's transfer
  // that finished ends the pull, at once or when its NIC rate allows.
  void on_comm_state(simgrid::kernel::resource::Action& a)
  {
    using State = simgrid::kernel::resource::Action::State;
    if (a.get_state() == State::FAILED && pulls_.count(a.get_activity())) {
      failed(std::make_exception_ptr(std::runtime_error("a KV transfer failed in the network model")));
      return;
    }
    if (a.get_state() != State::FINISHED) return;
    done_comms_.clear(); // a model update comes after the kernel finished the activities of the previous one
    auto it = pulls_.find(a.get_activity());
    if (it == pulls_.end()) return; // a tier load or write
    net_model_ = a.get_model();
    KvJob job = std::move(it->second);
    pulls_.erase(it);
    kv_pulls_shared_++;
    if (fabric_) {
      route_hops(job.from->setup().host, job.dest->setup().host, lone_hops_);
      fabric_->remove(lone_hops_);
    }
    // Its end is an event (pulled), which runs before the kernel finishes the transfer's activity: see pulled.
    events_.at(std::max(a.get_finish_time() + job.latency, job.capped),
               [this, job]() mutable { guarded([&] { pulled(job); }); });
  }

  void pulled(KvJob& j)
  {
    // Events (a kernel timer) run before the kernel finishes the activities that ended in the same update: the transfer
    // is released at the next one (on_comm_state).
    if (j.comm) done_comms_.push_back(std::move(j.comm));
    collector_.events++;
    if (trace_)
      trace_->kv_transfer(j.r->spec.id, j.from->setup().id, j.dest->setup().id, j.r->decode_admitted, events_.now(),
                          j.bytes);
    j.r->kv_bytes_transferred += j.bytes;
    j.from->kv_released(j.r);
    j.dest->kv_arrived(j.r);
  }

  // Groups whose router takes the least outstanding instance: a pick compares their members' loads as last read,
  // refreshing those whose view changed since (Group::least_cached): those that had an event or a wake-up, and those
  // in a fast run that passed a step's end (their views change with the clock alone). With `on` false (tests), every
  // pick builds every view.
  void index_groups(bool on)
  {
    std::vector<std::vector<std::pair<Group*, size_t>>> scanned_by(instances_.size());
    std::vector<Group*> groups;
    for (int pod = 0; pod < pods_; ++pod) {
      groups.push_back(entry_[size_t(pod)].get());
      for (auto& [stage, g] : next_[size_t(pod)])
        groups.push_back(g.get());
    }
    for (Group* g : groups) {
      g->shortcut = on ? g->router->shortcut() : Router::Shortcut::views;
      if (g->shortcut != Router::Shortcut::least_outstanding) continue;
      g->least = StaleMin(g->members.size());
      for (size_t k = 0; k < g->members.size(); ++k)
        scanned_by[size_t(g->members[k]->setup().id)].emplace_back(g, k);
    }
    scanned_by_.assign(scanned_by);
  }

  // A workload stopped by a count ends the measured window when it stopped: nothing after it was counted yet.
  void note_stop()
  {
    const double end = src_->stopped_at() - s_.sim.cooldown_s;
    if (s_.window.rule != "stop" || !(end < collector_.window.end)) return;
    collector_.window.end = end;
    for (auto& [name, q] : cpu_)
      q.set_window_end(end);
  }

  KvHierarchyReport kv_report() const
  {
    KvHierarchyReport k;
    k.enabled = s_.kv_cache.enabled();
    if (!k.enabled) return k;
    k.capacity_bytes = tiers_->capacity_bytes();
    for (auto const& inst : instances_) {
      const InstanceStats st = inst->stats();
      k.lookups += st.prefix_lookups;
      k.cached_tokens += st.cached_tokens;
      k.restored_tokens += st.restored_tokens;
      TierStats& h = k.tiers[size_t(KvTier::hbm)];
      h.hit_chunks += st.hbm.hit_chunks;
      h.stored_chunks += st.hbm.stored_chunks;
      h.evicted_chunks += st.hbm.evicted_chunks;
      k.capacity_bytes[size_t(KvTier::hbm)] +=
          double(inst->setup().kv_capacity_tokens) * inst->setup().kv_bytes_per_token;
    }
    for (auto const& st : tiers_->stores()) {
      TierStats& t = k.tiers[size_t(st->tier)];
      t.hit_chunks += st->stats.hit_chunks;
      t.loaded_bytes += st->stats.loaded_bytes;
      t.stored_chunks += st->stats.stored_chunks;
      t.evicted_chunks += st->stats.evicted_chunks;
    }
    return k;
  }

  // Hands an arrived (and, with host work, tokenised) request to an entry instance of its pod, or drops it.
  void admit(Request& r, int pod = 0)
  {
    const long need = r.spec.input_tokens + r.spec.output_tokens;
    if (need > s_.model.max_context_tokens) {
      drop(r, "input + output = " + std::to_string(need) + " tokens exceed the model's max context of " +
                  std::to_string(s_.model.max_context_tokens));
      return;
    }
    r.target_prefill = r.spec.input_tokens;
    Instance* to = pick_entry(r, need, pod);
    if (!to) {
      drop(r, "needs " + std::to_string(need) + " KV tokens; no instance of placement \"" + pc_.name +
                  "\" can hold that many");
      return;
    }
    r.instances = to->setup().name;
    to->submit(&r);
  }

  // An entry instance whose cache holds what it must: the whole request, or for a prefill instance the prompt,
  // with a decode side that holds the whole request.
  Instance* pick_entry(const Request& r, long need, int pod)
  {
    const long prompt = r.spec.input_tokens;
    Group& g = *entry_[size_t(pod)];
    const bool all_fit = need <= g.min_capacity && prompt <= g.min_prefill_capacity && need <= g.min_next_capacity;
    return g.pick(r, all_fit, [&](int id) {
      if (instances_[id]->setup().role == Role::prefill) return capacity_[id] >= prompt && next_capacity_[id] >= need;
      return capacity_[id] >= need;
    });
  }

  void drop(Request& r, const std::string& why)
  {
    r.dropped = why;
    finished(r, events_.now());
  }

  const Scenario& s_;
  const PlacementConfig& pc_;
  TraceRecorder* trace_;
  Platform pf_;
  std::vector<std::unique_ptr<Scheduler>> schedulers_;
  EventQueue events_; // before instances_: they cancel their events when destroyed
  std::vector<std::unique_ptr<Instance>> instances_;
  std::vector<long> capacity_;                                      // KV tokens each instance holds, whole blocks
  std::vector<std::unique_ptr<Group>> entry_;                       // per pod
  std::vector<std::map<std::string, std::unique_ptr<Group>>> next_; // per pod: prefill stage -> its decode instances
  std::vector<long> next_capacity_;      // per prefill instance: the largest cache among its decode instances
  GroupSlots scanned_by_;                // per instance: the least-outstanding groups and slots (index_groups)
  std::map<std::string, CoreQueue> cpu_; // per CPU pool doing host work or tool calls: its cores
  CoreQueue* host_ = nullptr;            // the host pool's (scenario "host")
  CoreQueue* tools_ = nullptr;           // the tool pool's (agent graphs)
  std::unique_ptr<KvTiers> tiers_;       // KV tiers under accelerator memory
  Collector collector_;
  std::unique_ptr<RequestSource> src_;
  // Requests in flight (instances hold pointers into it), and the slots of those that left, reused: the run's memory
  // follows what is in flight, not its length.
  RequestPool store_;
  size_t arrived_ = 0, done_ = 0; // requests that arrived; of them, completed or dropped
  double last_finish_ = -1, last_arrival_ = -1;
  RequestSink* rows_;
  bool keep_;                                  // RunOptions::keep_requests: a copy of each in kept_
  std::vector<std::pair<Request, long>> kept_; // with its session
  RequestStats stats_;
  std::string calibration_;
  // The source's timer (its next arrival or host-queue finish, or this instant), whether a finish wakes it, the
  // requests waiting for a host core to finish their tokenising, what it threw; the waiting actor's mutex and cv.
  EventQueue::Handle source_timer_;
  bool source_listening_ = false;
  std::priority_queue<std::pair<double, Request*>, std::vector<std::pair<double, Request*>>, std::greater<>> ready_;
  std::exception_ptr failure_;
  s4u::MutexPtr mutex_ = s4u::Mutex::create();
  s4u::ConditionVariablePtr cv_ = s4u::ConditionVariable::create();
  std::optional<Progress> progress_;             // a line on stderr when it is a terminal
  std::unordered_map<const void*, KvJob> pulls_; // KV pulls whose transfer runs, by its kernel activity
  // SimGrid's network model, once a pull ended (simgrid_horizon).
  simgrid::kernel::resource::Model* net_model_ = nullptr;
  std::vector<s4u::CommPtr> done_comms_; // transfers of pulls that ended, released at the next update
  // Lone pulls (fabric_flows.hpp): null when every cross-server pull runs in SimGrid (the network model is not CM02,
  // a KV tier moves bytes over the fabric too, or a test turned them off).
  std::unique_ptr<FabricFlows> fabric_;
  std::unordered_map<long, LonePull> lone_;
  long next_lone_ = 0;
  long kv_pulls_lone_ = 0, kv_pulls_shared_ = 0;          // RunResult's
  std::vector<FabricHop> hops_, lone_hops_;               // scratch
  std::vector<long> lone_ids_;                            // scratch
  const bool latency_after_ = latency_after_transfer(s_); // per the scenario: not a string compare per pull
  // Pods (scenario "pods"): their number, each instance's pod, the processes sharing them (null: one), the global
  // router, whether the source is done.
  int pods_;
  std::vector<int> pod_of_;
  PodSync* sync_;
  PodRouter pod_router_;
  bool source_done_ = false;
  long pod_picks_ = 0, pod_live_picks_ = 0; // RunResult::pod_picks, pod_live_picks
  long routed_ = 0;                         // arrivals the global router placed
  // Live-agreement checks: every arrival up to 256 instances, then about 256 instance reads per arrival on average.
  long live_check_every() const { return std::max<long>(1, (long(instances_.size()) + 255) / 256); }
};

} // namespace

namespace {
constexpr long large_factory_instances = 16'000; // instances past which stacks go without guard pages (see below)
} // namespace

RunResult run_placement(const Scenario& s, size_t placement_index, const RunOptions& opt)
{
  int argc = 2;
  char arg0[] = "factorysim";
  char arg1[] = "--log=root.thresh:warning"; // SimGrid's own info lines are noise in reports
  char* argv[] = {arg0, arg1, nullptr};
  s4u::Engine engine(&argc, argv);
  configure_network(s);
#ifdef FS_SIMGRID_CONTEXTS
  s4u::Engine::set_config(std::string("contexts/factory:") + FS_SIMGRID_CONTEXTS); // a sanitizer build
#else
  s4u::Engine::set_config("contexts/factory:raw"); // fastest context switching on Linux
#endif
  // Each actor's stack is a memory mapping, and its guard page another that keeps it from merging with the next:
  // past ~32,000 actors Linux's default vm.max_map_count (65,530) is exhausted and the run aborts. Instances and KV
  // pulls have no actor, but KV tier workers number the loads in flight at once, which grow with the factory: large
  // factories run without guard pages (the stacks then merge; an actor's stack stays 8 MiB, far above what it uses).
  long instances = 0;
  for (const StageConfig& st : s.placements.at(placement_index).stages)
    instances += st.instances;
  if (instances > large_factory_instances) s4u::Engine::set_config("contexts/guard-size:0");
  Factory f(s, s.placements.at(placement_index), opt);
  return f.run();
}

} // namespace fs
