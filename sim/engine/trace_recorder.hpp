// What a run can record as it goes, for a timeline (`factorysim run --trace`): the instances' batches, queue depth
// and KV use, and the KV transfers between them. Null by default: the hooks in instance.cpp and factory.cpp are a
// pointer test when nothing records.
#pragma once
#include <string>
#include <vector>

namespace fs {

class TraceRecorder {
public:
  virtual ~TraceRecorder() = default;
  virtual void instance(int id, const std::string& name, const std::string& stage) = 0; // once, before the run
  // A micro-batch, or a fast run of `steps` identical decode steps, from `start` to `end` (s).
  virtual void batch(int id, double start, double end, int steps, long seqs, long prefill_tokens,
                     long decode_tokens) = 0;
  // An instance's queue (requests waiting, admitted) and KV blocks in use (share of its cache) at `t`.
  virtual void counters(int id, double t, long waiting, long running, double kv_used) = 0;
  // Request `request`'s KV cache moving from instance `from` to `to`.
  virtual void kv_transfer(long request, int from, int to, double start, double end, double bytes) = 0;
};

// A micro-batch (or fast run) that just landed on instance `id` (instance.cpp's Flight) and the instance's view
// after it (router.hpp's InstanceView).
template <class Flight, class View> void record_flight(TraceRecorder& t, int id, const Flight& f, const View& v)
{
  const double start = f.stage_start.empty() ? f.ends[0] - f.sum.total_s : f.stage_start[0];
  long prefill = 0;
  for (auto const& [r, chunk] : f.plan.prefill)
    prefill += chunk;
  const long decode = long(f.plan.decode.size());
  t.batch(id, start, f.end(), f.steps, long(f.plan.prefill.size()) + decode, prefill, decode * f.steps);
  const double cap = double(v.kv_capacity_blocks);
  t.counters(id, f.end(), v.waiting, v.running, cap > 0 ? 1 - double(v.kv_free_blocks) / cap : 0.0);
}

// Chrome trace events (the JSON Perfetto and chrome://tracing open), for process `pid`: a thread per instance with
// its batches as complete ("X") events, counters ("C") per instance, KV transfers as async events on a "fabric"
// thread. Keeps the first `max_events` events and counts the rest.
class ChromeTrace : public TraceRecorder {
public:
  ChromeTrace(int pid, std::string process_name, long max_events);
  void instance(int id, const std::string& name, const std::string& stage) override;
  void batch(int id, double start, double end, int steps, long seqs, long prefill_tokens, long decode_tokens) override;
  void counters(int id, double t, long waiting, long running, double kv_used) override;
  void kv_transfer(long request, int from, int to, double start, double end, double bytes) override;
  // {"events": [...], "dropped": n, "max_events": m} as JSON text.
  std::string text() const;

private:
  bool room(long n = 1);
  void add(const std::string& event); // one JSON object
  int pid_;
  long max_events_, count_ = 0, dropped_ = 0;
  std::string events_;              // JSON objects, comma-separated: compact, and cheap to append
  std::vector<std::string> names_;  // per instance id
  std::vector<std::string> quoted_; // the same, as JSON strings
};

} // namespace fs
