// One engine replica (TP x PP GPUs) as a SimGrid actor: continuous batching steps, each a sleep of the
// modelled step time. Decode steps whose batch cannot change are advanced together in one wake-up.
#pragma once
#include "metrics.hpp"
#include "scheduler.hpp"
#include "step_time.hpp"
#include <memory>
#include <simgrid/s4u.hpp>
#include <string>
#include <vector>

namespace fs {

class Instance;

// What an instance tells the factory about (implemented in factory.cpp).
class InstanceListener {
public:
  virtual ~InstanceListener() = default;
  virtual void on_prefilled(Instance& from, Request* r) = 0; // prefill role: hand the KV over
  virtual void on_finished(Request* r) = 0;
};

struct InstanceSetup {
  int index = 0; // within its group
  std::string name;
  std::string pool;
  Role role = Role::mixed;
  int gpus = 1;
  simgrid::s4u::Host* host = nullptr;
  long kv_capacity_tokens = 0;
  bool exact = false; // one wake-up per step
  long max_fast_steps = 4096;
};

class Instance {
public:
  Instance(InstanceSetup setup, const SchedulerConfig& sc, const Scheduler& sched, std::unique_ptr<StepTimeModel> model,
           Collector& collector, InstanceListener& listener);

  void submit(Request* r);     // from the router or a KV transfer
  void release_kv(Request* r); // after its KV left this (prefill) instance
  void run();                  // actor body

  const InstanceSetup& setup() const { return setup_; }
  // Tokens still owed, as of now: steps of a closed-form run that already ended count as done.
  long outstanding() const;
  const InstanceStats& stats() const { return stats_; }
  const StepTimeModel& model() const { return *model_; }

private:
  long load_of(const Request* r) const;
  void recount_outstanding();
  // Step end times of up to `max_steps` decode steps from now, while the batch cannot change.
  int plan_times(const StepPlan& p, int max_steps);
  int fast_steps(const StepPlan& p) const;
  void finish_steps(const StepPlan& p, int steps);
  void account(double start, double end, const StepTime& st);

  InstanceSetup setup_;
  const Scheduler& sched_;
  std::unique_ptr<StepTimeModel> model_;
  Collector& collector_;
  InstanceListener& listener_;
  EngineState state_;
  InstanceStats stats_;
  long outstanding_ = 0;
  long submissions_ = 0;
  int run_steps_ = 0;    // steps of the run in progress (0: none)
  long run_decodes_ = 0; // decoding sequences in it
  std::vector<double> ends_;
  std::vector<StepTime> step_times_;
  simgrid::s4u::MutexPtr mutex_;
  simgrid::s4u::ConditionVariablePtr cv_;
};

} // namespace fs
