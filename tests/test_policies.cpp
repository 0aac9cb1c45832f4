// Routers, workload generators and percentiles: the pure policies around the engine.
#include "progress.hpp"
#include "router.hpp"
#include "scan.hpp"
#include "summary.hpp"
#include "workload.hpp"
#include <cmath>
#include <doctest/doctest.h>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>
#include <unistd.h>

using namespace fs;

namespace {
std::vector<InstanceView> views(std::vector<long> outstanding, std::vector<long> free_blocks)
{
  std::vector<InstanceView> v(outstanding.size());
  for (size_t i = 0; i < v.size(); ++i) {
    v[i].outstanding = outstanding[i];
    v[i].kv_free_blocks = free_blocks[i];
    v[i].kv_block_tokens = 16;
  }
  return v;
}
Request prompt(long tokens)
{
  Request r;
  r.spec.input_tokens = tokens;
  return r;
}
WorkloadConfig workload(const Json& j) { return parse_workload(JsonNode(j, "w.json", "workload"), "w.json"); }
} // namespace

TEST_CASE("routers pick from instance views")
{
  const auto v = views({50, 10, 30}, {0, 2, 100});
  auto rr = router_registry().make("round_robin", 1);
  CHECK(rr->pick(v, prompt(1)) == 0);
  CHECK(rr->pick(v, prompt(1)) == 1);
  CHECK(rr->pick(v, prompt(1)) == 2);
  CHECK(rr->pick(v, prompt(1)) == 0);
  CHECK(router_registry().make("least_outstanding", 1)->pick(v, prompt(1)) == 1);
  // kv_aware: 100 tokens need 7 blocks, which only instance 2 has free now; 16 tokens fit instance 1 too.
  auto kv = router_registry().make("kv_aware", 1);
  CHECK(kv->pick(v, prompt(100)) == 2);
  CHECK(kv->pick(v, prompt(16)) == 1);
  CHECK(kv->pick(v, prompt(10000)) == 1); // fits nowhere now: least outstanding
  auto r1 = router_registry().make("random", 42), r2 = router_registry().make("random", 42);
  for (int i = 0; i < 20; ++i) {
    const size_t a = r1->pick(v, prompt(1));
    CHECK(a == r2->pick(v, prompt(1))); // seeded
    CHECK(a < 3);
  }
}

TEST_CASE("Poisson arrivals: count, rate and lengths")
{
  WorkloadConfig w = workload({{"type", "poisson"},
                               {"qps", 20},
                               {"duration_s", 500},
                               {"input", {{"type", "fixed"}, {"value", 100}}},
                               {"output", {{"type", "uniform"}, {"min", 10}, {"max", 20}}}});
  const auto reqs = generate_workload(w, 5);
  CHECK(double(reqs.size()) == doctest::Approx(10000).epsilon(0.03));
  CHECK(reqs.back().arrival <= 500);
  for (size_t i = 1; i < reqs.size(); ++i)
    CHECK(reqs[i].arrival >= reqs[i - 1].arrival);
  for (const RequestSpec& r : reqs) {
    CHECK(r.input_tokens == 100);
    CHECK(r.output_tokens >= 10);
    CHECK(r.output_tokens <= 20);
  }
  CHECK(generate_workload(w, 5).size() == reqs.size()); // same seed, same list
  CHECK(generate_workload(w, 6).front().arrival != reqs.front().arrival);
}

TEST_CASE("Gamma arrivals have the requested coefficient of variation; lognormal lengths their median")
{
  WorkloadConfig w = workload({{"type", "gamma"},
                               {"qps", 10},
                               {"cv", 3},
                               {"num_requests", 20000},
                               {"input", {{"type", "lognormal"}, {"mean", 1155}, {"median", 1020}}},
                               {"output", {{"type", "fixed"}, {"value", 1}}}});
  const auto reqs = generate_workload(w, 9);
  REQUIRE(reqs.size() == 20000);
  std::vector<double> gaps, in;
  for (size_t i = 1; i < reqs.size(); ++i)
    gaps.push_back(reqs[i].arrival - reqs[i - 1].arrival);
  const double mean = std::accumulate(gaps.begin(), gaps.end(), 0.0) / double(gaps.size());
  double var = 0;
  for (double g : gaps)
    var += (g - mean) * (g - mean);
  var /= double(gaps.size());
  CHECK(mean == doctest::Approx(0.1).epsilon(0.1));
  CHECK(std::sqrt(var) / mean == doctest::Approx(3).epsilon(0.15));
  for (const RequestSpec& r : reqs)
    in.push_back(double(r.input_tokens));
  CHECK(percentiles(in).p50 == doctest::Approx(1020).epsilon(0.05));
}

TEST_CASE("trace replay and a workload's JSON written back reproduce the same requests")
{
  const std::string path = "/tmp/factorysim_trace_" + std::to_string(getpid()) + ".csv";
  std::ofstream(path) << "TIMESTAMP,ContextTokens,GeneratedTokens\n10,100,5\n12,0,7\n13,300,9\n";
  WorkloadConfig w = workload({{"type", "trace"}, {"path", path}, {"time_scale", 0.5}});
  const auto reqs = generate_workload(w, 1);
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[1].arrival == 1.0);    // (12 - 10) x 0.5
  CHECK(reqs[1].input_tokens == 1); // a 0-token prompt is read as 1
  const auto again = generate_workload(workload(workload_json(w)), 1);
  CHECK(again.size() == 3);
  CHECK(again[2].arrival == reqs[2].arrival);
  std::remove(path.c_str());

  WorkloadConfig p = workload({{"type", "gamma"},
                               {"qps", 3},
                               {"cv", 2},
                               {"num_requests", 50},
                               {"input", {{"type", "lognormal"}, {"mu", 6}, {"sigma", 1}, {"max", 5000}}},
                               {"output", {{"type", "uniform"}, {"min", 3}, {"max", 9}}}});
  const auto a = generate_workload(p, 3), b = generate_workload(workload(workload_json(p)), 3);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].arrival == b[i].arrival);
    CHECK(a[i].input_tokens == b[i].input_tokens);
    CHECK(a[i].output_tokens == b[i].output_tokens);
  }
}

TEST_CASE("workload errors name the path")
{
  auto error = [](const Json& j) {
    try {
      workload(j);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(error({{"type", "poisson"},
               {"qps", 1},
               {"input", {{"type", "fixed"}, {"value", 1}}},
               {"output", {{"type", "fixed"}, {"value", 1}}}}) ==
        "w.json: workload.duration_s: give num_requests or duration_s (> 0)");
  CHECK(error({{"type", "poisson"},
               {"qps", 1},
               {"duration_s", 1},
               {"input", {{"type", "fixed"}, {"value", 1}}},
               {"output", {{"type", "fixed"}, {"value", 1}}},
               {"cv", 2}}) == "w.json: workload.cv: unknown key");
  CHECK(error({{"type", "gamma"},
               {"qps", 1},
               {"cv", 1},
               {"duration_s", 1},
               {"input", {{"type", "zipf"}}},
               {"output", {{"type", "fixed"}, {"value", 1}}}})
            .find("w.json: workload.input.type: unknown length distribution \"zipf\"") == 0);
}

TEST_CASE("percentiles interpolate between closest ranks (numpy's default)")
{
  const Percentiles p = percentiles({4, 1, 3, 2, 5});
  CHECK(p.n == 5);
  CHECK(p.mean == 3);
  CHECK(p.p50 == 3);
  CHECK(p.p90 == doctest::Approx(4.6));
  CHECK(p.p99 == doctest::Approx(4.96));
  CHECK(percentiles({}).n == 0);
  CHECK(percentiles({7}).p99 == 7);
}

TEST_CASE("the progress line: simulated time, requests done, rate and ETA")
{
  CHECK(progress_line("co", 12.34, 4000, 10000, 100, 2.0) ==
        "co: simulated 12.3 s, 4,000 of 10,000 requests done, 2,000 req/s, ETA 3 s");
  // Requests created during the run: the ETA from the simulated time left, when known.
  CHECK(progress_line("co", 25, 1234567, 0, 100, 5.0) ==
        "co: simulated 25.0 s, 1,234,567 requests done, 246,913 req/s, ETA 15 s");
  CHECK(progress_line("co", 25, 10, 0, std::numeric_limits<double>::infinity(), 5.0) ==
        "co: simulated 25.0 s, 10 requests done, 2 req/s");
}

TEST_CASE("a router's scans (scan.hpp) give what the plain loops give, ties and every length included")
{
  std::mt19937_64 rng(11);
  for (size_t n = 1; n <= 140; ++n)
    for (int round = 0; round < 20; ++round) {
      std::vector<double> x(n);
      for (double& v : x) // few distinct values: ties; some infinite, as a stale-time array holds
        v = round % 3 == 0 ? double(std::uniform_int_distribution<int>(0, 3)(rng))
            : std::uniform_int_distribution<int>(-1, 40)(rng) < 0 ? -std::numeric_limits<double>::infinity()
                                                                  : double(rng() % 1000);
      size_t want = 0;
      for (size_t k = 1; k < n; ++k)
        if (x[k] < x[want]) want = k;
      REQUIRE(first_min(x.data(), n) == want);
      const double t = double(rng() % 1000);
      std::vector<size_t> seen, expect;
      for (size_t k = 0; k < n; ++k)
        if (x[k] <= t) expect.push_back(k);
      for_each_at_most(x.data(), n, t, [&](size_t k) {
        seen.push_back(k);
        x[k] = t + 1; // what a refresh does to a stale time: later ones are still visited
      });
      REQUIRE(seen == expect);
    }
}

TEST_CASE("StaleMin re-reads exactly the stale slots and gives the first smallest, as a scan of every slot does")
{
  constexpr double inf = std::numeric_limits<double>::infinity();
  std::mt19937_64 rng(13);
  for (size_t n : {1, 3, 8, 9, 17, 64, 131}) { // within a block, whole blocks, a last partial block
    CAPTURE(n);
    StaleMin m(n);
    // Each slot's value now and when it next changes by itself (a fast run's step end), and the stale time of its
    // last read (-inf: never read, or marked stale by an event since).
    std::vector<double> value(n), change(n), read_stale(n, -inf);
    double now = 0;
    auto next_change = [&] { return rng() % 4 ? now + 0.01 + double(rng() % 100) / 100 : inf; };
    for (size_t k = 0; k < n; ++k) {
      value[k] = double(rng() % 6);
      change[k] = next_change();
    }
    for (int step = 0; step < 1500; ++step) {
      now += double(rng() % 20) / 100;
      for (size_t k = 0; k < n; ++k)
        while (change[k] <= now) { // few distinct values: ties
          value[k] = double(rng() % 6);
          change[k] += 0.01 + double(rng() % 100) / 100;
        }
      for (int e = int(rng() % 3); e > 0; --e) { // events: a new value, its stale time
        const size_t k = rng() % n;
        value[k] = double(rng() % 6);
        change[k] = next_change();
        m.mark_stale(k);
        read_stale[k] = -inf;
      }
      std::vector<size_t> reads, expect;
      for (size_t k = 0; k < n; ++k)
        if (read_stale[k] <= now) expect.push_back(k);
      const size_t got = m.argmin(now, [&](size_t k) {
        reads.push_back(k);
        read_stale[k] = change[k];
        return std::pair<double, double>(value[k], change[k]);
      });
      REQUIRE(reads == expect);
      REQUIRE(got == size_t(std::min_element(value.begin(), value.end()) - value.begin()));
    }
  }
}
