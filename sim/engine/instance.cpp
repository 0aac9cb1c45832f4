#include "instance.hpp"
#include "trace_recorder.hpp"
#include <algorithm>
#include <limits>

namespace s4u = simgrid::s4u;

namespace fs {

namespace {
CoreConfig core_config(const InstanceSetup& s, const SchedulerConfig& sc)
{
  CoreConfig c;
  c.role = s.role;
  c.kv_capacity_tokens = s.kv_capacity_tokens;
  c.block_tokens = int(sc.block_size_tokens);
  c.virtual_engines = s.par.pp;
  c.limits = limits_of(sc);
  c.prefix = s.prefix;
  return c;
}
} // namespace

Instance::Instance(InstanceSetup setup, const SchedulerConfig& sc, const Scheduler& sched,
                   std::shared_ptr<const StepTimeModel> model, Collector& collector, InstanceListener& listener)
    : queue_(setup.events), trace_(setup.trace), collector_(collector), listener_(listener), model_(std::move(model)),
      id_(setup.id), pp_(setup.par.pp), tp_(setup.par.tp), ffn_chips_(setup.ffn_chips),
      max_fast_steps_(setup.max_fast_steps), exact_(setup.exact), prefix_on_(setup.prefix.has_value()),
      core_(core_config(setup, sc), sched, *this), flights_(setup.par.pp), stage_free_(setup.par.pp, 0.0),
      setup_(std::move(setup))
{
}

void Instance::submit(Request* r)
{
  core_.submit(r);
  notify();
}

void Instance::submit_handoff(Request* r)
{
  core_.submit_handoff(r);
  notify();
}

void Instance::kv_arrived(Request* r)
{
  core_.loaded(r, queue_->now());
  notify();
}

void Instance::loads_done(int ve)
{
  flights_[ve].loading = false;
  flights_[ve].loaded = true;
  notify();
}

void Instance::kv_released(Request* r)
{
  core_.release_outgoing(r); // freed memory may let a waiting request in
  if (core_.all_idle()) {    // nothing that memory could let in: no wake-up (the usual prefill instance)
    listener_.on_changed(*this);
    return;
  }
  notify();
}

long Instance::ended_steps(double now) const
{
  if (!run_.active) return 0;
  // From the last look: usually no step or one has ended since (a binary search over a cold array of up to
  // max_fast_steps ends missed the cache at every level, in every refresh of the routing index).
  int k = run_.ended;
  if (k < run_.steps && run_.ends[k] <= now) {
    ++k;
    if (k < run_.steps && run_.ends[k] <= now)
      k = int(std::upper_bound(run_.ends + k, run_.ends + run_.steps, now) - run_.ends);
    run_.ended = k;
  }
  return k;
}

InstanceView Instance::view() const
{
  InstanceView v;
  v.name = &setup_.name;
  v.stage = &setup_.stage;
  v.pool = &setup_.pool;
  v.chip = &setup_.chip;
  v.role = setup_.role;
  v.chips = setup_.par.chips();
  v.waiting = core_.waiting();
  v.running = core_.running();
  v.outstanding = outstanding_now();
  v.kv_free_blocks = core_.kv().available_blocks();
  v.kv_capacity_blocks = core_.kv().capacity_blocks();
  v.kv_block_tokens = core_.kv().block_tokens();
  if (run_.active) {
    // The run reserved the blocks of all its steps and applies its tokens when it lands; the step-by-step
    // engine would be in step `ended + 1` now, holding blocks for that many more tokens per sequence.
    const Flight& f = flights_[0];
    const long ended = ended_steps(queue_->now());
    v.kv_free_blocks += core_.run_need_between(f.steps, std::min<long>(ended + 1, f.steps));
  }
  return v;
}

long Instance::outstanding_now() const
{
  if (!run_.active) return core_.outstanding();
  return core_.outstanding() - ended_steps(queue_->now()) * run_.seqs;
}

std::pair<long, double> Instance::outstanding_and_change(double now) const
{
  constexpr double never = std::numeric_limits<double>::infinity();
  if (!run_.active) return {core_.outstanding(), never};
  const long ended = ended_steps(now);
  return {core_.outstanding() - ended * run_.seqs, ended < run_.steps ? run_.ends[ended] : never};
}

InstanceStats Instance::stats() const
{
  InstanceStats s = stats_;
  s.preemptions = core_.preemptions();
  s.kv_peak_blocks = core_.kv().peak_blocks();
  s.kv_capacity_blocks = core_.kv().capacity_blocks();
  if (const PrefixCache* pc = core_.prefix()) {
    s.prefix_lookups = pc->lookups();
    s.hbm = pc->hbm_stats();
  }
  s.cached_tokens = core_.cached_tokens();
  s.restored_tokens = core_.restored_tokens();
  return s;
}

long Instance::cached_prefix(const Request& r) const
{
  const PrefixCache* pc = core_.prefix();
  return pc ? pc->match(r.spec.prefix_hashes, r.spec.input_tokens - 1) : 0;
}

void Instance::launch(int ve)
{
  Flight& f = flights_[ve];
  StepPlan& p = f.plan;
  const double now = queue_->now();
  const bool pipelined = pp_ > 1;
  const int k = (exact_ || pipelined) ? 1 : core_.start_run(p, max_fast_steps_);
  f.active = true;
  f.steps = k;
  if (f.ends.size() < size_t(k)) { // grown only: a resize down and up would zero what we overwrite
    f.ends.resize(k);
    f.kept.resize(k);
  }
  if (pipelined) {
    // A micro-batch enters stage s when it has left stage s-1 (plus the hop) and stage s is free.
    f.staged = model_->step(p.batch);
    f.sum = f.staged.summary();
    f.stage_start.resize(f.staged.stages.size());
    double e = now + f.staged.host_s;
    for (size_t s = 0; s < f.staged.stages.size(); ++s) {
      f.stage_start[s] = std::max(e, stage_free_[s]);
      stage_free_[s] = f.stage_start[s] + f.staged.stages[s].busy_s;
      e = stage_free_[s] + f.staged.stages[s].hop_s;
    }
    f.ends[0] = e;
  } else {
    // A decode run keeps only its step ends and each step's decode attention time: an event usually cuts it short,
    // and land() makes the summaries of the steps it took from them.
    if (p.decode_only())
      model_->decode_run_ends(p.batch, k, now, f.ends.data(), f.kept.data());
    else {
      f.sum = model_->summary(p.batch);
      f.ends[0] = now + f.sum.total_s;
    }
    stage_free_[0] = f.ends[k - 1];
  }
  if (k > 1) {
    run_ = {f.ends.data(), long(p.decode.size()), k, 0, true};
    run_cut_ = false;
  }
  in_flight_++;
}

bool Instance::launch_idle()
{
  bool any = false;
  for (int v = 0; v < core_.virtual_engines(); ++v) {
    Flight& f = flights_[v];
    if (f.active || f.loading) continue;
    if (f.loaded) { // its plan waited for KV from lower tiers
      f.loaded = false;
      launch(v);
      listener_.on_changed(*this);
      any = true;
      continue;
    }
    if (core_.idle(v)) continue;
    StepPlan& p = f.plan;
    core_.plan(v, p);
    listener_.on_changed(*this); // planning changed it; what follows may route (a hand-off reads views)
    for (Request* r : p.pulls)
      listener_.start_pull(*this, r);
    if (prefix_on_) listener_.flush_writes(*this);
    if (p.empty()) continue; // everything waits for memory, a slot or a KV transfer: an event will wake us
    if (!p.loads.empty()) {
      f.loading = true; // starts when its KV is in accelerator memory (loads_done)
      listener_.start_loads(*this, v, p.loads);
      continue;
    }
    launch(v);
    any = true;
  }
  return any;
}

void Instance::truncate_runs(double now)
{
  // A run cut by an outside event stops at the first step end at or after it: where the step-by-step engine
  // would have seen the event.
  if (!run_.active) return;
  Flight& f = flights_[0];
  // The steps seen ended (ended_steps) end at or before now: search from the last of them.
  const int from = std::max(0, int(ended_steps(now)) - 1);
  const int steps = int(std::lower_bound(f.ends.begin() + from, f.ends.begin() + f.steps, now) - f.ends.begin()) + 1;
  if (steps < f.steps) {
    f.steps = run_.steps = steps;
    run_.ended = std::min(run_.ended, steps);
    core_.trim_run(steps); // views now see the blocks the step-by-step engine would hold
  }
  stage_free_[0] = f.end();
  run_cut_ = true;
}

void Instance::account(const Flight& f, int j, const StepSummary& st)
{
  const double tp = tp_;
  const Window& w = collector_.window;
  if (pp_ == 1) {
    const double start = f.ends[j] - st.busy_s;
    const double frac = st.busy_s > 0 ? w.overlap(start, f.ends[j]) / st.busy_s : 0.0;
    stats_.busy_chip_s_window += st.busy_s * tp * frac;
    stats_.phases_window += st.phases.scaled(tp * frac);
    stats_.offload_phases_window += st.offload.scaled(ffn_chips_ * frac);
  } else {
    for (size_t s = 0; s < f.staged.stages.size(); ++s) {
      const StageTime& stage = f.staged.stages[s];
      const double start = f.stage_start[s];
      const double frac = stage.busy_s > 0 ? w.overlap(start, start + stage.busy_s) / stage.busy_s : 0.0;
      stats_.busy_chip_s_window += stage.busy_s * tp * frac;
      stats_.phases_window += stage.phases.scaled(tp * frac);
    }
  }
  stats_.phases += st.phases.scaled(tp);
  stats_.busy_s += st.busy_s / double(pp_);
  stats_.comm += st.comm;
  stats_.host_s += st.host_s;
  stats_.steps++;
}

void Instance::land(int ve)
{
  Flight& f = flights_[ve];
  core_.prefetch(f.plan);
  const StepSummary* sums = &f.sum;
  if (pp_ == 1 && f.plan.decode_only()) {
    // The summaries of the steps it took, from what launch kept of them (their ends and decode attention times), in
    // a scratch that every instance of the thread shares: it stays in cache.
    thread_local std::vector<StepSummary> scratch;
    if (scratch.size() < size_t(f.steps)) scratch.resize(f.steps);
    model_->decode_run_kept(f.plan.batch, f.steps, f.kept.data(), scratch.data());
    sums = scratch.data();
    if (trace_) f.sum = scratch[0]; // what a trace shows
  }
  for (int j = 0; j < f.steps; ++j)
    account(f, j, sums[j]);
  f.active = false;
  in_flight_--;
  if (ve == 0) run_.active = false; // a fast run is always virtual engine 0's (pp = 1)
  core_.complete(ve, f.plan, f.steps, f.ends.data());
  if (trace_) record_flight(*trace_, id_, f, view());
}

bool Instance::can_use_event() const
{
  if (run_.active) return !run_cut_; // an arrival cuts a fast run short, once
  for (const Flight& f : flights_)
    if (!f.active) return true; // an idle virtual engine could start a micro-batch
  return false;
}

// The instance has no actor: it runs in SimGrid's kernel, on timed events (EventQueue: a heap entry each; an actor
// costs a stack and two context switches per wake-up, which is most of a large factory's time). A wake-up runs to
// its end without yielding, so outside calls (submit, KV arrivals, ...) never see it half done; they change its
// state at once and, when it listens for events, set an event at the current time that wakes it in this instant, or,
// in a fast run not yet cut, cut the run themselves (notify).
void Instance::start() { settle(); }

void Instance::halt()
{
  queue_->cancel(timer_);
  queue_->cancel(wake_timer_);
  timer_ = wake_timer_ = {};
  listening_ = false;
  halted_ = true;
}

Instance::~Instance()
{
  // None of its events may call into a destroyed instance.
  queue_->cancel(timer_);
  queue_->cancel(wake_timer_);
}

void Instance::arm(double t)
{
  if (timer_ && timer_at_ == t) return;
  queue_->cancel(timer_);
  timer_at_ = t;
  timer_ = schedule(t, false);
}

EventQueue::Handle Instance::schedule(double t, bool wake)
{
  // Two words captured: std::function keeps them without an allocation.
  return queue_->at(t, [this, wake] {
    (wake ? wake_timer_ : timer_) = {}; // it ran
    try {
      wake ? on_event() : on_timer();
    } catch (...) { // an exception must not escape into SimGrid's kernel: the run fails with it
      listener_.failed(std::current_exception());
    }
  });
}

void Instance::notify()
{
  events_++;
  listener_.on_changed(*this); // also covers the cut below: nothing reads its view in between
  if (!listening_ || wake_timer_) return;
  if (run_.active && !run_cut_) { // all a wake-up would do: cut the run at its next step end, where it lands
    listening_ = false;
    seen_ = events_;
    truncate_runs(queue_->now());
    arm(flights_[0].end());
    return;
  }
  wake_timer_ = schedule(queue_->now(), true);
}

void Instance::land_done()
{
  // Every micro-batch that is done, in the order they finish; a truncated run waits for its new end.
  const double now = queue_->now();
  while (true) {
    int first = -1;
    for (int v = 0; v < int(flights_.size()); ++v)
      if (flights_[v].active && flights_[v].end() <= now && (first < 0 || flights_[v].end() < flights_[first].end()))
        first = v;
    if (first < 0) break;
    land(first);
  }
}

void Instance::woke()
{
  stats_.wakeups++;
  collector_.events++;
}

void Instance::on_timer()
{
  // The earliest micro-batch ended (or a fast run's last step): what the step-by-step engine does at a step end.
  listening_ = false;
  woke();
  land_done();
  settle();
}

void Instance::on_event()
{
  if (!listening_ || events_ == seen_) return; // already seen (a step end at the same instant came first)
  listening_ = false;
  // A run cut by the event stops at the first step end at or after it; an idle instance plans at once.
  truncate_runs(queue_->now());
  woke();
  land_done();
  settle();
}

void Instance::settle()
{
  while (!halted_) {
    seen_ = events_;
    launch_idle();
    listener_.on_changed(*this); // what this wake-up did is done: it waits from here
    if (in_flight_ == 0) {       // nothing to compute until something arrives or memory frees up
      if (events_ != seen_) {
        woke();
        continue;
      }
      queue_->cancel(timer_);
      timer_ = {};
      listening_ = true;
      return;
    }
    double next = std::numeric_limits<double>::infinity();
    for (const Flight& f : flights_)
      if (f.active) next = std::min(next, f.end());
    arm(next);
    listening_ = can_use_event(); // else outside events wait for the next landing
    if (!listening_ || events_ == seen_) return;
    listening_ = false; // an event came while it planned: as if it woke at once
    truncate_runs(queue_->now());
    woke();
    land_done();
  }
}

} // namespace fs
