// Agent tasks: tasks arrive (Poisson, or Gamma with cv) and each runs the graph of steps (agent_graph.hpp). A step
// starts when every step it waits for is done. An LLM step is a request whose prompt is the task's context so far
// along its paths (every ancestor's contribution, in the graph's order: an LLM step's prompt tokens and output, a
// tool's result) plus its own new tokens, after an optional system prompt shared by every task; steps of one task
// share the blocks of their common ancestors in prefix_hashes. A tool step is a job on one core of the tool pool,
// first come first served.
#include "agent_graph.hpp"
#include "workload_dynamic.hpp"

namespace fs {

namespace {

class Agents : public WorkloadGenerator {
public:
  void parse(const JsonNode& n, const std::string& file) override
  {
    rate_ = n.number("tasks_per_s");
    cv_ = n.number("cv", 1);
    stop_ = parse_stop(n, "num_tasks", "new tasks stop arriving");
    graph_ = parse_agent_graph(n.at("steps"), file);
    tool_pool_ = n.string("tool_pool", "");
    if (!tool_pool_.empty() && !graph_.has_tools()) n.fail("tool_pool", "the graph has no tool steps");
    system_tokens_ = n.integer("system_tokens", 0);
    block_ = n.integer("hash_block_tokens", 512);
  }
  const ObjectSpec& spec() const override
  {
    static const ObjectSpec o{
        "agents",
        "agent tasks: each runs a graph of LLM and tool steps",
        {required(positive("tasks_per_s", 1e6, "tasks arrive at this mean rate (Poisson; Gamma with cv)")),
         num("cv", 0.01, 100, "coefficient of variation of the gaps between tasks (default 1: Poisson)"),
         num("duration_s", 0, 1e8, "no task arrives after this time (0: no limit)"),
         integer("num_tasks", 0, 1e9, "tasks in all (0: until duration_s)"),
         required(array_of("steps", agent_step_spec(), "the graph every task runs")),
         text("tool_pool", "the pool whose CPU cores run tool steps (default: the scenario's host pool)"),
         integer("system_tokens", 0, 1e7, "a system prompt shared by every task, before its context (default 0)"),
         integer("hash_block_tokens", 16, 1e6, "prompt tokens per prefix_hashes entry (default 512, as Mooncake)")}};
    return o;
  }
  Json to_json() const override
  {
    Json j = {{"tasks_per_s", rate_},           {"cv", cv_},
              {"duration_s", stop_.duration_s}, {"num_tasks", stop_.count},
              {"steps", graph_.to_json()},      {"system_tokens", system_tokens_},
              {"hash_block_tokens", block_}};
    if (!tool_pool_.empty()) j["tool_pool"] = tool_pool_;
    return j;
  }
  double expected_requests() const override
  {
    const double tasks = stop_.count > 0 ? double(stop_.count) : rate_ * stop_.duration_s;
    return tasks * double(std::count_if(graph_.steps.begin(), graph_.steps.end(), [](auto& s) { return s.llm; }));
  }
  std::vector<RequestSpec> generate(uint64_t) const override { return {}; }
  long prefix_block_tokens() const override { return block_; }
  StopRule stop_rule() const override { return stop_; }
  bool has_tool_calls() const override { return graph_.has_tools(); }
  std::string tool_pool() const override { return tool_pool_; }
  std::unique_ptr<RequestSource> source(const SourceContext& ctx) const override;

  double rate_ = 1, cv_ = 1;
  long system_tokens_ = 0, block_ = 512;
  StopRule stop_;
  AgentGraph graph_;
  std::string tool_pool_;
};

class Tasks : public ReactiveSource {
public:
  Tasks(const Agents& w, const SourceContext& ctx)
      : ReactiveSource(ctx, w.stop_.duration_s, w.stop_.count), w_(w), gap_rng_(ctx.seed),
        len_rng_(ctx.seed ^ 0x9e3779b97f4a7c15ULL), tool_rng_(ctx.seed ^ 0x7f4a7c159e3779b9ULL)
  {
    track_sessions(w.block_, w.system_tokens_);
    timer(gap(), -1, 0);
  }

private:
  struct State {
    std::vector<int> waiting;  // per step: steps it still waits for
    std::vector<long> context; // per step: tokens it adds to its successors' context
    size_t left = 0;           // steps not done
  };

  double gap() { return renewal_gap(w_.rate_, w_.cv_, gap_rng_); }
  // owner -1: a task arrives; else step `tag` of task `owner` (a tool call) is done.
  void on_timer(long owner, long tag, double t) override
  {
    if (owner >= 0) {
      done(owner, int(tag), t);
      return;
    }
    if (!may_start(t, long(sessions_.size()))) return;
    const long id = open_session(t);
    const size_t n = w_.graph_.steps.size();
    State st{std::vector<int>(n), std::vector<long>(n, 0), n};
    for (size_t k = 0; k < n; ++k)
      st.waiting[k] = w_.graph_.steps[k].preds;
    state_.push_back(std::move(st));
    note_started(long(sessions_.size()), t);
    for (size_t k = 0; k < n; ++k)
      if (w_.graph_.steps[k].preds == 0) begin(id, int(k), t);
    timer(t + gap(), -1, 0);
  }
  void begin(long task, int k, double t)
  {
    const AgentStep& step = w_.graph_.steps[size_t(k)];
    State& st = state_[size_t(task)];
    if (!step.llm) {
      const CoreQueue::Job j = ctx_.tools->submit(t, step.service->draw(tool_rng_));
      st.context[size_t(k)] = step.output ? step.output->sample(len_rng_) : 0;
      SessionRecord& rec = sessions_[size_t(task)];
      rec.tool_calls++;
      rec.tool_s += j.finish - t;
      rec.tool_queue_s += j.wait(t);
      timer(j.finish, task, k);
      return;
    }
    std::vector<Segment> segs;
    long prompt = system_tokens_;
    for (int a : step.ancestors) {
      segs.push_back({uint64_t(a), st.context[size_t(a)]});
      prompt += st.context[size_t(a)];
    }
    const long own = step.input->sample(len_rng_), out = step.output->sample(len_rng_);
    segs.push_back({uint64_t(k), own});
    st.context[size_t(k)] = own + out;
    send(t, prompt + own, out, std::move(segs), task, k);
  }
  void on_finished(const Sent& s, double t, bool) override { done(s.owner, int(s.tag), t); }
  void done(long task, int k, double t)
  {
    State& st = state_[size_t(task)];
    SessionRecord& rec = sessions_[size_t(task)];
    st.left--;
    if (rec.failed) return; // a dropped request ends the task: nothing after it starts
    for (int s : w_.graph_.steps[size_t(k)].succs)
      if (--st.waiting[size_t(s)] == 0) begin(task, s, t);
    if (st.left == 0) rec.end = t;
  }

  const Agents& w_;
  std::mt19937_64 gap_rng_, len_rng_, tool_rng_;
  std::vector<State> state_;
};

std::unique_ptr<RequestSource> Agents::source(const SourceContext& ctx) const
{
  return std::make_unique<Tasks>(*this, ctx);
}

} // namespace

std::unique_ptr<WorkloadGenerator> make_agents_workload() { return std::make_unique<Agents>(); }

} // namespace fs
