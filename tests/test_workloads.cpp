// Workloads as users run them: offline batches, closed-loop clients, multi-turn sessions and agent graphs. The
// sources are driven without SimGrid where the engine does not matter, and run in a forked child where it does.
#include "catalog.hpp"
#include "summary.hpp"
#include "support.hpp"
#include "workload.hpp"
#include <algorithm>
#include <cmath>
#include <doctest/doctest.h>
#include <fstream>
#include <map>

using namespace fs;
using fs::test::run_in_child;
using fs::test::scenario_error;

namespace {

Json length(long v) { return {{"type", "fixed"}, {"value", v}}; }

Json doc(const Json& workload)
{
  return {{"name", "t"},
          {"seed", 3},
          {"model", "Llama-3.1-8B"},
          {"pools",
           {{{"name", "h100"}, {"server", "HGX-H100-8"}, {"servers", 1}},
            {{"name", "cpu"}, {"server", "CPU-2S-EPYC-9654"}, {"servers", 1}}}},
          {"placements", {{{"name", "co"}, {"type", "colocated"}, {"pool", "h100"}, {"instances", 2}, {"tp", 1}}}},
          {"workload", workload}};
}

Json closed_loop(long clients, double think_s, double duration_s)
{
  return {{"type", "closed_loop"},
          {"clients", clients},
          {"think_time", {{"type", "exponential"}, {"mean", think_s}}},
          {"duration_s", duration_s},
          {"input", {{"type", "uniform"}, {"min", 200}, {"max", 3000}}},
          {"output", {{"type", "uniform"}, {"min", 20}, {"max", 300}}}};
}

Json agents(double rate)
{
  return Json::parse(R"({"type": "agents", "tasks_per_s": )" + std::to_string(rate) + R"(, "duration_s": 20,
    "system_tokens": 1024, "tool_pool": "cpu", "steps": [
      {"id": "plan", "kind": "llm", "input": {"type": "fixed", "value": 700}, "output": {"type": "fixed", "value": 300}},
      {"id": "search_a", "kind": "tool", "after": ["plan"], "service_s": {"type": "fixed", "value": 2},
       "output": {"type": "fixed", "value": 1000}},
      {"id": "search_b", "kind": "tool", "after": ["plan"], "service_s": {"type": "fixed", "value": 2}},
      {"id": "read_a", "kind": "llm", "after": ["search_a"], "input": {"type": "fixed", "value": 100},
       "output": {"type": "fixed", "value": 50}},
      {"id": "read_b", "kind": "llm", "after": ["search_b"], "input": {"type": "fixed", "value": 100},
       "output": {"type": "fixed", "value": 50}},
      {"id": "join", "kind": "llm", "after": ["read_a", "read_b"], "input": {"type": "fixed", "value": 10},
       "output": {"type": "fixed", "value": 100}}]})");
}

// Per request: arrival, finish, output tokens, and its session (-1: none).
Json request_rows(const RunResult& r)
{
  Json rows = Json::array();
  for (size_t i = 0; i < r.requests.size(); ++i) {
    const Request& q = r.requests[i];
    rows.push_back(
        {q.spec.arrival, q.finish, q.spec.output_tokens, r.request_session.empty() ? -1 : r.request_session[i]});
  }
  return rows;
}

Json run(const Json& d)
{
  return run_in_child(d, 0, [](const Scenario& s, const RunResult& r) {
    Json ends = Json::array();
    for (const SessionRecord& x : r.sessions)
      ends.push_back(x.end);
    return Json{{"summary", make_summary(s, s.placements[0], r)}, {"requests", request_rows(r)}, {"ends", ends}};
  });
}

// Drives a source without the engine: every request finishes `service_s` after it arrives.
struct Driven {
  std::vector<RequestSpec> requests;
  std::vector<long> session;
  std::vector<SessionRecord> sessions;
};
Driven drive(const Scenario& s, double service_s, CoreQueue* tools = nullptr)
{
  std::unique_ptr<RequestSource> src = s.workload.generator->source({s.seed, 1'000'000, tools});
  Driven d;
  std::multimap<double, long> running;
  while (true) {
    const double t = std::min(src->next_time(), running.empty() ? INFINITY : running.begin()->first);
    if (std::isinf(t)) break;
    for (; !running.empty() && running.begin()->first <= t; running.erase(running.begin()))
      src->finished(running.begin()->second, running.begin()->first, true);
    while (std::optional<RequestSpec> r = src->take(t)) {
      running.emplace(t + service_s, r->id);
      d.session.push_back(src->session_of(r->id));
      d.requests.push_back(std::move(*r));
    }
  }
  CHECK(src->exhausted());
  d.sessions = src->sessions();
  return d;
}

} // namespace

TEST_CASE("offline batch: every request at t=0, measured until the makespan")
{
  Json w = {{"type", "offline"}, {"num_requests", 300}, {"input", length(1500)}, {"output", length(120)}};
  const Json o = run(doc(w));
  const Json& s = o["summary"];
  double makespan = 0, out = 0;
  for (const Json& q : o["requests"]) {
    CHECK(q[0].get<double>() == 0);
    makespan = std::max(makespan, q[1].get<double>());
    out += q[2].get<double>();
  }
  CHECK(s["window_s"]["rule"] == "makespan");
  CHECK(s["window_s"]["start"].get<double>() == 0);
  CHECK(s["window_s"]["end"].get<double>() == doctest::Approx(makespan).epsilon(1e-12));
  CHECK(s["throughput"]["output_tokens_per_s"].get<double>() == doctest::Approx(out / makespan).epsilon(1e-9));
  CHECK(s["throughput"]["input_tokens_per_s"].get<double>() == doctest::Approx(300 * 1500 / makespan).epsilon(1e-9));
  CHECK(s["status"]["verdict"] == "ok");

  // An Azure trace whose timestamps are all equal is the same kind of batch.
  const std::string csv = "/tmp/factorysim_offline_" + std::to_string(getpid()) + ".csv";
  std::ofstream(csv) << "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.0,374,44\n"
                        "2023-11-16 18:15:46.0,396,109\n2023-11-16 18:15:46.0,800,12\n";
  Json t = doc({{"type", "trace"}, {"path", csv}});
  CHECK(parse_scenario(t, "t.json").window.rule == "makespan");
  t["sim"] = {{"cooldown_s", 1}};
  CHECK(scenario_error(t).find("sim.cooldown_s: every request arrives at once") != std::string::npos);
  std::remove(csv.c_str());
}

TEST_CASE("closed loop: never more than `clients` requests in the system; one client sends back to back")
{
  const Json o = run(doc(closed_loop(6, 0.2, 40)));
  // Sweep arrivals (+1) and finishes (-1), a finish first at equal times: the client sends its next one then.
  std::vector<std::pair<double, int>> ev;
  for (const Json& q : o["requests"]) {
    ev.push_back({q[0].get<double>(), +1});
    ev.push_back({q[1].get<double>(), -1});
  }
  std::sort(ev.begin(), ev.end());
  int in = 0, most = 0;
  for (auto const& [t, d] : ev)
    most = std::max(most, in += d);
  CHECK(most == 6);
  CHECK(o["requests"].size() > 60);
  for (const Json& q : o["requests"])
    CHECK(q[0].get<double>() <= 40);
  const Json& w = o["summary"]["window_s"];
  CHECK(w["rule"] == "stop");
  CHECK(w["start"].get<double>() == doctest::Approx(4));
  CHECK(w["end"].get<double>() == doctest::Approx(40));

  Json one = doc(closed_loop(1, 0, 30));
  one["workload"]["think_time"] = {{"type", "fixed"}, {"value", 0.25}};
  const Json c1 = run(one)["requests"];
  REQUIRE(c1.size() > 5);
  for (size_t i = 1; i < c1.size(); ++i)
    CHECK(c1[i][0].get<double>() == doctest::Approx(c1[i - 1][1].get<double>() + 0.25).epsilon(1e-12));
}

TEST_CASE("closed loop: a count stops it, the window ends at the last send, fast = exact")
{
  Json d = doc(closed_loop(3, 0.1, 0));
  d["workload"]["num_requests"] = 40;
  d["workload"].erase("duration_s");
  const Json fast = run(d);
  CHECK(fast["requests"].size() == 40);
  double last = 0;
  for (const Json& q : fast["requests"])
    last = std::max(last, q[0].get<double>());
  CHECK(fast["summary"]["window_s"]["end"].get<double>() == doctest::Approx(last).epsilon(1e-12));
  d["sim"] = {{"mode", "exact"}};
  const Json exact = run(d);
  REQUIRE(exact["requests"].size() == 40);
  for (size_t i = 0; i < 40; ++i) {
    CHECK(fast["requests"][i][0].get<double>() == doctest::Approx(exact["requests"][i][0].get<double>()).epsilon(1e-9));
    CHECK(fast["requests"][i][1].get<double>() == doctest::Approx(exact["requests"][i][1].get<double>()).epsilon(1e-9));
  }
  d["sim"] = {{"cooldown_s", 1}};
  CHECK(scenario_error(d).find("sim.cooldown_s: this workload's measured window ends") != std::string::npos);
  d = doc(closed_loop(3, 0.1, 10));
  d["sim"] = {{"warmup_s", 10}};
  CHECK(scenario_error(d).find("sim.warmup_s: warmup_s (10) + cooldown_s (0) leave no measured window") !=
        std::string::npos);
  d = doc(closed_loop(3, 0.1, 0));
  CHECK(scenario_error(d).find("workload.duration_s: give duration_s or num_requests") != std::string::npos);
}

TEST_CASE("sessions: each turn carries the context so far, and its blocks repeat the earlier turns' hashes")
{
  Json w = {{"type", "sessions"},
            {"sessions_per_s", 0.5},
            {"duration_s", 40},
            {"turns", {{"type", "uniform"}, {"min", 2}, {"max", 6}}},
            {"input", {{"type", "uniform"}, {"min", 50}, {"max", 900}}},
            {"output", {{"type", "uniform"}, {"min", 10}, {"max", 700}}},
            {"think_time", {{"type", "fixed"}, {"value", 3}}},
            {"system_tokens", 700},
            {"hash_block_tokens", 256}};
  const Scenario s = parse_scenario(doc(w), "t.json");
  CHECK(s.prefix_block_tokens == 256);
  CHECK(s.requests == nullptr);
  const Driven d = drive(s, 1.5);
  REQUIRE(d.sessions.size() > 10);
  std::map<long, std::vector<size_t>> turns; // session -> its requests in order
  for (size_t i = 0; i < d.requests.size(); ++i)
    turns[d.session[i]].push_back(i);
  for (const SessionRecord& rec : d.sessions) {
    const std::vector<size_t>& t = turns[rec.id];
    CHECK(rec.completed());
    CHECK(long(t.size()) == rec.requests);
    CHECK(d.requests[t[0]].arrival == rec.start);
    CHECK(rec.end == doctest::Approx(d.requests[t.back()].arrival + 1.5));
    for (size_t k = 0; k < t.size(); ++k) {
      const RequestSpec& r = d.requests[t[k]];
      CHECK(long(r.prefix_hashes.size()) == r.input_tokens / 256);
      if (k == 0) continue;
      const RequestSpec& p = d.requests[t[k - 1]];
      CHECK(r.arrival == doctest::Approx(p.arrival + 1.5 + 3));
      const long fresh = r.input_tokens - p.input_tokens - p.output_tokens; // the turn's new tokens
      CHECK(fresh >= 50);
      CHECK(fresh <= 900);
      // Every block of the earlier prompt lies inside this one's context: same hash at the same position.
      CHECK(std::equal(p.prefix_hashes.begin(), p.prefix_hashes.end(), r.prefix_hashes.begin()));
    }
  }
  // The system prompt's two whole blocks are shared by every session; the next block is the session's own.
  const RequestSpec &a = d.requests[turns[0][0]], &b = d.requests[turns[1][0]];
  CHECK(a.prefix_hashes[0] == b.prefix_hashes[0]);
  CHECK(a.prefix_hashes[1] == b.prefix_hashes[1]);
  if (a.prefix_hashes.size() > 2 && b.prefix_hashes.size() > 2) CHECK(a.prefix_hashes[2] != b.prefix_hashes[2]);

  // Users run one session after another: never more than `users` sessions at once.
  w.erase("sessions_per_s");
  w["users"] = 3;
  const Driven u = drive(parse_scenario(doc(w), "t.json"), 1.5);
  std::vector<std::pair<double, int>> ev;
  for (const SessionRecord& rec : u.sessions) {
    ev.push_back({rec.start, +1});
    ev.push_back({rec.end, -1});
  }
  std::sort(ev.begin(), ev.end());
  int in = 0, most = 0;
  for (auto const& [t, dlt] : ev)
    most = std::max(most, in += dlt);
  CHECK(most == 3);
  w["sessions_per_s"] = 1;
  CHECK(scenario_error(doc(w)).find("workload.sessions_per_s: give either sessions_per_s") != std::string::npos);
}

TEST_CASE("agent graphs: a cycle, a dangling or repeated reference and a duplicate id are errors naming the step")
{
  auto error = [](const std::string& steps) {
    Json w = agents(1);
    w["steps"] = Json::parse(steps);
    return scenario_error(doc(w));
  };
  const std::string llm =
      R"("kind": "llm", "input": {"type": "fixed", "value": 10}, "output": {"type": "fixed", "value": 5})";
  const std::string cycle = error(R"([{"id": "a", )" + llm + R"(}, {"id": "b", )" + llm + R"(, "after": ["a", "d"]},
      {"id": "c", )" + llm + R"(, "after": ["b"]}, {"id": "d", )" +
                                  llm + R"(, "after": ["c"]}])");
  MESSAGE(cycle);
  CHECK(cycle.find("t.json: workload.steps[") != std::string::npos);
  CHECK(cycle.find("].after: step \"") != std::string::npos);
  CHECK(cycle.find("is on a cycle") != std::string::npos);
  for (const char* id : {"\"b\"", "\"c\"", "\"d\""})
    CHECK(cycle.find(id) != std::string::npos);
  CHECK(cycle.find("\"a\"") == std::string::npos);
  CHECK(error(R"([{"id": "a", )" + llm + R"(, "after": ["a"]}])").find("step \"a\" is on a cycle: \"a\" -> \"a\"") !=
        std::string::npos);
  CHECK(error(R"([{"id": "a", )" + llm + R"(}, {"id": "b", )" + llm + R"(, "after": ["a", "x"]}])")
            .find("workload.steps[1].after[1]: step \"b\" waits for \"x\", which is no step's id") !=
        std::string::npos);
  CHECK(error(R"([{"id": "a", )" + llm + R"(}, {"id": "a", )" + llm + R"(}])")
            .find("workload.steps[1].id: duplicate step id \"a\" (also steps[0])") != std::string::npos);
  CHECK(error(R"([{"id": "a", )" + llm + R"(}, {"id": "b", )" + llm + R"(, "after": ["a", "a"]}])")
            .find("workload.steps[1].after[1]: \"a\" is listed twice") != std::string::npos);
  CHECK(error(R"([{"id": "a", "kind": "tool", "service_s": {"type": "fixed", "value": 1}}])")
            .find("workload.steps: expected at least one llm step") != std::string::npos);
  CHECK(error(R"([{"id": "a", )" + llm + R"(, "service_s": {"type": "fixed", "value": 1}}])")
            .find("workload.steps[0].service_s: applies to tool steps") != std::string::npos);
  CHECK(error(R"([{"id": "a", "kind": "think", "input": {"type": "fixed", "value": 1}}])")
            .find("workload.steps[0].kind: unknown kind \"think\"") != std::string::npos);
  Json w = agents(1);
  w.erase("tool_pool");
  CHECK(scenario_error(doc(w)).find("workload.tool_pool: the graph has tool steps") != std::string::npos);
  w["tool_pool"] = "h100x";
  CHECK(scenario_error(doc(w)).find("workload.tool_pool: unknown pool \"h100x\"") != std::string::npos);
}

TEST_CASE("agent graphs: steps wait for their inputs, prompts carry the context along their paths, tools queue")
{
  const Scenario s = parse_scenario(doc(agents(1)), "t.json");
  CoreQueue one_core(1, 0, 1e9); // every tool call waits for the one before it
  const Driven d = drive(s, 1.0, &one_core);
  REQUIRE(d.sessions.size() > 10);
  std::map<long, std::vector<size_t>> steps;
  for (size_t i = 0; i < d.requests.size(); ++i)
    steps[d.session[i]].push_back(i);
  double queued = 0;
  for (const SessionRecord& rec : d.sessions) {
    const std::vector<size_t>& r = steps[rec.id];
    REQUIRE(r.size() == 4); // plan, read_a and read_b (in either order), join
    CHECK(rec.requests == 4);
    CHECK(rec.tool_calls == 2);
    const RequestSpec &plan = d.requests[r[0]], &join = d.requests[r[3]];
    CHECK(plan.input_tokens == 1024 + 700);
    std::vector<long> reads = {d.requests[r[1]].input_tokens, d.requests[r[2]].input_tokens};
    std::sort(reads.begin(), reads.end());
    // read_b: system + plan (700 + 300) + its own 100; read_a also sees search_a's 1000 result tokens.
    CHECK(reads == std::vector<long>{1024 + 1000 + 100, 1024 + 1000 + 1000 + 100});
    // join: system + plan + search_a's result + both reads (100 + 50 each) + its own 10.
    CHECK(join.input_tokens == 1024 + 1000 + 1000 + 2 * 150 + 10);
    CHECK(plan.arrival == rec.start);
    CHECK(d.requests[r[1]].arrival >= plan.arrival + 1.0 + 2.0);
    CHECK(rec.end == doctest::Approx(join.arrival + 1.0));
    CHECK(rec.tool_s >= 4.0);
    queued += rec.tool_queue_s;
    // The steps of a task share the blocks of their common prefix: the system prompt and the plan.
    for (size_t k = 1; k < 4; ++k)
      CHECK(std::equal(plan.prefix_hashes.begin(), plan.prefix_hashes.begin() + 2,
                       d.requests[r[k]].prefix_hashes.begin()));
    CHECK(join.prefix_hashes.size() == size_t(join.input_tokens / 512));
  }
  CHECK(queued > 0); // two searches at once on one core
}

TEST_CASE("agent graphs on the engine: per-task metrics, tool pool in the cost, $ per task")
{
  const Json o = run(doc(agents(1)));
  const Json& s = o["summary"];
  const Json& t = s["sessions"];
  REQUIRE(t.is_object());
  CHECK(t["workload"] == "agents");
  CHECK(t["failed"] == 0);
  CHECK(t["completed"] == t["started"]);
  CHECK(t["requests_per_session"].get<double>() == 4);
  CHECK(t["tool_calls_per_session"].get<double>() == 2);
  CHECK(t["tool_s"]["mean"].get<double>() == doctest::Approx(4)); // two 2 s calls on 192 idle cores
  CHECK(t["e2e_s"]["p50"].get<double>() > 4);
  CHECK(t["tokens_per_session"]["output"].get<double>() == 500);
  CHECK(t["tool_pool"]["pool"] == "cpu");
  CHECK(t["tool_pool"]["utilization"].get<double>() == doctest::Approx(4.0 / 192).epsilon(0.2));
  // Tasks per hour: those completing inside the window, per hour of it.
  const double start = s["window_s"]["start"].get<double>(), end = s["window_s"]["end"].get<double>();
  double done = 0;
  for (const Json& e : o["ends"])
    done += e.get<double>() >= start && e.get<double>() <= end;
  const double per_hour = t["completed_per_hour"].get<double>();
  CHECK(per_hour == doctest::Approx(done / (end - start) * 3600));
  CHECK(done > 5);
  CHECK(t["usd_per_session"].get<double>() == doctest::Approx(s["cost"]["usd_per_hour"].get<double>() / per_hour));
  CHECK(s["cost"]["usd_per_session"] == t["usd_per_session"]);
  bool cpu_pool = false;
  for (const Json& it : s["cost"]["items"])
    cpu_pool = cpu_pool || (it["group"] == "cpu" && it["kind"] == "cpu");
  CHECK(cpu_pool); // the tool pool is part of the factory
  for (const Json& q : o["requests"])
    CHECK(q[3].get<long>() >= 0);
}
