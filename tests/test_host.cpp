// Host (CPU) work: the FCFS core queue, CPU pools, and what host work does to a run.
#include "catalog.hpp"
#include "host.hpp"
#include "scenario.hpp"
#include "summary.hpp"
#include "support.hpp"
#include <cmath>
#include <doctest/doctest.h>
#include <random>

using namespace fs;
using fs::test::run_in_child;
using fs::test::scenario_error;

TEST_CASE("CoreQueue: first come first served over c cores")
{
  CoreQueue q(2, 0, 10);
  CHECK(q.submit(0, 1).start == 0);
  CHECK(q.submit(0, 3).start == 0);
  const CoreQueue::Job third = q.submit(0.5, 1); // both cores busy: waits for the first to free at t=1
  CHECK(third.start == 1);
  CHECK(third.wait(0.5) == doctest::Approx(0.5));
  CHECK(q.submit(1.5, 1).start == 2); // the core that ran the third job frees first, at t=2
  CHECK(q.busy_core_s() == doctest::Approx(6));
  CoreQueue w(1, 1, 2); // only the window's core-seconds count
  w.submit(0, 3);
  CHECK(w.busy_core_s() == doctest::Approx(1));
}

TEST_CASE("CoreQueue: M/M/c waits match Erlang C")
{
  // Poisson arrivals at rate lambda, exponential work of mean 1/mu, c cores: the mean wait in queue is
  // C(c, a) / (c mu - lambda) with a = lambda / mu (Erlang C; Kleinrock, Queueing Systems vol. 1, 3.7).
  const int c = 4;
  const double lambda = 3.2, mu = 1.0, a = lambda / mu;
  double sum = 0, term = 1;
  for (int k = 0; k < c; ++k) {
    sum += term;
    term *= a / (k + 1);
  }
  const double top = term * c / (c - a); // a^c / c! * c / (c - a)
  const double erlang_c = top / (sum + top);
  const double want = erlang_c / (c * mu - lambda);
  std::mt19937_64 rng(11);
  std::exponential_distribution<double> gap(lambda), work(mu);
  CoreQueue q(c, 0, 1e300);
  double t = 0, waits = 0;
  const int n = 400'000;
  for (int i = 0; i < n; ++i) {
    t += gap(rng);
    waits += q.submit(t, work(rng)).wait(t);
  }
  MESSAGE("mean wait " << waits / n << " s, Erlang C " << want << " s");
  CHECK(waits / n == doctest::Approx(want).epsilon(0.05));
  CHECK(q.busy_core_s() / t / c == doctest::Approx(a / c).epsilon(0.02));
}

TEST_CASE("CPU pools: a CPU server preset, CPU overrides, and the errors around them")
{
  const Catalog cat = load_catalog();
  const ServerSpec& cpu = cat.servers.at("CPU-2S-EPYC-9654");
  CHECK(cpu.chips_per_server == 0);
  CHECK(cpu.chip.name.empty());
  CHECK(cpu.cpus_per_server == 2);
  Json d = read_json_file(project_file("scenarios/host_frontend_8b.json"));
  const Scenario s = parse_scenario(d, "t.json");
  CHECK(s.pool("frontend").cpu_cores() == 72); // one Grace die in place of the two EPYCs
  CHECK(s.pool("frontend").chips() == 0);
  CHECK(s.host.pool == "frontend");
  CHECK(s.host.sources.at("tokenize_core_us_per_token").find("[S137]") != std::string::npos);

  Json bad = d;
  bad["placements"][0]["pool"] = "frontend";
  CHECK(scenario_error(bad).find("placements[0].pool: pool \"frontend\" is a CPU pool") != std::string::npos);
  bad = d;
  bad["host"]["pool"] = "nowhere";
  CHECK(scenario_error(bad).find("host.pool: unknown pool \"nowhere\"") != std::string::npos);
  bad = d;
  bad["pools"][1]["cpus_per_server"] = 0;
  CHECK(scenario_error(bad).find("host.pool: pool \"frontend\" has no CPU cores") != std::string::npos);
  bad = d;
  bad["pools"][1]["chip"] = "H100";
  CHECK(scenario_error(bad).find("pools[1].chips_per_server: server CPU-2S-EPYC-9654 is a CPU server") !=
        std::string::npos);
  bad = d;
  bad["pools"][1]["cpu"] = "Pentium";
  CHECK(scenario_error(bad).find("pools[1].cpu: unknown CPU \"Pentium\"") != std::string::npos);
  bad = d;
  bad["host"]["tokenize_core_us_per_token"] = -1;
  CHECK(scenario_error(bad).find("host.tokenize_core_us_per_token") != std::string::npos);
  bad = d;
  bad["catalog"] = {{"servers",
                     {{"Odd",
                       {{"description", "a chip but none of it"},
                        {"chip", "H100"},
                        {"cpu", "Grace"},
                        {"nic", "200G"},
                        {"chips_per_server", {{"value", 0}, {"source", "t"}}},
                        {"cpus_per_server", {{"value", 1}, {"source", "t"}}},
                        {"nics_per_server", {{"value", 1}, {"source", "t"}}},
                        {"base_power_w", {{"value", 1}, {"source", "t"}}},
                        {"other_capex_usd", {{"value", 1}, {"source", "t"}}}}}}}};
  CHECK(scenario_error(bad).find("catalog.servers.Odd.chips_per_server") != std::string::npos);
}

TEST_CASE("host work: before the accelerators in TTFT, after them in E2E; the host pool costs and draws power")
{
  Json d = read_json_file(project_file("scenarios/host_frontend_8b.json"));
  d["workload"] = {{"type", "poisson"},
                   {"qps", 2},
                   {"duration_s", 60},
                   {"input", {{"type", "fixed"}, {"value", 1000}}},
                   {"output", {{"type", "fixed"}, {"value", 100}}}};
  auto report = [](const Scenario& s, const RunResult& r) {
    Json rows = Json::array();
    for (const Request& q : r.requests)
      rows.push_back({q.first_token - q.spec.arrival, q.finish - q.spec.arrival, q.host_queue_s, q.host_work_s});
    return Json{{"rows", rows}, {"summary", make_summary(s, s.placements[0], r)}};
  };
  const Json with = run_in_child(d, 0, report);
  Json plain = d;
  plain.erase("host");
  const Json without = run_in_child(plain, 0, report);
  // Every request costs the same host work and none waits for a core, so the whole run shifts by it: 1 core-ms +
  // 1000 x 2.3 core-us before the GPUs, 100 x 20 core-us after them.
  const double before = 1e-3 + 1000 * 2.3e-6, after = 100 * 20e-6;
  REQUIRE(with["rows"].size() == without["rows"].size());
  for (size_t i = 0; i < with["rows"].size(); ++i) {
    const Json &a = with["rows"][i], &b = without["rows"][i];
    CHECK(a[0].get<double>() - b[0].get<double>() == doctest::Approx(before).epsilon(1e-6));
    CHECK(a[1].get<double>() - b[1].get<double>() == doctest::Approx(before + after).epsilon(1e-6));
    CHECK(a[2].get<double>() == 0);
    CHECK(a[3].get<double>() == doctest::Approx(before + after));
  }
  const Json& h = with["summary"]["host"];
  CHECK(h["cores"] == 72);
  CHECK(h["utilization"].get<double>() == doctest::Approx(2 * (before + after) / 72).epsilon(0.1));
  CHECK(without["summary"]["host"].is_null());
  // The front-end server is part of the factory: its CPU, NIC and chassis cost and draw power.
  double cpu_w = 0;
  for (const Json& it : with["summary"]["cost"]["items"])
    if (it["group"] == "frontend" && it["kind"] == "cpu") cpu_w = it["power_w_each"].get<double>();
  CHECK(cpu_w > 0.5 * 250); // Grace: serving draw (0.5 x TDP) and a little for its busy share
  CHECK(with["summary"]["cost"]["usd_per_hour"].get<double>() >
        without["summary"]["cost"]["usd_per_hour"].get<double>());

  // Too few cores: requests queue for them and TTFT carries the wait.
  Json slow = d;
  slow["host"]["request_core_ms"] = 40000; // 2 req/s x 40 core-s = 80 cores of work on 72
  const Json queued = run_in_child(slow, 0, report);
  CHECK(queued["summary"]["host"]["queue_s"]["p99"].get<double>() > 1);
  CHECK(queued["summary"]["latency_s"]["ttft"]["p50"].get<double>() > 40);
}
