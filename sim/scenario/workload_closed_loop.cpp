// Closed-loop clients (a benchmark's --max-concurrency, genai-perf, LLMPerf): `clients` users, each sending its next
// request when its previous one finished plus a think time, until the stop rule. At most `clients` requests are in
// the system at any time.
#include "workload_dynamic.hpp"
#include <algorithm>

namespace fs {

namespace {

class ClosedLoop : public WorkloadGenerator {
public:
  void parse(const JsonNode& n, const std::string& file) override
  {
    clients_ = n.integer("clients");
    think_ = n.has("think_time") ? parse_duration(n.at("think_time")) : fixed_duration(0);
    stop_ = parse_stop(n, "num_requests", "the clients stop sending");
    input_ = parse_length(n.at("input"), file, true);
    output_ = parse_length(n.at("output"), file, false);
  }
  const ObjectSpec& spec() const override
  {
    static const ObjectSpec o{
        "closed_loop",
        "closed-loop clients: each sends its next request when the previous finished plus a think time",
        {required(integer("clients", 1, 1e6, "concurrent clients (a benchmark's max concurrency)")),
         object("think_time", duration_spec(), "seconds between a response and the client's next request (default 0)"),
         num("duration_s", 0, 1e8, "clients send no request after this time (0: no limit)"),
         integer("num_requests", 0, 1e9, "requests in all (0: until duration_s)"),
         required(object("input", length_spec(), "prompt tokens")),
         required(object("output", length_spec(), "output tokens"))}};
    return o;
  }
  Json to_json() const override
  {
    return {{"clients", clients_},         {"think_time", duration_json(*think_)}, {"duration_s", stop_.duration_s},
            {"num_requests", stop_.count}, {"input", length_json(*input_)},        {"output", length_json(*output_)}};
  }
  // With duration_s alone the count depends on how fast requests finish: sim.max_requests is enforced as they are sent.
  double expected_requests() const override { return double(stop_.count > 0 ? stop_.count : clients_); }
  std::vector<RequestSpec> generate(uint64_t) const override { return {}; }
  StopRule stop_rule() const override { return stop_; }
  std::unique_ptr<RequestSource> source(const SourceContext& ctx) const override;

  long clients_ = 1;
  StopRule stop_;
  std::shared_ptr<const DurationSampler> think_;
  std::shared_ptr<const LengthSampler> input_, output_;
};

class Clients : public ReactiveSource {
public:
  Clients(const ClosedLoop& w, const SourceContext& ctx)
      : ReactiveSource(ctx, w.stop_.duration_s, w.stop_.count), w_(w), len_rng_(ctx.seed ^ 0x9e3779b97f4a7c15ULL),
        think_rng_(ctx.seed)
  {
    for (long c = 0; c < w.clients_; ++c)
      next(c, 0);
  }

private:
  void on_finished(const Sent& s, double t, bool) override { next(s.owner, t + w_.think_->draw(think_rng_)); }
  // Client `c` sends at `t` unless the stop rule ended the run's sending; then it retires.
  void next(long c, double t)
  {
    if (!may_start(t, created_)) return;
    const long in = w_.input_->sample(len_rng_);
    send(t, in, w_.output_->sample(len_rng_), {}, c, 0);
    last_send_ = std::max(last_send_, t);
    note_started(created_, last_send_);
  }

  const ClosedLoop& w_;
  std::mt19937_64 len_rng_, think_rng_;
  double last_send_ = 0;
};

std::unique_ptr<RequestSource> ClosedLoop::source(const SourceContext& ctx) const
{
  return std::make_unique<Clients>(*this, ctx);
}

} // namespace

std::unique_ptr<WorkloadGenerator> make_closed_loop_workload() { return std::make_unique<ClosedLoop>(); }

} // namespace fs
