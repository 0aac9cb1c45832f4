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
