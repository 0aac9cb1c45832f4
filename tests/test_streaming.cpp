// Streaming runs: percentiles exact below a threshold and within a stated bound above it, mergeable partial
// results (ranks), list workloads drawn request by request, memory that follows what is in flight.
#include "request_pool.hpp"
#include "request_stats.hpp"
#include "summary.hpp"
#include "support.hpp"
#include "workload.hpp"
#include <algorithm>
#include <doctest/doctest.h>
#include <random>
#include <set>

using namespace fs;

namespace {

std::vector<double> lognormal_values(size_t n, uint64_t seed)
{
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> d(-1.5, 1.2); // seconds: TTFT-like, spanning four decades
  std::vector<double> xs(n);
  for (double& x : xs)
    x = d(rng);
  return xs;
}

void check_within(const Percentiles& got, const Percentiles& want, double rel)
{
  CHECK(got.n == want.n);
  CHECK(got.mean == doctest::Approx(want.mean).epsilon(1e-9));
  for (auto [g, w] :
       {std::pair{got.p1, want.p1}, {got.p10, want.p10}, {got.p50, want.p50}, {got.p90, want.p90}, {got.p99, want.p99}})
    CHECK(std::abs(g - w) <= rel * w);
}

Json streaming_scenario(long n)
{
  return {{"name", "stream"},
          {"seed", 11},
          {"model", "Llama-3.1-8B"},
          {"pools", {{{"name", "h"}, {"server", "HGX-H100-8"}, {"servers", 1}}}},
          {"placements", {{{"name", "co"}, {"type", "colocated"}, {"pool", "h"}, {"instances", 8}, {"tp", 1}}}},
          {"workload",
           {{"type", "poisson"},
            {"qps", 100},
            {"num_requests", n},
            {"input", {{"type", "lognormal"}, {"mean", 600}, {"median", 400}, {"max", 4000}}},
            {"output", {{"type", "lognormal"}, {"mean", 120}, {"median", 80}, {"max", 600}}}}},
          {"slo", {{"ttft_s", 1.0}, {"tpot_s", 0.05}}}};
}

} // namespace

TEST_CASE("quantiles: exact up to the threshold, within 0.5% of a sample value past it")
{
  const std::vector<double> xs = lognormal_values(200'000, 3);
  Quantiles exact(1'000'000), hist(1'000);
  for (double x : xs) {
    exact.add(x);
    hist.add(x);
  }
  CHECK(exact.exact());
  CHECK_FALSE(hist.exact());
  const Percentiles want = percentiles(xs);
  const Percentiles e = exact.result();
  CHECK(e.p50 == want.p50);
  CHECK(e.p99 == want.p99);
  CHECK(e.mean == doctest::Approx(want.mean).epsilon(1e-12));
  // The stated bound: half a 1% bin around a value whose rank is within one of the exact percentile's.
  check_within(hist.result(), want, 0.006);

  // Zeros (below 1e-9) and a few values stay exact: below the threshold nothing is binned.
  Quantiles few(10);
  for (double x : {0.0, 0.0, 2.0, 1.0})
    few.add(x);
  CHECK(few.result().p50 == 0.5);
}

TEST_CASE("quantiles and request stats merge: split halves give the whole, through JSON as ranks send them")
{
  const std::vector<double> xs = lognormal_values(50'000, 5);
  for (long threshold : {1'000'000L, 2'000L}) {
    CAPTURE(threshold);
    Quantiles whole(threshold), a(threshold), b(threshold);
    for (size_t i = 0; i < xs.size(); ++i) {
      whole.add(xs[i]);
      (i % 3 == 0 ? a : b).add(xs[i]);
    }
    Quantiles merged = Quantiles::from_json(a.to_json());
    merged.merge(Quantiles::from_json(b.to_json()));
    const Percentiles m = merged.result(), w = whole.result();
    CHECK(m.n == w.n);
    CHECK(m.p50 == doctest::Approx(w.p50).epsilon(1e-12));
    CHECK(m.p99 == doctest::Approx(w.p99).epsilon(1e-12));
    CHECK(m.p1 == doctest::Approx(w.p1).epsilon(1e-12));
  }
}

TEST_CASE("fifth means: binned past the threshold, close to the exact ones")
{
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> arrival(10, 1010), noise(0, 0.2);
  FifthMeans exact(10, 1'000'000), binned(10, 100);
  for (int i = 0; i < 100'000; ++i) {
    const double a = arrival(rng), t = 0.1 + a / 1000 + noise(rng); // TTFT rising across the window
    exact.add(a, t);
    binned.add(a, t);
  }
  const Window w{10, 1010};
  const auto [e0, l0] = exact.means(w);
  const auto [e1, l1] = binned.means(w);
  CHECK(l0 > e0 + 0.5);
  CHECK(e1 == doctest::Approx(e0).epsilon(0.002));
  CHECK(l1 == doctest::Approx(l0).epsilon(0.002));
  const auto [e2, l2] = FifthMeans::from_json(binned.to_json()).means(w);
  CHECK(e2 == doctest::Approx(e1).epsilon(1e-12));
  CHECK(l2 == doctest::Approx(l1).epsilon(1e-12));
}

TEST_CASE("a list workload drawn request by request is the list generate() gives")
{
  const Scenario s = parse_scenario(streaming_scenario(5'000), "t.json");
  REQUIRE(s.list);
  CHECK(s.requests == nullptr); // nothing kept after parsing: a run draws it again
  const std::vector<RequestSpec> all = generate_workload(s.workload, s.seed);
  REQUIRE(long(all.size()) == s.list->count);
  CHECK(s.list->last_arrival == all.back().arrival);
  auto st = s.workload.generator->stream(s.seed);
  for (const RequestSpec& r : all) {
    const std::optional<RequestSpec> got = st->next();
    REQUIRE(got);
    CHECK(got->id == r.id);
    CHECK(got->arrival == r.arrival);
    CHECK(got->input_tokens == r.input_tokens);
    CHECK(got->output_tokens == r.output_tokens);
  }
  CHECK_FALSE(st->next());
  // The counting pass draws the arrivals alone: the same ones (the lengths have a generator of their own).
  auto times = s.workload.generator->stream(s.seed);
  for (const RequestSpec& r : all) {
    const std::optional<double> t = times->next_arrival();
    REQUIRE(t);
    CHECK(*t == r.arrival);
  }
  CHECK_FALSE(times->next_arrival());
}

TEST_CASE("a streaming run holds the requests in flight, not the run; histogram percentiles stay within their bound")
{
  auto run = [](long exact_up_to) {
    return test::run_in_child(
        streaming_scenario(20'000), 0,
        [](const Scenario& s, const RunResult& r) { return make_summary(s, s.placements[0], r); },
        [exact_up_to](Scenario& s) { s.sim.exact_percentiles_up_to = exact_up_to; });
  };
  const Json exact = run(1'000'000), binned = run(100);
  CHECK(exact["requests"]["completed"] == 20'000);
  CHECK(exact["sim"]["exact_percentiles"] == true);
  CHECK(binned["sim"]["exact_percentiles"] == false);
  // 100 req/s for 200 s: a few dozen requests in flight at a time, slots reused as they leave.
  const long held = exact["sim"]["peak_requests_held"];
  MESSAGE("request slots held at peak: " << held << " of 20,000 requests");
  CHECK(held < 1'000);
  CHECK(held >= 8);
  for (const char* m : {"ttft", "tpot", "e2e"})
    for (const char* q : {"p50", "p90", "p99"}) {
      CAPTURE(m);
      CAPTURE(q);
      const double want = exact["latency_s"][m][q], got = binned["latency_s"][m][q];
      CHECK(std::abs(got - want) <= 0.006 * want);
    }
  CHECK(binned["latency_s"]["ttft"]["mean"].get<double>() ==
        doctest::Approx(exact["latency_s"]["ttft"]["mean"].get<double>()).epsilon(1e-9));
  CHECK(binned["slo"]["attainment"] == exact["slo"]["attainment"]);
  Json tb = binned["throughput"], te = exact["throughput"];
  for (const char* q : {"p1", "p10", "p50", "p90"}) {
    const double want = te["per_user_output_tokens_per_s"][q], got = tb["per_user_output_tokens_per_s"][q];
    CHECK(std::abs(got - want) <= 0.006 * want);
  }
  tb.erase("per_user_output_tokens_per_s");
  te.erase("per_user_output_tokens_per_s");
  CHECK(tb == te); // token counts do not depend on how percentiles are kept
}

TEST_CASE("requests.csv of a run split over ranks: each rank's rows skip the others' ids, the merge is the whole")
{
  // Rows as RequestCsv writes them: ids 0..11 leave in a scrambled order; "rank" k owns the ids with id % 3 == k.
  const std::vector<long> order = {3, 0, 1, 7, 2, 4, 11, 5, 6, 9, 8, 10};
  auto rows_of = [&](int rank, int ranks, long every) {
    std::string out;
    RequestCsv csv([&](const std::string& s) { out += s; }, every);
    for (long id : order) {
      if (ranks > 1 && id % ranks != rank) {
        csv.request_elsewhere(id);
        continue;
      }
      Request r;
      r.spec.id = id;
      r.spec.arrival = 0.5 * double(id);
      r.finish = 10.0 + double(id);
      csv.request_done(r, -1);
    }
    csv.finish();
    return out;
  };
  for (long every : {1L, 2L}) {
    CAPTURE(every);
    const std::string whole = rows_of(0, 1, every);
    CHECK(std::count(whole.begin(), whole.end(), '\n') == 1 + 12 / every);
    std::vector<std::string> parts = {rows_of(0, 3, every), rows_of(1, 3, every), rows_of(2, 3, every)};
    // Pieces cut anywhere, even inside a line.
    std::vector<size_t> at(parts.size(), 0);
    std::string merged;
    merge_request_rows(
        parts.size(),
        [&](size_t k) {
          const std::string piece = parts[k].substr(at[k], 7);
          at[k] += piece.size();
          return piece;
        },
        [&](const std::string& s) { merged += s; });
    CHECK(merged == whole);
  }
  // Parts that are not such files: named, never merged silently.
  auto merge = [](std::vector<std::string> parts) {
    std::vector<bool> given(parts.size(), false);
    merge_request_rows(
        parts.size(),
        [&](size_t k) {
          if (given[k]) return std::string();
          given[k] = true;
          return parts[k];
        },
        [](const std::string&) {});
  };
  const std::string header = "id,arrival\n";
  CHECK_THROWS_WITH_AS(merge({header + "0,1\n", "0,1\n"}), doctest::Contains("part 1 of the merge"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(merge({header + "0,1\n", header + "0,2\n"}), doctest::Contains("request 0 has a row"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(merge({header + "2,1\n1,1\n"}), doctest::Contains("not in id order"), std::runtime_error);
  CHECK_THROWS_WITH_AS(merge({header + "x,1\n"}), doctest::Contains("request id"), std::runtime_error);
  CHECK_THROWS_WITH_AS(merge({header + "0,1"}), doctest::Contains("no newline"), std::runtime_error);
}

TEST_CASE("requests.csv rows leave in id order whatever order requests finish in, however many wait")
{
  // Thousands of rows wait behind a long request in a large factory: the ring they wait in wraps around many times
  // while few wait, grows (from wherever its head is) when many do, and wraps again. Some rows are too long for a
  // slot of the ring (a long drop reason), and wait beside it.
  auto reason = [](long id) { return id % 997 == 5 ? std::string(300 + id % 7, 'x') + ",y" : std::string(); };
  auto row_of = [&](long id) {
    std::string one;
    RequestCsv single([&](const std::string& s) { one += s; }, 1);
    Request r;
    r.spec.id = 0;
    r.finish = double(id);
    r.dropped = reason(id);
    single.request_done(r, -1);
    single.finish();
    return one;
  };
  for (long every : {1L, 3L}) {
    CAPTURE(every);
    constexpr long n = 20000;
    std::mt19937 rng(7);
    std::vector<std::pair<long, long>> finish; // (when, id): ids finish within a window of them, a few much later
    for (long id = 0; id < n; ++id) {
      const long window = id >= 8000 && id < 14000 ? 600 : 40;
      finish.emplace_back(id + long(rng() % window) + (id % 4999 == 3 ? 3000 : 0), id);
    }
    std::sort(finish.begin(), finish.end());
    std::vector<long> order;
    for (auto [when, id] : finish)
      order.push_back(id);
    REQUIRE(order.front() != 0); // 0 waits, some rows go straight out when it came
    std::string out, want = row_of(0).substr(0, row_of(0).find('\n') + 1);
    RequestCsv csv([&](const std::string& s) { out += s; }, every);
    for (long id : order) {
      Request r;
      r.spec.id = id;
      r.finish = double(id);
      r.dropped = reason(id);
      csv.request_done(r, -1);
    }
    csv.finish();
    for (long id = 0; id < n; id += every) {
      std::string one = row_of(id).substr(row_of(id).find('\n') + 1);
      want += std::to_string(id) + one.substr(one.find(','));
    }
    CHECK(out == want);
  }
  // A row that never comes is named; a second row for a request is an error, not a silent duplicate.
  RequestCsv csv([](const std::string&) {});
  Request r;
  r.spec.id = 1;
  csv.request_done(r, -1);
  CHECK_THROWS_WITH_AS(csv.request_done(r, -1), doctest::Contains("a second row for request 1"), std::logic_error);
  CHECK_THROWS_WITH_AS(csv.finish(), doctest::Contains("request 0 never came"), std::runtime_error);
  r.spec.id = 0;
  csv.request_done(r, -1);
  CHECK_THROWS_WITH_AS(csv.request_done(r, -1), doctest::Contains("a second row for request 0"), std::logic_error);
}

TEST_CASE("request slots: reused when given back, never moved, fresh when taken, across chunks")
{
  RequestPool pool;
  std::vector<Request*> held;
  for (int i = 0; i < 15000; ++i) { // more than two chunks of 2 MB
    Request* r = pool.take();
    REQUIRE(r->spec.id == 0);
    REQUIRE(r->instances.empty());
    r->spec.id = i;
    r->instances = std::string(40, 'a'); // on the heap: destroyed with the pool
    held.push_back(r);
  }
  CHECK(pool.made() == 15000);
  for (int i = 0; i < 15000; ++i)
    REQUIRE(held[size_t(i)]->spec.id == i); // slots did not move as chunks were added
  std::set<Request*> given;
  for (int i = 0; i < 15000; i += 2) {
    held[size_t(i)]->generated = 7;
    pool.give(held[size_t(i)]);
    given.insert(held[size_t(i)]);
  }
  for (int i = 0; i < 7500; ++i) {
    Request* r = pool.take(); // a slot given back, reset
    REQUIRE(given.erase(r) == 1);
    REQUIRE(r->spec.id == 0);
    REQUIRE(r->generated == 0);
    REQUIRE(r->instances.empty());
  }
  CHECK(pool.made() == 15000);
  pool.take();
  CHECK(pool.made() == 15001);
}
