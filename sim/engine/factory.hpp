// One simulation of one placement of a scenario: build platform and instances -> run -> records.
// SimGrid's engine is a process-wide singleton: call run_placement at most once per process.
#pragma once
#include "metrics.hpp"
#include "request.hpp"
#include "request_stats.hpp"
#include "scenario.hpp"
#include <array>
#include <string>
#include <vector>

namespace fs {

struct InstanceReport {
  std::string name, stage, pool, chip;
  Role role = Role::mixed;
  Parallelism par;
  long kv_capacity_tokens = 0;
  InstanceStats stats;
  std::string ffn_pool; // attention/FFN split: the pool whose chips ran its FFN (stats.offload_phases_window)
  int pod = 0;          // scenario "pods": the pod it belongs to
};

// The host (CPU) pool's work in the run (scenario "host"); cores 0 when not modelled.
struct HostReport {
  std::string pool;
  long cores = 0;
  double busy_core_s_window = 0; // core-seconds of host work inside the measured window
};

// The KV hierarchy in the run (scenario "kv_cache"), whole run.
struct KvHierarchyReport {
  bool enabled = false;
  long lookups = 0;                           // prompt chunks looked up
  long cached_tokens = 0;                     // prompt tokens admitted from it (no prefill)
  long restored_tokens = 0;                   // tokens of preempted requests brought back (offload)
  std::array<TierStats, kv_tier_count> tiers; // by KvTier
  std::array<double, kv_tier_count> capacity_bytes{};
};

struct RunResult {
  std::string placement;
  RequestStats stats;            // every request, counted as it left the system
  std::vector<Request> requests; // RunOptions::keep_requests only: every request, in arrival order
  std::vector<InstanceReport> instances;
  Collector collector; // its window as measured (a makespan or a stop found during the run filled in)
  HostReport host;
  KvHierarchyReport kv;
  HostReport tools;                    // the pool running the workload's tool calls (agent graphs); cores 0: none
  std::vector<SessionRecord> sessions; // sessions or agent tasks (empty for other workloads)
  std::vector<long> request_session;   // with `requests`: each one's session or task (empty without sessions)
  std::string calibration;             // "datasheet" or "measured:<device>" (of every instance, joined)
  double wall_s = 0, simulated_s = 0;
  long events = 0;
  long peak_requests_held = 0; // request slots the run allocated: the most requests in flight at once
  // Cross-server KV pulls that moved every byte alone on their route (no SimGrid action: docs/design.md, "Lone
  // transfers"), and those that ran, at least in part, in SimGrid's network model.
  long kv_pulls_lone = 0, kv_pulls_shared = 0;
  // Instants whose events ran ahead of SimGrid's clock, in a round of its main loop that an earlier instant began
  // (docs/design.md, "Events ahead of SimGrid's clock").
  long instants_ahead = 0;
  long simgrid_waits = 0; // of those, times an event needed SimGrid (a pull sharing a link) and waited for its clock
  long instants_ahead_of_pulls = 0; // of those, run with KV pulls in SimGrid's network model (before their next event)
  // Pods with load snapshots in one process: arrivals routed, and of them those sent to a pod the live router (loads
  // at that instant) would have picked too (0, 0 otherwise).
  long pod_picks = 0, pod_live_picks = 0;
};

// Takes each request when it leaves the system (finished or dropped), e.g. to write its row (summary.hpp).
class RequestSink {
public:
  virtual ~RequestSink() = default;
  virtual void request_done(const Request& r, long session) = 0; // session: its session or task, -1 for none
  // An arrival the global router sent to a pod another process simulates (pods over MPI ranks): it leaves there.
  virtual void request_elsewhere(long /*id*/) {}
};

class TraceRecorder;
class PodSync; // pods.hpp
struct RunOptions {
  TraceRecorder* trace = nullptr; // records the run's timeline (trace_recorder.hpp); null records nothing
  RequestSink* rows = nullptr;    // null: nothing
  bool keep_requests = false;     // RunResult::requests (tests): memory grows with the run, not with what is in flight
  PodSync* pods = nullptr;        // null: every pod in this process; else only this rank's (pods.hpp)
};
RunResult run_placement(const Scenario& s, size_t placement_index, const RunOptions& opt = {});

} // namespace fs
