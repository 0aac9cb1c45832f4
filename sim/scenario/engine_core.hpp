// One engine instance's serving state, without time: its KV cache, its virtual engines' queues, and what a
// finished step does to its requests (tokens, first token, hand-off, finish). Pure C++: the SimGrid actor
// (sim/engine/instance.cpp) decides when steps start and end; unit tests drive it directly.
#pragma once
#include "scheduler.hpp"
#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

namespace fs {

// What a core reports as steps complete.
class CoreListener {
public:
  virtual ~CoreListener() = default;
  virtual void on_tokens(double t, double input, double output) = 0;
  // `output` tokens at each of the step ends `ends[0..steps)` (increasing): a decode run.
  virtual void on_decode_tokens(const double* ends, int steps, double output)
  {
    for (int j = 0; j < steps; ++j)
      on_tokens(ends[j], 0, output);
  }
  virtual void on_prefilled(Request* r, double t) = 0; // prefill role: KV held here until release_outgoing
  virtual void on_finished(Request* r, double t) = 0;
};

struct CoreConfig {
  Role role = Role::mixed;
  long kv_capacity_tokens = 0;
  int block_tokens = 16;
  int virtual_engines = 1; // micro-batches in flight: the pipeline depth (vLLM's virtual engines)
  SchedulerLimits limits;
  std::optional<PrefixConfig> prefix; // prefix caching (not on a decode-role instance)
};

class EngineCore {
public:
  EngineCore(const CoreConfig& cfg, const Scheduler& sched, CoreListener& listener);

  // A prompt from the router: queued on the virtual engine that owes the least work.
  void submit(Request* r);
  // A request prefilled elsewhere whose KV is still there (P/D decode side): queued for a slot and blocks.
  void submit_handoff(Request* r);
  // Decode side: the KV of `r` has arrived; its first token leaves now.
  void loaded(Request* r, double now);
  // Prefill side: the KV of `r` has left; its blocks are free.
  void release_outgoing(Request* r);

  int virtual_engines() const { return int(ves_.size()); }
  const EngineState& state(int ve) const { return ves_[ve]; }
  bool idle(int ve) const { return ves_[ve].idle(); }
  bool all_idle() const
  {
    return std::all_of(ves_.begin(), ves_.end(), [](const EngineState& s) { return s.idle(); });
  }
  // The next step of virtual engine `ve` (see Scheduler::plan), written into `p`; its blocks are reserved.
  void plan(int ve, StepPlan& p);
  StepPlan plan(int ve)
  {
    StepPlan p;
    plan(ve, p);
    return p;
  }
  // Fast mode: how many steps (<= max_steps) the decode-only plan `p` can repeat unchanged, bounded by the first
  // sequence to finish and by the free blocks; when more than one, it starts a run of that many steps and reserves
  // their blocks. 1 (nothing reserved) for any other plan.
  int start_run(const StepPlan& p, int max_steps);
  // The run will take only `steps` steps: gives back the blocks of the others.
  void trim_run(int steps);
  // Blocks the run in flight holds beyond those its sequences held when it started. They are counted in the KV
  // cache, not in each sequence: a sequence's own share is brought up to date when the run lands, so that starting
  // or cutting a run does not touch its requests (cold in a large factory).
  long run_blocks() const { return run_ ? run_blocks_ : 0; }
  // The blocks the run's sequences need to hold `steps` more tokens each (each sequence's whole blocks, not those it
  // may hold beyond; a whole-sequence reservation counts as what it holds), plus a constant: what a view compares
  // between two step counts of the run.
  long run_need(long steps) const
  {
    const long B = kv_.block_tokens();
    long n = run_whole_;
    for (long rem = 0; rem < B; ++rem)
      n += run_rem_[rem] * ((rem + steps + B - 1) / B);
    return n;
  }
  // run_need(a) - run_need(b), in one pass (an instance's view, at every pick of a router that reads views).
  long run_need_between(long a, long b) const
  {
    const long B = kv_.block_tokens();
    long n = 0;
    for (long rem = 0; rem < B; ++rem)
      n += run_rem_[rem] * ((rem + a + B - 1) / B - (rem + b + B - 1) / B);
    return n;
  }
  // Applies the first `steps` steps of `p` (ends[j] = end of step j) and frees what a truncated run reserved.
  void complete(int ve, const StepPlan& p, int steps, const double* ends);
  // Hints the CPU to fetch what complete() will touch of `p`'s requests (no effect on results).
  void prefetch(const StepPlan& p) const;

  Role role() const { return cfg_.role; }
  const KvCache& kv() const { return kv_; }
  const PrefixCache* prefix() const { return prefix_.get(); }
  long cached_tokens() const { return cached_tokens_; }     // prompt tokens admitted from the KV hierarchy
  long restored_tokens() const { return restored_tokens_; } // preempted tokens brought back, not recomputed
  // Tokens of work owed: queued prefill + remaining decode (prefill role: prefill only).
  long outstanding() const { return outstanding_; }
  long waiting() const; // requests not yet admitted (prompts, recomputes, hand-offs)
  long running() const;
  long preemptions() const { return preemptions_; }

private:
  long load_of(const Request* r) const;
  int least_loaded_ve() const;
  void recount();
  void add_load(int ve, long tokens);
  void leave(EngineState& s, Request* r);

  long outstanding_ = 0; // the sum of load_; first, so that an instance can keep what an index reads beside it
  CoreConfig cfg_;
  const Scheduler& sched_;
  CoreListener& listener_;
  KvCache kv_;
  std::unique_ptr<PrefixCache> prefix_;
  long cached_tokens_ = 0, restored_tokens_ = 0;
  std::vector<EngineState> ves_;
  std::vector<long> load_; // outstanding tokens per virtual engine
  long preemptions_ = 0;
  std::vector<Request*> done_, handed_; // scratch of complete()
  // The decode run in flight (start_run): its plan; over its sequences, the histogram of (tokens after the base,
  // which is whole blocks) modulo the block size, the sum of their whole blocks and of the blocks they held at the
  // start; and the blocks held for the run beyond those (negative once cut short below them).
  const StepPlan* run_ = nullptr;
  std::vector<long> run_rem_;
  long run_whole_ = 0, run_start_blocks_ = 0, run_blocks_ = 0;
};

} // namespace fs
