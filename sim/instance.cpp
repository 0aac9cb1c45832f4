#include "instance.hpp"
#include <algorithm>
#include <mutex>

namespace s4u = simgrid::s4u;

namespace fs {

Instance::Instance(InstanceSetup setup, const SchedulerConfig& sc, const Scheduler& sched,
                   std::unique_ptr<StepTimeModel> model, Collector& collector, InstanceListener& listener)
    : setup_(std::move(setup)), sched_(sched), model_(std::move(model)), collector_(collector), listener_(listener),
      mutex_(s4u::Mutex::create()), cv_(s4u::ConditionVariable::create())
{
  state_.role = setup_.role;
  state_.kv_capacity = setup_.kv_capacity_tokens;
  state_.max_seqs = sc.max_num_seqs;
  state_.token_budget = sc.max_num_batched_tokens;
  state_.chunk_tokens = sc.prefill_chunk_tokens;
}

long Instance::load_of(const Request* r) const
{
  const long prefill = r->target_prefill - r->prefilled;
  return setup_.role == Role::prefill ? prefill : prefill + r->remaining_output();
}

long Instance::outstanding() const
{
  if (run_steps_ <= 1) return outstanding_;
  const double now = s4u::Engine::get_clock();
  const long ended = std::upper_bound(ends_.begin(), ends_.begin() + run_steps_, now) - ends_.begin();
  return outstanding_ - ended * run_decodes_;
}

void Instance::recount_outstanding()
{
  outstanding_ = 0;
  for (const Request* r : state_.waiting)
    outstanding_ += load_of(r);
  for (const Request* r : state_.running)
    outstanding_ += load_of(r);
}

void Instance::submit(Request* r)
{
  std::unique_lock lock(*mutex_);
  state_.waiting.push_back(r);
  outstanding_ += load_of(r);
  submissions_++;
  cv_->notify_one();
}

void Instance::release_kv(Request* r)
{
  std::unique_lock lock(*mutex_);
  state_.kv_used -= r->kv_tokens;
  r->kv_tokens = 0;
  submissions_++; // freed memory may let a waiting request in
  cv_->notify_one();
}

int Instance::fast_steps(const StepPlan& p) const
{
  long k = setup_.max_fast_steps;
  for (const Request* r : p.decode)
    k = std::min(k, r->remaining_output());
  const long seqs = long(p.decode.size());
  k = std::min(k, (state_.kv_capacity - state_.kv_used) / seqs); // KV for every step of the run
  return int(std::max(1L, k));
}

int Instance::plan_times(const StepPlan& p, int max_steps)
{
  ends_.resize(max_steps);
  step_times_.resize(max_steps);
  StepBatch b = p.batch;
  double t = s4u::Engine::get_clock();
  for (int j = 0; j < max_steps; ++j) {
    step_times_[j] = model_->step(b);
    t += step_times_[j].total_s;
    ends_[j] = t;
    b.decode_context_sum += double(b.decode_seqs); // each sequence attends to one more token
  }
  return max_steps;
}

void Instance::account(double start, double end, const StepTime& st)
{
  stats_.busy_s += end - start;
  stats_.busy_in_window_s += collector_.window.overlap(start, end);
  stats_.steps++;
  stats_.compute_bound_s += st.compute_bound_s;
  stats_.memory_bound_s += st.memory_bound_s;
  stats_.comm_s += st.comm_s;
  stats_.overhead_s += st.overhead_s;
}

void Instance::finish_steps(const StepPlan& p, int steps)
{
  const double start = ends_[0] - step_times_[0].total_s;
  const double t_end = ends_[steps - 1];
  for (int j = 0; j < steps; ++j) {
    account(j == 0 ? start : ends_[j - 1], ends_[j], step_times_[j]);
    collector_.tokens(ends_[j], 0, double(p.decode.size()));
  }
  std::vector<Request*> done, handed;
  for (auto [r, n] : p.prefill) {
    const long before = load_of(r);
    const long new_input = std::max(0L, std::min(r->prefilled + n, r->spec.input_tokens) - r->prefilled);
    collector_.tokens(t_end, double(r->input_counted < r->spec.input_tokens ? new_input : 0), 0);
    r->input_counted = std::max(r->input_counted, std::min(r->prefilled + n, r->spec.input_tokens));
    r->prefilled += n;
    if (r->prefilled >= r->target_prefill) {
      r->generated++; // the prefill step samples the next token
      collector_.tokens(t_end, 0, 1);
      if (r->first_token < 0 && (setup_.role != Role::prefill || r->remaining_output() == 0)) r->first_token = t_end;
      if (r->remaining_output() == 0)
        done.push_back(r);
      else if (setup_.role == Role::prefill)
        handed.push_back(r);
    }
    outstanding_ += load_of(r) - before;
  }
  for (Request* r : p.decode) {
    r->kv_tokens += steps;
    r->generated += steps;
    state_.kv_used += steps;
    outstanding_ -= steps;
    if (r->remaining_output() == 0) done.push_back(r);
  }
  auto leave = [&](Request* r) {
    state_.running.erase(std::find(state_.running.begin(), state_.running.end(), r));
    outstanding_ -= load_of(r);
  };
  for (Request* r : done) {
    leave(r);
    state_.kv_used -= r->kv_tokens;
    r->kv_tokens = 0;
    r->finish = t_end;
    listener_.on_finished(r);
  }
  for (Request* r : handed) {
    leave(r); // its KV stays allocated here until the transfer has left (release_kv)
    listener_.on_prefilled(*this, r);
  }
}

void Instance::run()
{
  while (true) {
    std::unique_lock lock(*mutex_);
    while (state_.idle()) {
      cv_->wait(lock);
      stats_.wakeups++;
      collector_.events++;
    }
    const long seen = submissions_;
    StepPlan p = sched_.plan(state_);
    if (p.preempted) {
      stats_.preemptions += p.preempted;
      recount_outstanding();
    }
    if (p.empty()) { // everything waits for memory held by outgoing transfers
      while (submissions_ == seen)
        cv_->wait(lock);
      stats_.wakeups++;
      collector_.events++;
      continue;
    }
    const int k = (!setup_.exact && p.decode_only()) ? fast_steps(p) : 1;
    plan_times(p, k);
    run_steps_ = k;
    run_decodes_ = long(p.decode.size());
    int steps = k;
    if (k == 1) {
      lock.unlock();
      s4u::this_actor::sleep_until(ends_[0]);
    } else {
      // Sleep through the whole run unless a request arrives; then stop at the first step end after it,
      // which is where the step-by-step engine would have seen it.
      while (submissions_ == seen && s4u::Engine::get_clock() < ends_[k - 1])
        cv_->wait_until(lock, ends_[k - 1]);
      const double now = s4u::Engine::get_clock();
      steps = int(std::lower_bound(ends_.begin(), ends_.begin() + k, now) - ends_.begin()) + 1;
      steps = std::min(steps, k);
      lock.unlock();
      if (ends_[steps - 1] > now) s4u::this_actor::sleep_until(ends_[steps - 1]);
    }
    stats_.wakeups++;
    collector_.events++;
    run_steps_ = 0;
    finish_steps(p, steps);
  }
}

} // namespace fs
