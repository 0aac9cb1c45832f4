#include "factory.hpp"
#include "instance.hpp"
#include "memory.hpp"
#include "platform.hpp"
#include "router.hpp"
#include <chrono>
#include <mutex>
#include <set>

namespace s4u = simgrid::s4u;

namespace fs {

namespace {

// GPU slots per server; an instance takes tp*pp GPUs on one server, or whole servers when larger.
class GpuAllocator {
public:
  GpuAllocator(int servers, int per_server) : free_(servers, per_server), per_server_(per_server) {}
  int take(int gpus) // server index of the instance's first GPU, -1 if none left
  {
    if (gpus <= per_server_) {
      for (size_t i = 0; i < free_.size(); ++i)
        if (free_[i] >= gpus) {
          free_[i] -= gpus;
          return int(i);
        }
      return -1;
    }
    const int whole = (gpus + per_server_ - 1) / per_server_;
    for (size_t i = 0; i + whole <= free_.size(); ++i) {
      bool ok = true;
      for (int j = 0; j < whole; ++j)
        ok = ok && free_[i + j] == per_server_;
      if (ok) {
        for (int j = 0; j < whole; ++j)
          free_[i + j] = 0;
        return int(i);
      }
    }
    return -1;
  }

private:
  std::vector<int> free_;
  int per_server_;
};

struct Group {
  Role role;
  std::vector<Instance*> members;
  std::unique_ptr<Router> router;
  long kv_capacity = 0; // smallest of its members

  Instance* pick(const Request& r)
  {
    std::vector<long> load(members.size());
    for (size_t i = 0; i < members.size(); ++i)
      load[i] = members[i]->outstanding();
    return members[router->pick(load, r)];
  }
};

class Factory : public InstanceListener {
public:
  Factory(const Scenario& s, const PlacementConfig& pc) : s_(s), pc_(pc)
  {
    pf_ = build_platform(s);
    sched_ = scheduler_registry().make(s.scheduler.type);
    kv_bytes_per_token_ = kv_bytes_per_token(s.model, s.dtypes.kv);
    const bool exact = s.sim.mode == "exact";
    std::map<std::string, GpuAllocator> alloc;
    for (auto const& p : s.pools)
      alloc.emplace(p.name, GpuAllocator(p.servers, p.server.gpus_per_server));
    uint64_t router_seed = s.seed;
    std::set<std::string> labels;
    for (const InstanceGroup& g : pc.groups) {
      const ServerPool& pool = s.pool(g.pool);
      Group grp{g.role, {}, router_registry().make(s.router, ++router_seed), 0};
      const MemoryPlan mp = plan_memory(s.model, pool.server.chip, g.par, s.dtypes, s.scheduler.gpu_memory_utilization,
                                        s.scheduler.activation_reserve_gb * 1e9);
      for (int i = 0; i < g.instances; ++i) {
        const int server = alloc.at(g.pool).take(g.par.gpus());
        if (server < 0)
          throw InputError(s.file + ": placements: \"" + pc.name + "\" cannot fit its " + role_name(g.role) +
                           " instances on the GPUs of pool \"" + g.pool + "\"");
        InstanceSetup setup;
        setup.index = i;
        setup.name = std::string(role_name(g.role)) + std::to_string(i);
        setup.pool = g.pool;
        setup.role = g.role;
        setup.gpus = g.par.gpus();
        setup.host = pf_.servers.at(g.pool).at(server);
        setup.kv_capacity_tokens = mp.kv_tokens;
        setup.exact = exact;
        ReplicaConfig rc{s.model, pool.server.chip, g.par, s.dtypes};
        auto model = step_time_registry().make(pool.server.chip.kind == "lpu" ? "lpu" : "roofline", rc);
        labels.insert(model->calibration_label());
        instances_.push_back(
            std::make_unique<Instance>(setup, s.scheduler, *sched_, std::move(model), collector_, *this));
        grp.members.push_back(instances_.back().get());
      }
      grp.kv_capacity = mp.kv_tokens;
      (g.role == Role::decode ? decode_ : entry_) = std::move(grp);
    }
    for (auto const& l : labels)
      calibration_ += (calibration_.empty() ? "" : ",") + l;
  }

  RunResult run()
  {
    RunResult res;
    res.placement = pc_.name;
    for (const RequestSpec& spec : generate_workload(s_.workload, s_.seed)) {
      Request r;
      r.spec = spec;
      res.requests.push_back(r);
    }
    if (res.requests.empty())
      throw InputError(s_.file + ": workload: produces no requests (check qps, duration_s, num_requests)");
    const double last = res.requests.back().spec.arrival;
    collector_.window.start = s_.sim.warmup_s >= 0 ? s_.sim.warmup_s : 0.1 * last;
    collector_.window.end = last - std::max(0.0, s_.sim.cooldown_s);
    if (collector_.window.length() <= 0)
      throw InputError(s_.file + ": sim: warmup_s + cooldown_s leave no measured window (arrivals span " +
                       std::to_string(last) + " s)");
    requests_ = &res.requests;
    for (auto& inst : instances_) {
      Instance* p = inst.get();
      s4u::Actor::create(p->setup().name, p->setup().host, [p] { p->run(); })->daemonize();
    }
    s4u::Actor::create("source", pf_.servers.begin()->second.front(), [this] { source(); });
    const auto t0 = std::chrono::steady_clock::now();
    s4u::Engine::get_instance()->run();
    res.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    res.simulated_s = s4u::Engine::get_clock();
    for (auto& inst : instances_)
      res.instances.push_back({inst->setup().name, inst->setup().pool, inst->setup().role, inst->setup().gpus,
                               inst->setup().kv_capacity_tokens, inst->stats()});
    res.collector = collector_;
    res.events = collector_.events;
    res.calibration = calibration_;
    return res;
  }

  void on_prefilled(Instance& from, Request* r) override
  {
    Instance* to = decode_.pick(*r);
    r->instances += ">" + to->setup().name;
    const double bytes = double(r->kv_tokens) * kv_bytes_per_token_;
    s4u::Host* src = from.setup().host;
    s4u::Host* dst = to->setup().host;
    const double scaleup = s_.pool(from.setup().pool).server.chip.scaleup_bandwidth;
    s4u::Actor::create("kv", src, [this, &from, to, r, bytes, src, dst, scaleup] {
      if (src == dst)
        s4u::this_actor::sleep_for(bytes / scaleup); // same server: over NVLink
      else
        s4u::Comm::sendto(src, dst, uint64_t(bytes));
      collector_.events++;
      r->kv_bytes_transferred += bytes;
      from.release_kv(r);
      r->first_token = s4u::Engine::get_clock(); // the decode instance streams the first token
      r->prefilled = r->target_prefill = r->spec.input_tokens + r->generated - 1;
      r->arrived_by_transfer = true;
      to->submit(r);
    });
  }

  void on_finished(Request*) override { finished(); }

private:
  void finished()
  {
    if (++done_ == requests_->size()) done_cv_->notify_all();
  }

  void source()
  {
    for (Request& r : *requests_) {
      s4u::this_actor::sleep_until(r.spec.arrival);
      collector_.events++;
      const long need = r.spec.input_tokens + r.spec.output_tokens;
      if (need > s_.model.max_context_tokens) {
        drop(r, "input + output = " + std::to_string(need) + " tokens exceed the model's max context of " +
                    std::to_string(s_.model.max_context_tokens));
        continue;
      }
      const long entry_need = entry_.role == Role::prefill ? r.spec.input_tokens + 1 : need;
      if (entry_need > entry_.kv_capacity || (!decode_.members.empty() && need > decode_.kv_capacity)) {
        drop(r, "needs " + std::to_string(need) + " KV tokens; an instance holds " +
                    std::to_string(std::min(entry_.kv_capacity,
                                            decode_.members.empty() ? entry_.kv_capacity : decode_.kv_capacity)));
        continue;
      }
      r.target_prefill = r.spec.input_tokens;
      Instance* to = entry_.pick(r);
      r.instances = to->setup().name;
      to->submit(&r);
    }
    std::unique_lock lock(*done_mutex_);
    while (done_ < requests_->size())
      done_cv_->wait(lock);
  }

  void drop(Request& r, const std::string& why)
  {
    r.dropped = why;
    finished();
  }

  const Scenario& s_;
  const PlacementConfig& pc_;
  Platform pf_;
  std::unique_ptr<Scheduler> sched_;
  std::vector<std::unique_ptr<Instance>> instances_;
  Group entry_{Role::mixed, {}, nullptr, 0}, decode_{Role::decode, {}, nullptr, 0};
  Collector collector_;
  std::vector<Request>* requests_ = nullptr;
  size_t done_ = 0;
  double kv_bytes_per_token_ = 0;
  std::string calibration_;
  s4u::MutexPtr done_mutex_ = s4u::Mutex::create();
  s4u::ConditionVariablePtr done_cv_ = s4u::ConditionVariable::create();
};

} // namespace

RunResult run_placement(const Scenario& s, size_t placement_index)
{
  int argc = 2;
  char arg0[] = "factorysim";
  char arg1[] = "--log=root.thresh:warning"; // SimGrid's own info lines are noise in reports
  char* argv[] = {arg0, arg1, nullptr};
  s4u::Engine engine(&argc, argv);
  s4u::Engine::set_config("network/model:" + s.fabric.network_model);
  s4u::Engine::set_config("contexts/factory:raw"); // fastest context switching on Linux
  // RDMA has no TCP window: without this, CM02 caps a flow at gamma / (2 x route latency).
  s4u::Engine::set_config("network/TCP-gamma:0");
  Factory f(s, s.placements.at(placement_index));
  return f.run();
}

} // namespace fs
