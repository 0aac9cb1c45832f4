// Multi-turn conversations. Sessions start by a Poisson (or Gamma) process, or `users` run one session after
// another. A turn's prompt is the session's context so far (every earlier turn's new tokens and output) plus its
// own new tokens, after an optional system prompt shared by all sessions; a turn is sent when the previous one
// finished plus a think time. prefix_hashes give a turn's blocks inside the earlier context the earlier turns'
// hashes, and blocks inside the system prompt the same hash in every session.
#include "workload_dynamic.hpp"

namespace fs {

namespace {

class Sessions : public WorkloadGenerator {
public:
  void parse(const JsonNode& n, const std::string& file) override
  {
    rate_ = n.number("sessions_per_s", 0);
    users_ = n.integer("users", 0);
    if ((rate_ > 0) == (users_ > 0))
      n.fail("sessions_per_s", "give either sessions_per_s (sessions start as a renewal process) or users (each "
                               "runs one session after another)");
    cv_ = n.number("cv", 1);
    if (users_ > 0 && n.has("cv")) n.fail("cv", "applies to sessions_per_s arrivals only");
    stop_ = parse_stop(n, "num_sessions", "new sessions stop starting");
    turns_ = parse_length(n.at("turns"), file, false);
    input_ = parse_length(n.at("input"), file, true);
    output_ = parse_length(n.at("output"), file, false);
    think_ = n.has("think_time") ? parse_duration(n.at("think_time")) : fixed_duration(0);
    system_tokens_ = n.integer("system_tokens", 0);
    block_ = n.integer("hash_block_tokens", 512);
  }
  const ObjectSpec& spec() const override
  {
    static const ObjectSpec o{
        "sessions",
        "multi-turn conversations whose turns carry the session's context",
        {positive("sessions_per_s", 1e6, "sessions start at this mean rate (Poisson; Gamma with cv)"),
         num("cv", 0.01, 100, "coefficient of variation of the gaps between session starts (default 1: Poisson)"),
         integer("users", 0, 1e6, "or: this many users, each starting a new session when its last one ended"),
         num("duration_s", 0, 1e8, "no session starts after this time (0: no limit)"),
         integer("num_sessions", 0, 1e9, "sessions in all (0: until duration_s)"),
         required(object("turns", length_spec(), "turns per session")),
         required(object("input", length_spec(), "new user tokens per turn")),
         required(object("output", length_spec(), "output tokens per turn")),
         object("think_time", duration_spec(), "seconds between a turn's response and the next turn (default 0)"),
         integer("system_tokens", 0, 1e7, "a system prompt shared by every session, before its context (default 0)"),
         integer("hash_block_tokens", 16, 1e6, "prompt tokens per prefix_hashes entry (default 512, as Mooncake)")}};
    return o;
  }
  Json to_json() const override
  {
    Json j = {{"duration_s", stop_.duration_s},  {"num_sessions", stop_.count},
              {"turns", length_json(*turns_)},   {"input", length_json(*input_)},
              {"output", length_json(*output_)}, {"think_time", duration_json(*think_)},
              {"system_tokens", system_tokens_}, {"hash_block_tokens", block_}};
    if (users_ > 0) {
      j["users"] = users_;
    } else {
      j["sessions_per_s"] = rate_;
      j["cv"] = cv_;
    }
    return j;
  }
  double expected_requests() const override
  {
    std::mt19937_64 rng(1);
    double turns = 0;
    for (int i = 0; i < 1000; ++i)
      turns += double(turns_->sample(rng)) / 1000;
    const double sessions = stop_.count > 0 ? double(stop_.count)
                            : users_ > 0    ? double(users_)
                                            : rate_ * stop_.duration_s;
    return sessions * turns;
  }
  std::vector<RequestSpec> generate(uint64_t) const override { return {}; }
  long prefix_block_tokens() const override { return block_; }
  StopRule stop_rule() const override { return stop_; }
  std::unique_ptr<RequestSource> source(const SourceContext& ctx) const override;

  double rate_ = 0, cv_ = 1;
  long users_ = 0, system_tokens_ = 0, block_ = 512;
  StopRule stop_;
  std::shared_ptr<const LengthSampler> turns_, input_, output_;
  std::shared_ptr<const DurationSampler> think_;
};

class Conversations : public ReactiveSource {
public:
  Conversations(const Sessions& w, const SourceContext& ctx)
      : ReactiveSource(ctx, w.stop_.duration_s, w.stop_.count), w_(w), gap_rng_(ctx.seed),
        len_rng_(ctx.seed ^ 0x9e3779b97f4a7c15ULL), think_rng_(ctx.seed ^ 0x7f4a7c159e3779b9ULL)
  {
    track_sessions(w.block_, w.system_tokens_);
    if (w.users_ > 0) {
      for (long u = 0; u < w.users_; ++u)
        start(0, u);
    } else {
      timer(gap(), -1, 0);
    }
  }

private:
  struct State {
    long user = -1; // users mode: who runs it
    long turns = 0, sent = 0;
    long context = 0; // tokens of the earlier turns: their new tokens and outputs
  };

  double gap() { return renewal_gap(w_.rate_, w_.cv_, gap_rng_); }
  // A session arrival (open mode): start it and draw the next.
  void on_timer(long, long, double t) override
  {
    if (!may_start(t, long(sessions_.size()))) return;
    start(t, -1);
    timer(t + gap(), -1, 0);
  }
  void start(double t, long user)
  {
    if (!may_start(t, long(sessions_.size()))) return;
    const long id = open_session(t);
    state_.push_back({user, w_.turns_->sample(len_rng_), 0, 0});
    note_started(long(sessions_.size()), t);
    turn(id, t);
  }
  void turn(long id, double t)
  {
    State& s = state_[size_t(id)];
    const long fresh = w_.input_->sample(len_rng_);
    const long prompt = system_tokens_ + s.context + fresh;
    send(t, prompt, w_.output_->sample(len_rng_), {{0, s.context + fresh}}, id, 0); // one growing history
    s.sent++;
  }
  void on_finished(const Sent& r, double t, bool) override
  {
    State& s = state_[size_t(r.owner)];
    SessionRecord& rec = sessions_[size_t(r.owner)];
    s.context = r.input - system_tokens_ + r.output;
    const double think = w_.think_->draw(think_rng_);
    if (!rec.failed && s.sent < s.turns) {
      turn(r.owner, t + think);
      return;
    }
    if (!rec.failed) rec.end = t;
    if (s.user >= 0) start(t + think, s.user);
  }

  const Sessions& w_;
  std::mt19937_64 gap_rng_, len_rng_, think_rng_;
  std::vector<State> state_;
};

std::unique_ptr<RequestSource> Sessions::source(const SourceContext& ctx) const
{
  return std::make_unique<Conversations>(*this, ctx);
}

} // namespace

std::unique_ptr<WorkloadGenerator> make_sessions_workload() { return std::make_unique<Sessions>(); }

} // namespace fs
