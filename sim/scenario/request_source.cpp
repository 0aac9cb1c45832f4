#include "request_source.hpp"
#include "workload_dynamic.hpp"
#include <algorithm>

namespace fs {

const std::vector<SessionRecord>& RequestSource::sessions() const
{
  static const std::vector<SessionRecord> none;
  return none;
}

namespace {

class ListSource : public RequestSource {
public:
  explicit ListSource(std::unique_ptr<RequestStream> reqs) : reqs_(std::move(reqs)), next_(reqs_->next()) {}
  double next_time() const override { return next_ ? next_->arrival : std::numeric_limits<double>::infinity(); }
  std::optional<RequestSpec> take(double now) override
  {
    if (!next_ || next_->arrival > now) return std::nullopt;
    std::optional<RequestSpec> r = std::move(next_);
    next_ = reqs_->next();
    return r;
  }
  void finished(long, double, bool) override {}
  bool exhausted() const override { return !next_; }
  bool reactive() const override { return false; }

private:
  std::unique_ptr<RequestStream> reqs_;
  std::optional<RequestSpec> next_; // the next arrival, drawn ahead to know its time
};

} // namespace

std::unique_ptr<RequestSource> list_source(std::unique_ptr<RequestStream> reqs)
{
  return std::make_unique<ListSource>(std::move(reqs));
}

namespace {
bool later(const auto& a, const auto& b) { return a.t != b.t ? a.t > b.t : a.seq > b.seq; }
} // namespace

ReactiveSource::ReactiveSource(const SourceContext& ctx, double stop_duration_s, long stop_count)
    : ctx_(ctx), stop_duration_s_(stop_duration_s), stop_count_(stop_count)
{
  if (stop_duration_s > 0) stopped_at_ = stop_duration_s;
}

bool ReactiveSource::may_start(double t, long started) const
{
  return WorkloadGenerator::StopRule{stop_duration_s_, stop_count_}.allows(t, started);
}

void ReactiveSource::note_started(long started, double t)
{
  if (started == stop_count_) stopped_at_ = std::min(stopped_at_, t);
}

void ReactiveSource::push(Event e)
{
  e.seq = seq_++;
  events_.push_back(std::move(e));
  std::push_heap(events_.begin(), events_.end(), [](const Event& a, const Event& b) { return later(a, b); });
}

ReactiveSource::Event ReactiveSource::pop()
{
  std::pop_heap(events_.begin(), events_.end(), [](const Event& a, const Event& b) { return later(a, b); });
  Event e = std::move(events_.back());
  events_.pop_back();
  return e;
}

double ReactiveSource::next_time() const
{
  return events_.empty() ? std::numeric_limits<double>::infinity() : events_.front().t;
}

void ReactiveSource::send(double t, long input, long output, std::vector<Segment> context, long owner, long tag)
{
  if (created_ >= ctx_.max_requests)
    throw InputError("workload: more than sim.max_requests = " + std::to_string(ctx_.max_requests) +
                     " requests before its stop rule ended it (short requests without think time send many); raise "
                     "sim.max_requests or lower duration_s");
  created_++;
  Event e;
  e.t = t;
  e.kind = Kind::arrival;
  e.sent = {owner, tag, t, input, output};
  e.context = std::move(context);
  push(std::move(e));
}

void ReactiveSource::timer(double t, long owner, long tag)
{
  Event e;
  e.t = t;
  e.kind = Kind::timer;
  e.sent.owner = owner;
  e.sent.tag = tag;
  push(std::move(e));
}

void ReactiveSource::finished(long id, double t, bool completed)
{
  Event e;
  e.t = t;
  e.kind = Kind::finish;
  e.id = id;
  e.completed = completed;
  push(std::move(e));
}

std::optional<RequestSpec> ReactiveSource::take(double now)
{
  while (!events_.empty() && events_.front().t <= now) {
    Event e = pop();
    if (e.kind == Kind::arrival) {
      RequestSpec r{.output_tokens = e.sent.output,
                    .id = next_id_++,
                    .arrival = e.t,
                    .input_tokens = e.sent.input,
                    .prefix_hashes = prefix_hashes(hash_block_, system_tokens_, uint64_t(e.sent.owner), e.context)};
      taken_.emplace(r.id, e.sent);
      open_++;
      return r;
    }
    if (e.kind == Kind::timer) {
      on_timer(e.sent.owner, e.sent.tag, e.t);
      continue;
    }
    open_--;
    const auto it = taken_.find(e.id);
    const Sent s = it->second;
    taken_.erase(it);
    if (owners_are_sessions_) {
      SessionRecord& rec = sessions_[size_t(s.owner)];
      rec.requests++;
      rec.input_tokens += s.input;
      rec.output_tokens += s.output;
      rec.llm_s += e.t - s.arrival;
      rec.failed = rec.failed || !e.completed;
    }
    on_finished(s, e.t, e.completed);
  }
  return std::nullopt;
}

long ReactiveSource::session_of(long id) const
{
  if (!owners_are_sessions_) return -1;
  const auto it = taken_.find(id);
  return it == taken_.end() ? -1 : it->second.owner;
}

long ReactiveSource::open_session(double t)
{
  SessionRecord rec;
  rec.id = long(sessions_.size());
  rec.start = t;
  sessions_.push_back(rec);
  return rec.id;
}

void ReactiveSource::track_sessions(long hash_block, long system_tokens)
{
  owners_are_sessions_ = true;
  hash_block_ = hash_block;
  system_tokens_ = system_tokens;
}

WorkloadGenerator::StopRule parse_stop(const JsonNode& n, const char* count_key, const std::string& what_stops)
{
  WorkloadGenerator::StopRule r{n.number("duration_s", 0), n.integer(count_key, 0)};
  if (r.duration_s == 0 && r.count == 0)
    n.fail("duration_s", std::string("give duration_s or ") + count_key + " (> 0): when " + what_stops);
  return r;
}

double renewal_gap(double rate, double cv, std::mt19937_64& rng)
{
  const double shape = 1.0 / (cv * cv); // CV of a Gamma(k, theta) gap is 1/sqrt(k); k = 1 is exponential
  return std::gamma_distribution<double>(shape, 1.0 / (rate * shape))(rng);
}

uint64_t hash_mix(uint64_t a, uint64_t b)
{
  // splitmix64's finaliser over a combination of both
  uint64_t z = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::vector<uint64_t> prefix_hashes(long block, long system, uint64_t owner, const std::vector<Segment>& segs)
{
  std::vector<uint64_t> h;
  if (block <= 0) return h;
  long total = system;
  for (const Segment& s : segs)
    total += s.tokens;
  h.reserve(size_t(total / block));
  uint64_t roll = hash_mix(0x5e551095ULL, owner);
  long folded = system; // tokens of the system prompt and the segments folded into `roll`
  size_t j = 0;
  for (long i = 0; (i + 1) * block <= total; ++i) {
    const long end = (i + 1) * block;
    if (end <= system) {
      h.push_back(hash_mix(0x5957e3ULL, uint64_t(i)));
      continue;
    }
    for (; folded < end; ++j) {
      folded += segs[j].tokens;
      if (segs[j].tokens > 0) roll = hash_mix(roll, segs[j].key);
    }
    h.push_back(hash_mix(roll, uint64_t(i)));
  }
  return h;
}

std::vector<RequestSpec> sample_requests(const WorkloadGenerator& g, uint64_t seed, long max_n)
{
  CoreQueue cores(1L << 40, 0, 0); // tool calls never wait
  SourceContext ctx{seed, std::numeric_limits<long>::max(), &cores};
  std::unique_ptr<RequestSource> src = g.source(ctx);
  std::vector<RequestSpec> out;
  while (long(out.size()) < max_n) {
    const double t = src->next_time();
    if (t == std::numeric_limits<double>::infinity()) break;
    while (long(out.size()) < max_n) {
      std::optional<RequestSpec> r = src->take(t);
      if (!r) break;
      src->finished(r->id, t, true);
      out.push_back(std::move(*r));
    }
  }
  return out;
}

} // namespace fs
