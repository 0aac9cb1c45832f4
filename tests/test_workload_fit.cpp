// Workloads as users run them: Mooncake JSONL traces, trace windows, rate curves, empirical lengths, and
// workloads fitted to the shipped traces.
#include "catalog.hpp"
#include "summary.hpp"
#include "workload.hpp"
#include <doctest/doctest.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace fs;

namespace {

WorkloadConfig workload(const Json& j)
{
  return parse_workload(JsonNode(j, "w.json", "workload", &workload_spec()), "w.json");
}

std::string error_of(const Json& j)
{
  try {
    workload(j);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// A scratch trace file, removed at the end of the test.
struct TraceFile {
  std::string path;
  TraceFile(const std::string& text, const std::string& ext = ".jsonl")
      : path("/tmp/factorysim_wl_" + std::to_string(getpid()) + ext)
  {
    std::ofstream(path) << text;
  }
  ~TraceFile() { std::remove(path.c_str()); }
};

Json poisson_curve(const Json& curve, double duration_s)
{
  return {{"type", "poisson"},
          {"rate_curve", curve},
          {"duration_s", duration_s},
          {"input", {{"type", "fixed"}, {"value", 10}}},
          {"output", {{"type", "fixed"}, {"value", 10}}}};
}

Json with_input(const Json& length)
{
  return {{"type", "poisson"},
          {"qps", 1},
          {"num_requests", 20000},
          {"input", length},
          {"output", {{"type", "fixed"}, {"value", 1}}}};
}

std::vector<double> quantiles_from(double first, double step)
{
  std::vector<double> q;
  for (int k = 0; k <= 100; ++k)
    q.push_back(first + step * k);
  return q;
}

} // namespace

TEST_CASE("Mooncake JSONL traces: times in ms, hash ids as prefix hashes, the format detected")
{
  const TraceFile f("\n"
                    "{\"timestamp\": 1000, \"input_length\": 1030, \"output_length\": 5, \"hash_ids\": [0, 1, 2]}\n"
                    "{\"timestamp\": 1000, \"input_length\": 600, \"output_length\": 0, \"hash_ids\": [0, 3]}\n"
                    "   \n"
                    "{\"timestamp\": 4500, \"input_length\": 20, \"output_length\": 7, \"hash_ids\": [], \"x\": 1}\n"
                    "{\"timestamp\": 5000, \"input_length\": 512, \"output_length\": 1}\n");
  WorkloadConfig w = workload({{"type", "trace"}, {"path", f.path}});
  const auto reqs = generate_workload(w, 1);
  REQUIRE(reqs.size() == 4);
  CHECK(reqs[0].arrival == 0);
  CHECK(reqs[2].arrival == 3.5);
  CHECK(reqs[0].input_tokens == 1030);
  CHECK(reqs[1].output_tokens == 1); // 0 output tokens are read as 1, as in the CSV reader
  CHECK(reqs[0].prefix_hashes == std::vector<uint64_t>{0, 1, 2});
  CHECK(reqs[1].prefix_hashes == std::vector<uint64_t>{0, 3});
  CHECK(reqs[3].prefix_hashes.empty()); // hash_ids may be absent
  CHECK(w.generator->prefix_block_tokens() == 512);
  const Json resolved = workload_json(w);
  CHECK(resolved["format"] == "mooncake_jsonl");
  CHECK(resolved["hash_block_tokens"] == 512);
  const auto again = generate_workload(workload(resolved), 1);
  REQUIRE(again.size() == 4);
  CHECK(again[1].prefix_hashes == reqs[1].prefix_hashes);

  // Smaller hash blocks allow more ids per prompt.
  CHECK(workload({{"type", "trace"}, {"path", f.path}, {"hash_block_tokens", 16}}).generator->prefix_block_tokens() ==
        16);
}

TEST_CASE("Mooncake JSONL errors name the file, the line, the field and what was expected")
{
  const std::string ok = "{\"timestamp\": 0, \"input_length\": 100, \"output_length\": 5, \"hash_ids\": [0]}\n";
  for (auto [line, what] : std::vector<std::pair<std::string, std::string>>{
           {"{\"input_length\": 1, \"output_length\": 1}", ":2: timestamp: missing"},
           {"{\"timestamp\": -5, \"input_length\": 1, \"output_length\": 1}",
            ":2: timestamp: expected milliseconds >= 0, got number -5"},
           {"{\"timestamp\": \"1\", \"input_length\": 1, \"output_length\": 1}", ":2: timestamp: expected"},
           {"{\"timestamp\": 1, \"output_length\": 1}", ":2: input_length: missing"},
           {"{\"timestamp\": 1, \"input_length\": -3, \"output_length\": 1}",
            ":2: input_length: expected a whole number from 0 to 10000000, got number -3"},
           {"{\"timestamp\": 1, \"input_length\": 2.5, \"output_length\": 1}", ":2: input_length: expected a whole"},
           {"{\"timestamp\": 1, \"input_length\": 1}", ":2: output_length: missing"},
           {"{\"timestamp\": 1, \"input_length\": 1, \"output_length\": 1e12}", ":2: output_length: expected a whole"},
           {"{\"timestamp\": 1, \"input_length\": 1000, \"output_length\": 1, \"hash_ids\": [1, 2.5]}",
            ":2: hash_ids[1]: expected an integer >= 0, got number 2.5"},
           {"{\"timestamp\": 1, \"input_length\": 1000, \"output_length\": 1, \"hash_ids\": [-1]}",
            ":2: hash_ids[0]: expected an integer >= 0, got number -1"},
           {"{\"timestamp\": 1, \"input_length\": 1000, \"output_length\": 1, \"hash_ids\": \"0 1\"}",
            ":2: hash_ids: expected an array of integers"},
           {"{\"timestamp\": 1, \"input_length\": 1025, \"output_length\": 1, \"hash_ids\": [1, 2, 3, 4]}",
            ":2: hash_ids: 4 ids for input_length 1025, more than its 3 blocks of 512 tokens"},
           {"[1, 2]", ":2: expected a JSON object, got array"},
           {"{\"timestamp\": 1, ", ":2: expected one JSON object a line"},
       }) {
    const TraceFile f(ok + line + "\n");
    const std::string e = error_of({{"type", "trace"}, {"path", f.path}});
    CHECK_MESSAGE(e.find(f.path + what) == 0, e);
  }
  const TraceFile back(ok + "{\"timestamp\": -1, \"input_length\": 1, \"output_length\": 1}\n"
                            "{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1}\n");
  CHECK(error_of({{"type", "trace"}, {"path", back.path}}).find(":2: timestamp: expected") != std::string::npos);
  const TraceFile backwards("{\"timestamp\": 5000, \"input_length\": 1, \"output_length\": 1}\n"
                            "{\"timestamp\": 4999, \"input_length\": 1, \"output_length\": 1}\n");
  CHECK(error_of({{"type", "trace"}, {"path", backwards.path}}) == backwards.path + ":2: timestamps go backwards");
  const TraceFile empty("\n  \n");
  CHECK(error_of({{"type", "trace"}, {"path", empty.path}, {"format", "mooncake_jsonl"}}) ==
        empty.path + ": trace has no requests");
}

TEST_CASE("trace format: detected by content, or given; hash_block_tokens only for Mooncake")
{
  const TraceFile csv("TIMESTAMP,ContextTokens,GeneratedTokens\n0,10,2\n1.5,20,3\n", ".csv");
  WorkloadConfig w = workload({{"type", "trace"}, {"path", csv.path}});
  CHECK(workload_json(w)["format"] == "azure_csv");
  CHECK(workload_json(w)["hash_block_tokens"] == 0);
  CHECK(w.generator->prefix_block_tokens() == 0);
  CHECK(generate_workload(w, 1)[1].prefix_hashes.empty());
  CHECK(error_of({{"type", "trace"}, {"path", csv.path}, {"hash_block_tokens", 512}}) ==
        "w.json: workload.hash_block_tokens: an azure_csv trace has no hash ids: expected 0");
  CHECK(error_of({{"type", "trace"}, {"path", csv.path}, {"format", "mooncake_jsonl"}}).find(":1: expected one JSON") !=
        std::string::npos);
  CHECK(error_of({{"type", "trace"}, {"path", csv.path}, {"format", "parquet"}}) ==
        "w.json: workload.format: unknown value \"parquet\"; expected one of: azure_csv, mooncake_jsonl");

  const TraceFile jsonl("  \n\t{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 2}\n");
  CHECK(workload_json(workload({{"type", "trace"}, {"path", jsonl.path}}))["format"] == "mooncake_jsonl");
  CHECK(error_of({{"type", "trace"}, {"path", jsonl.path}, {"format", "azure_csv"}}).find(":1: expected 3 columns") !=
        std::string::npos);
  CHECK(error_of({{"type", "trace"}, {"path", jsonl.path}, {"hash_block_tokens", 0}}) ==
        "w.json: workload.hash_block_tokens: expected an integer > 0 for a mooncake_jsonl trace");
  std::istringstream in("\n {\"timestamp\": 0}");
  CHECK(detect_trace_format(in) == "mooncake_jsonl");
  CHECK(in.tellg() == 0); // rewound
}

TEST_CASE("start_s skips the arrivals before it and starts the replay at the first kept one")
{
  const TraceFile csv("TIMESTAMP,ContextTokens,GeneratedTokens\n10,1,1\n12,2,1\n13,3,1\n20,4,1\n21,5,1\n", ".csv");
  auto inputs = [&](const Json& extra) {
    Json j = {{"type", "trace"}, {"path", csv.path}};
    j.update(extra);
    std::vector<std::pair<double, long>> v;
    for (const RequestSpec& r : generate_workload(workload(j), 1))
      v.push_back({r.arrival, r.input_tokens});
    return v;
  };
  using V = std::vector<std::pair<double, long>>;
  CHECK(inputs({{"start_s", 2.5}}) == V{{0, 3}, {7, 4}, {8, 5}});
  CHECK(inputs({{"start_s", 2}}) == V{{0, 2}, {1, 3}, {8, 4}, {9, 5}}); // at start_s is kept
  CHECK(inputs({{"start_s", 2.5}, {"time_scale", 0.5}}) == V{{0, 3}, {3.5, 4}, {4, 5}});
  CHECK(inputs({{"start_s", 2.5}, {"duration_s", 7.5}}) == V{{0, 3}, {7, 4}}); // simulated seconds
  CHECK(inputs({{"start_s", 2.5}, {"num_requests", 1}}) == V{{0, 3}});
  Json j = {{"type", "trace"}, {"path", csv.path}, {"start_s", 2.5}, {"duration_s", 7.5}};
  CHECK(workload(j).generator->expected_requests() == 2);
  const Json resolved = workload_json(workload(j));
  CHECK(resolved["start_s"] == 2.5);
  CHECK(generate_workload(workload(resolved), 1).size() == 2);
  j["start_s"] = 11.5;
  CHECK(error_of(j) == "w.json: workload.start_s: the trace's last arrival is at 11 s, before start_s");
}

TEST_CASE("rate_curve: arrivals follow the piecewise rate, repeat after the last bin, keep their process")
{
  const Json curve = {{"bin_s", 100}, {"rates", {1, 9}}};
  WorkloadConfig w = workload(poisson_curve(curve, 200));
  CHECK(w.generator->expected_requests() == 1000);
  const auto reqs = generate_workload(w, 7);
  CHECK(double(reqs.size()) == doctest::Approx(1000).epsilon(0.05));
  const double first = double(std::count_if(reqs.begin(), reqs.end(), [](auto& r) { return r.arrival < 100; }));
  CHECK(first / double(reqs.size()) == doctest::Approx(0.1).epsilon(0.25));
  CHECK(reqs.back().arrival <= 200);

  // Repeats: four bins over 400 s, a quarter of the arrivals... in the third bin as in the first.
  const auto twice = generate_workload(workload(poisson_curve(curve, 400)), 7);
  CHECK(double(twice.size()) == doctest::Approx(2000).epsilon(0.05));
  const double third =
      double(std::count_if(twice.begin(), twice.end(), [](auto& r) { return r.arrival >= 200 && r.arrival < 300; }));
  CHECK(third / double(twice.size()) == doctest::Approx(0.05).epsilon(0.3));

  // A Gamma process keeps its CV inside a bin; zero-rate bins get no arrivals.
  Json g = poisson_curve({{"bin_s", 1000}, {"rates", {0, 20}}}, 2000);
  g["type"] = "gamma";
  g["cv"] = 2;
  const auto bursty = generate_workload(workload(g), 3);
  CHECK(bursty.front().arrival >= 1000);
  std::vector<double> gaps;
  for (size_t i = 1; i < bursty.size(); ++i)
    gaps.push_back(bursty[i].arrival - bursty[i - 1].arrival);
  const Percentiles p = percentiles(gaps);
  double var = 0;
  for (double x : gaps)
    var += (x - p.mean) * (x - p.mean);
  CHECK(std::sqrt(var / double(gaps.size())) / p.mean == doctest::Approx(2).epsilon(0.1));
  CHECK(p.mean == doctest::Approx(0.05).epsilon(0.1));

  const Json resolved = workload_json(w);
  CHECK(resolved["rate_curve"] == curve);
  CHECK(!resolved.contains("qps"));
  CHECK(generate_workload(workload(resolved), 7).size() == reqs.size());

  Json both = poisson_curve(curve, 10);
  both["qps"] = 3;
  CHECK(error_of(both) == "w.json: workload.qps: give qps or rate_curve, not both");
  CHECK(error_of(poisson_curve({{"bin_s", 10}, {"rates", {0, 0}}}, 10)) ==
        "w.json: workload.rate_curve.rates: expected one rate > 0 at least");
  CHECK(error_of(poisson_curve({{"bin_s", 10}, {"rates", {1, -2}}}, 10)) ==
        "w.json: workload.rate_curve.rates[1]: expected a number in [0, 1000000], got -2");
  CHECK(error_of(poisson_curve({{"bin_s", 0}, {"rates", {1}}}, 10)) ==
        "w.json: workload.rate_curve.bin_s: expected a number in (0, 100000000], got 0");
  CHECK(error_of(poisson_curve({{"bin_s", 10}, {"rates", "1,2"}}, 10)) ==
        "w.json: workload.rate_curve.rates: expected an array of numbers, got string \"1,2\"");
  Json neither = poisson_curve(curve, 10);
  neither.erase("rate_curve");
  CHECK(error_of(neither) == "w.json: workload.qps: missing required key");
}

TEST_CASE("empirical lengths: inverse CDF through 101 quantiles, checked")
{
  // Quantiles 100, 110, ..., 1100: uniform on [100, 1100].
  const auto reqs =
      generate_workload(workload(with_input({{"type", "empirical"}, {"quantiles", quantiles_from(100, 10)}})), 2);
  std::vector<double> in;
  for (const RequestSpec& r : reqs)
    in.push_back(double(r.input_tokens));
  const Percentiles p = percentiles(in);
  CHECK(p.mean == doctest::Approx(600).epsilon(0.02));
  CHECK(p.p90 == doctest::Approx(1000).epsilon(0.02));
  CHECK(*std::min_element(in.begin(), in.end()) >= 100);
  CHECK(*std::max_element(in.begin(), in.end()) <= 1100);

  auto bad = [](const Json& quantiles) {
    return error_of(with_input({{"type", "empirical"}, {"quantiles", quantiles}}));
  };
  CHECK(bad(std::vector<double>(100, 5.0)) ==
        "w.json: workload.input.quantiles: expected 101 numbers (the 0th, 1st, ..., 100th percentile), got 100");
  std::vector<double> q = quantiles_from(100, 10);
  q[40] = 300;
  CHECK(bad(q) ==
        "w.json: workload.input.quantiles[40]: expected a value >= quantiles[39] = 490 (non-decreasing), got 300");
  CHECK(bad(quantiles_from(0.5, 1)) ==
        "w.json: workload.input.quantiles[0]: expected a number in [1, 10000000], got 0.5");
  CHECK(bad(Json::array({1, "2"})) == "w.json: workload.input.quantiles[1]: expected a number, got string \"2\"");
  CHECK(error_of(with_input({{"type", "empirical"}})) == "w.json: workload.input.quantiles: missing required key");
}

namespace {

struct Stats {
  Percentiles in, out;
  double count = 0, rate = 0;
};
Stats stats(const std::vector<double>& t, const std::vector<double>& in, const std::vector<double>& out)
{
  return {percentiles(in), percentiles(out), double(t.size()), double(t.size()) / (t.back() - t.front())};
}
Stats of_trace(const std::vector<TraceRow>& rows)
{
  std::vector<double> t, in, out;
  for (const TraceRow& r : rows) {
    t.push_back(r.t);
    in.push_back(double(std::max(1L, r.input)));
    out.push_back(double(std::max(1L, r.output)));
  }
  return stats(t, in, out);
}
Stats of_requests(const std::vector<RequestSpec>& reqs)
{
  std::vector<double> t{0}, in, out; // the process starts at 0
  for (const RequestSpec& r : reqs) {
    t.push_back(r.arrival);
    in.push_back(double(r.input_tokens));
    out.push_back(double(r.output_tokens));
  }
  Stats s = stats(t, in, out);
  s.count -= 1;
  s.rate = s.count / (t.back() - t.front());
  return s;
}
void same_lengths(const Percentiles& fitted, const Percentiles& trace, const std::string& what)
{
  INFO(what);
  CHECK(fitted.mean == doctest::Approx(trace.mean).epsilon(0.05));
  CHECK(fitted.p50 == doctest::Approx(trace.p50).epsilon(0.05));
  CHECK(fitted.p90 == doctest::Approx(trace.p90).epsilon(0.05));
}

} // namespace

TEST_CASE("workloads fitted to the shipped traces reproduce their lengths and rates")
{
  struct Case {
    std::string file, process;
    bool curve;
  };
  for (const Case& c : {Case{"scenarios/traces/azure2023_conv.csv", "poisson", true},
                        Case{"scenarios/traces/mooncake_conversation.jsonl", "gamma", false}}) {
    const std::string& file = c.file;
    INFO(file);
    const std::string path = project_file(file);
    const std::vector<TraceRow> rows = read_trace(path);
    const Json fit = fit_workload(rows, path);
    CHECK(fit["workload"]["type"] == c.process);
    CHECK(fit["workload"].contains("rate_curve") == c.curve);
    CHECK(fit["workload"]["duration_s"] == rows.back().t);
    const Stats trace = of_trace(rows);
    CHECK(fit["fit"]["input"]["mean"].get<double>() == doctest::Approx(trace.in.mean));

    // The fitted workload as it is: as many requests, at the same rate.
    const Stats as_is = of_requests(generate_workload(workload(fit["workload"]), 1));
    CHECK(as_is.count == doctest::Approx(trace.count).epsilon(0.05));
    CHECK(as_is.rate == doctest::Approx(trace.rate).epsilon(0.05));
    same_lengths(as_is.in, trace.in, "input, as long as the trace");
    same_lengths(as_is.out, trace.out, "output, as long as the trace");

    // Ten times as long, so that sampling noise (a few percent on a p90 where the trace is sparse) stays small.
    Json longer = fit["workload"];
    longer["duration_s"] = 10 * rows.back().t;
    const Stats ten = of_requests(generate_workload(workload(longer), 1));
    CHECK(ten.rate == doctest::Approx(trace.rate).epsilon(0.02));
    same_lengths(ten.in, trace.in, "input, ten times the trace");
    same_lengths(ten.out, trace.out, "output, ten times the trace");
    MESSAGE(file << ": trace n " << trace.count << " rate " << trace.rate << " | fitted n " << as_is.count << " rate "
                 << as_is.rate << " | input mean/p50/p90 " << trace.in.mean << "/" << trace.in.p50 << "/"
                 << trace.in.p90 << " vs " << as_is.in.mean << "/" << as_is.in.p50 << "/" << as_is.in.p90 << " (10x: "
                 << ten.in.mean << "/" << ten.in.p50 << "/" << ten.in.p90 << ") | output " << trace.out.mean << "/"
                 << trace.out.p50 << "/" << trace.out.p90 << " vs " << as_is.out.mean << "/" << as_is.out.p50 << "/"
                 << as_is.out.p90 << " (10x: " << ten.out.mean << "/" << ten.out.p50 << "/" << ten.out.p90 << ")");
  }
}

TEST_CASE("a fit needs arrivals at two different times")
{
  CHECK_THROWS_WITH_AS(fit_workload({TraceRow{0, 10, 10, {}}}, "t.csv"),
                       "t.csv: a fit needs arrivals at two different times at least", InputError);
  CHECK_THROWS_AS(fit_workload({TraceRow{0, 10, 10, {}}, TraceRow{0, 5, 5, {}}}, "t.csv"), InputError);
}
