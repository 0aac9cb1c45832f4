// One engine replica (tp x pp chips), driven by timed events (EventQueue, on a SimGrid kernel timer). Its EngineCore
// (pure) plans steps and applies their results; this class decides when they start and end: a micro-batch per virtual
// engine flows through the pipeline stages (a stage works on one micro-batch at a time), and decode steps whose batch
// cannot change are advanced together in one wake-up (fast mode, pp = 1).
#pragma once
#include "engine_core.hpp"
#include "event_queue.hpp"
#include "metrics.hpp"
#include "router.hpp"
#include "step_time.hpp"
#include <array>
#include <exception>
#include <memory>
#include <simgrid/s4u.hpp>
#include <string>
#include <vector>

namespace fs {

class Instance;
class TraceRecorder;

// What an instance asks of the factory (implemented in factory.cpp).
class InstanceListener {
public:
  virtual ~InstanceListener() = default;
  virtual void on_prefilled(Instance& from, Request* r) = 0; // hand the request to a decode instance
  virtual void start_pull(Instance& to, Request* r) = 0;     // move its KV from the instance holding it
  // Prefix caching: time the loads of virtual engine `ve`'s planned step (then call loads_done), and the writes
  // its cache made into lower tiers.
  virtual void start_loads(Instance& to, int ve, const std::vector<TierLoad>& loads) = 0;
  virtual void flush_writes(Instance& from) = 0;
  virtual void on_finished(Request* r) = 0;
  // Its view may have changed (an outside event, or a wake-up that is over).
  virtual void on_changed(Instance&) {}
  // A wake-up threw (it runs in a SimGrid kernel timer, which must not see the exception): the run fails with it.
  virtual void failed(std::exception_ptr e) = 0;
};

struct InstanceSetup {
  int id = 0; // index among all instances of the factory
  std::string name;
  std::string stage;
  std::string pool;
  std::string chip;
  Role role = Role::mixed;
  Parallelism par;
  simgrid::s4u::Host* host = nullptr; // the server of its first chip
  long kv_capacity_tokens = 0;
  bool exact = false; // one wake-up per step
  int max_fast_steps = 4096;
  double kv_bytes_per_token = 0; // its KV cache's bytes per token (what a hand-off from it moves)
  std::string ffn_pool;          // attention/FFN split: where its FFN chips are
  int ffn_chips = 0;
  std::optional<PrefixConfig> prefix; // prefix caching over the KV hierarchy
  TraceRecorder* trace = nullptr;     // records its batches and counters (run --trace); null: nothing
  EventQueue* events = nullptr;       // the factory's: its step ends and wake-ups
};

class alignas(64) Instance : public CoreListener {
public:
  Instance(InstanceSetup setup, const SchedulerConfig& sc, const Scheduler& sched,
           std::shared_ptr<const StepTimeModel> model, Collector& collector, InstanceListener& listener);

  void submit(Request* r);         // from the router
  void submit_handoff(Request* r); // prefilled elsewhere, routed here for decode
  void kv_arrived(Request* r);     // decode side: its pull finished
  void kv_released(Request* r);    // prefill side: its KV has left
  void loads_done(int ve);         // the KV loads of virtual engine `ve`'s planned step have ended
  void start();                    // at time 0: it waits for requests (it has no actor: see instance.cpp)
  void halt();                     // the run failed: it does nothing more
  ~Instance() override;

  const InstanceSetup& setup() const { return setup_; }
  int id() const { return id_; } // setup().id, in the instance's first line
  InstanceView view() const;     // as of now: steps of a fast run that already ended count as done
  long outstanding_now() const;  // view().outstanding, alone
  // outstanding_now(), and when view() changes next with no outside event and no wake-up (a step of a fast run
  // ends; +inf: not before one): what a least-outstanding index needs. `now`: the factory's clock, passed in (reading
  // it through setup() would touch one more cold line of each instance refreshed).
  std::pair<long, double> outstanding_and_change(double now) const;
  InstanceStats stats() const;
  // Prompt tokens of `r` this instance could start after now (prefix caching; 0 without).
  long cached_prefix(const Request& r) const;
  const StepTimeModel& model() const { return *model_; }

private:
  // The micro-batch (or fast run of identical decode steps) of one virtual engine. One slot per virtual
  // engine, reused, so that steps allocate nothing.
  struct Flight {
    bool active = false;
    bool loading = false; // planned, waiting for its KV loads from lower tiers
    bool loaded = false;  // planned, loads done: launch it
    StepPlan plan;
    int steps = 1;
    std::vector<double> ends;        // per step: when its tokens are out (grown, never shrunk: `steps` count)
    std::vector<double> kept;        // per step of a decode run: what the model keeps for land (decode_run_kept)
    StepSummary sum;                 // its step's (not kept for a decode run; with a trace, its first step's)
    StepTime staged;                 // pipelined (pp > 1, one step): its stages
    std::vector<double> stage_start; // pipelined: when each stage started on it
    double end() const { return ends[steps - 1]; }
  };

  void on_tokens(double t, double input, double output) override { collector_.tokens(t, input, output); }
  void on_decode_tokens(const double* ends, int steps, double output) override
  {
    collector_.decode_tokens(ends, steps, output);
  }
  // What the listener does may read this instance's view (a router's pick): it is marked changed first.
  void on_prefilled(Request* r, double) override
  {
    listener_.on_changed(*this);
    listener_.on_prefilled(*this, r);
  }
  void on_finished(Request* r, double) override
  {
    listener_.on_changed(*this);
    listener_.on_finished(r);
  }

  void notify();      // an outside event: wake it (in this instant) if it listens for one
  void settle();      // plans what it can, then sets when it wakes next
  void on_timer();    // its earliest micro-batch ended
  void on_event();    // an outside event woke it
  void land_done();   // lands every micro-batch ended by now
  void arm(double t); // its timer at t
  // An event at t that clears its handle and calls on_event (wake: wake_timer_) or on_timer (timer_).
  EventQueue::Handle schedule(double t, bool wake);
  void woke();         // counts a wake-up
  bool launch_idle();  // plans every idle virtual engine; true when something was launched
  void launch(int ve); // starts flights_[ve], whose plan is set
  void truncate_runs(double now);
  void land(int ve);
  void account(const Flight& f, int step, const StepSummary& sum); // `sum`: its step's (pp = 1)
  bool can_use_event() const; // would an outside event change what this instance does before its next landing?
  long ended_steps(double now) const;

  // What a wake-up reads of the instance, in its first three lines (the class is line-aligned), with the fast run's
  // view and the core's outstanding tokens: in a large factory each wake-up finds its instance cold, and these fields
  // were spread over eight lines, five of them InstanceSetup's between its strings (copied from it: setup_ is off the
  // hot path).
  EventQueue* queue_;    // setup_.events
  TraceRecorder* trace_; // setup_.trace
  Collector& collector_;
  InstanceListener& listener_;
  std::shared_ptr<const StepTimeModel> model_;    // shared by the instances of its stage
  int id_, pp_, tp_, ffn_chips_, max_fast_steps_; // setup_'s
  int in_flight_ = 0;
  long events_ = 0, seen_ = 0; // outside events: counted, and seen by the last wake-up
  // Its timer: when its earliest micro-batch ends (none while idle); its wake-up set for this instant by an event.
  EventQueue::Handle timer_, wake_timer_;
  double timer_at_ = 0;
  bool exact_, prefix_on_; // setup_.exact, setup_.prefix set
  bool listening_ = false; // whether outside events wake it now
  bool halted_ = false;
  bool run_cut_ = false; // the fast run in flight was already cut short by an event: later ones wait for its (new) end
  // A fast run in flight (pp = 1, so flights_[0]) as the least-outstanding routing reads it: its step ends,
  // sequences and steps (fewer once cut short), in one line with the core's outstanding tokens (its first field).
  // Views between its step ends see exact-mode state.
  struct RunView {
    const double* ends = nullptr;
    long seqs = 0;
    int steps = 0;
    mutable int ended = 0; // steps ended as of the last look (the clock only moves on)
    bool active = false;
  };
  RunView run_;
  EngineCore core_;
  std::vector<Flight> flights_;    // per virtual engine
  std::vector<double> stage_free_; // when each pipeline stage finishes its current micro-batch
  InstanceStats stats_;
  InstanceSetup setup_;
};

} // namespace fs
