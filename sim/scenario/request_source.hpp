// Where a run's requests come from (docs/design.md, "Requests created during the run"). A list workload (poisson,
// gamma, trace, offline) is replayed as its stream draws it. Closed loops, sessions and agent graphs create
// requests as the run goes: a client's, session's or task's next request exists only once the one before it has
// finished. Pure C++: the engine's source actor drives a source with the simulated clock.
#pragma once
#include "host.hpp"
#include "scenario.hpp"
#include <limits>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

namespace fs {

class WorkloadGenerator; // workload.hpp

// One session (a multi-turn conversation) or agent task, as summary.json and sessions.csv report it.
struct SessionRecord {
  long id = 0;
  double start = 0;
  double end = -1;   // when its last request or tool call finished; -1 while it runs, or when it failed
  long requests = 0; // its LLM requests (turns, LLM steps)
  long tool_calls = 0;
  long input_tokens = 0; // prompt tokens of its requests, the context they carry included
  long output_tokens = 0;
  double llm_s = 0;        // sum over its requests of arrival to finish
  double tool_s = 0;       // sum over its tool calls of ready to done, the wait for a core included
  double tool_queue_s = 0; // of which waiting for a core
  bool failed = false;     // a request of it was dropped: it stopped there
  bool completed() const { return end >= 0 && !failed; }
};

// What a source gets from the run.
struct SourceContext {
  uint64_t seed = 1;
  long max_requests = 5'000'000; // sim.max_requests: creating more fails the run
  CoreQueue* tools = nullptr;    // the cores that tool calls queue for (agent graphs)
};

class RequestSource {
public:
  virtual ~RequestSource() = default;
  // When something is next due, an arrival or an internal event (a tool call ending); +inf when nothing is
  // pending (a finishing request may still create more).
  virtual double next_time() const = 0;
  // Processes what is due by `now` and returns the next request arriving by then (in arrival order), or nothing.
  virtual std::optional<RequestSpec> take(double now) = 0;
  // Request `id` left the system at `t` (not before now): finished, or dropped when !completed.
  virtual void finished(long id, double t, bool completed) = 0;
  // Nothing is pending and nothing outstanding can create more.
  virtual bool exhausted() const = 0;
  // Whether finishes create requests (the engine then wakes the source at each one).
  virtual bool reactive() const = 0;
  // When it stopped starting new work (the end of a "stop" measured window): +inf while not known.
  virtual double stopped_at() const { return std::numeric_limits<double>::infinity(); }
  // Its sessions or tasks (none for other workloads), and the session of each request (-1: none).
  virtual const std::vector<SessionRecord>& sessions() const;
  virtual long session_of(long) const { return -1; }
};

class RequestStream; // workload.hpp
// Replays a list workload in order, drawing each request when its arrival is next.
std::unique_ptr<RequestSource> list_source(std::unique_ptr<RequestStream> reqs);

// A part of a prompt's context: `tokens` produced by what `key` names (a session's history, an agent step).
struct Segment {
  uint64_t key = 0;
  long tokens = 0;
};

// Requests created as the run goes: a time-ordered queue of arrivals and internal events. A request's id is its
// rank in arrival order.
class ReactiveSource : public RequestSource {
public:
  // `stop_duration_s` and `stop_count` (0: none): when it stops starting new work (WorkloadGenerator::StopRule).
  ReactiveSource(const SourceContext& ctx, double stop_duration_s, long stop_count);
  double next_time() const override;
  std::optional<RequestSpec> take(double now) override;
  void finished(long id, double t, bool completed) override;
  bool exhausted() const override { return events_.empty() && open_ == 0; }
  bool reactive() const override { return true; }
  double stopped_at() const override { return stopped_at_; }
  const std::vector<SessionRecord>& sessions() const override { return sessions_; }
  long session_of(long id) const override;

protected:
  struct Sent {
    long owner = 0, tag = 0; // as send() got them
    double arrival = 0;
    long input = 0, output = 0;
  };
  // A request arriving at `t` on behalf of `owner` (a client, session or task), with `tag` (e.g. its step). With
  // hash_block_ set, its prompt is the system prompt then `context` (the owner's segments): its prefix_hashes are
  // made when it arrives, so that only requests that exist hold them.
  void send(double t, long input, long output, std::vector<Segment> context, long owner, long tag);
  void timer(double t, long owner, long tag); // on_timer(owner, tag, t) when the time comes
  // Whether new work (a request, session, task) may start at `t` when `started` already did.
  bool may_start(double t, long started) const;
  // `started` have started, the last at `t`: when that was the last the count allows, work stopped at `t`.
  void note_started(long started, double t);
  long open_session(double t); // a new session (task) starting at t: its id
  // Requests belong to sessions (tasks): their owner is the session, their prompts start with `system_tokens` shared
  // by all, and they carry prefix_hashes per `hash_block` tokens.
  void track_sessions(long hash_block, long system_tokens);
  virtual void on_finished(const Sent& s, double t, bool completed) = 0;
  virtual void on_timer(long, long, double) {}

  const SourceContext ctx_;
  long hash_block_ = 0, system_tokens_ = 0; // prefix_hashes: tokens per block (0: none), shared system prompt
  long created_ = 0;                        // requests sent so far
  bool owners_are_sessions_ = false;        // owner indexes sessions_: requests are counted into their session
  std::vector<SessionRecord> sessions_;

private:
  enum class Kind { arrival, finish, timer };
  struct Event {
    double t = 0;
    long seq = 0;
    Kind kind = Kind::timer;
    long id = 0; // finish: the request
    bool completed = true;
    Sent sent; // arrival: who sends it; timer: owner and tag
    std::vector<Segment> context;
  };
  void push(Event e);
  Event pop();

  double stop_duration_s_ = 0;
  long stop_count_ = 0;
  std::vector<Event> events_;            // a min-heap on (t, seq)
  std::unordered_map<long, Sent> taken_; // by id, while in the system (memory follows what is in flight)
  long next_id_ = 0;
  long seq_ = 0, open_ = 0; // open_: taken, finish not yet processed
  double stopped_at_ = std::numeric_limits<double>::infinity();
};

// Prefix-cache block hashes (RequestSpec::prefix_hashes) of a prompt made of `system` tokens shared by every
// prompt of the workload, then segments of the owner's context in order (each keyed by what produced it: a turn,
// a step). A block inside the system prompt hashes the same everywhere; any other block by the owner, the segments
// up to the one it ends in, and its index: two prompts give a block the same hash exactly when their tokens up to
// its end are the same.
std::vector<uint64_t> prefix_hashes(long block_tokens, long system_tokens, uint64_t owner,
                                    const std::vector<Segment>& segments);
uint64_t hash_mix(uint64_t a, uint64_t b);

// The first `max_n` requests of a workload that creates them during the run, as if each finished the moment it
// arrived and tool calls never waited: a sample of its request lengths before the run.
std::vector<RequestSpec> sample_requests(const WorkloadGenerator& g, uint64_t seed, long max_n);

} // namespace fs
