// Capacity studies (issue "Capacity studies"): the capacity search against an analytic capacity, placements that
// cannot meet their SLOs, bad --slo; the cost model's parts summing to its total; the Perfetto trace of a run; the
// default study at capacity.
#include "cost.hpp"
#include "host.hpp"
#include "json_input.hpp"
#include "scenario.hpp"
#include <cmath>
#include <cstdlib>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

using namespace fs;
namespace stdfs = std::filesystem;

namespace {

struct Cli {
  int code = -1;
  std::string out, err;
};

// A scratch folder, removed afterwards.
struct Tmp {
  stdfs::path dir;
  Tmp()
  {
    static int n = 0;
    dir = stdfs::temp_directory_path() / ("factorysim_cap_" + std::to_string(getpid()) + "_" + std::to_string(n++));
    stdfs::remove_all(dir);
    stdfs::create_directories(dir);
  }
  ~Tmp() { stdfs::remove_all(dir); }
  stdfs::path operator/(const std::string& s) const { return dir / s; }
};

std::string slurp(const stdfs::path& p)
{
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Cli cli(const std::string& args, const Tmp& t)
{
  const std::string cmd =
      std::string(FACTORYSIM_BIN) + " " + args + " >" + (t / ".out").string() + " 2>" + (t / ".err").string();
  const int st = std::system(cmd.c_str());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(t / ".out"), slurp(t / ".err")};
}

// A factory whose host CPUs are its bottleneck: every request costs `request_core_ms` on the front-end pool's cores
// and nothing else there; fixed lengths, 8 Llama-3.1-8B GPUs that are mostly idle.
const std::string host_bound =
    "scenarios/host_frontend_8b.json --placement colocated --set host.request_core_ms=3600 "
    "--set host.tokenize_core_us_per_token=0 --set host.detokenize_core_us_per_token=0 "
    "--set 'workload.input={\"type\":\"fixed\",\"value\":200}' "
    "--set 'workload.output={\"type\":\"fixed\",\"value\":20}' --set workload.duration_s=300 "
    "--set workload.qps=16 --set 'sim={\"warmup_s\":30}'";

} // namespace

TEST_CASE("capacity: a host-CPU-bound factory's capacity is its cores / core-seconds per request, within 5%")
{
  Tmp t;
  const Cli r = cli("capacity " + host_bound + " --slo ttft_p99=10 -o " + (t / "o").string(), t);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  // The analytic capacity from the model: cores of the host pool over the host work of one request.
  const Scenario s = load_scenario(
      "scenarios/host_frontend_8b.json",
      {"host.request_core_ms=3600", "host.tokenize_core_us_per_token=0", "host.detokenize_core_us_per_token=0"});
  const HostWork w{s.host.request_core_ms / 1e3, s.host.tokenize_core_us_per_token / 1e6,
                   s.host.detokenize_core_us_per_token / 1e6};
  const double analytic = double(s.pool(s.host.pool).cpu_cores()) / (w.before_s(200) + w.after_s(20));
  const Json cap = read_json_file((t / "o" / "capacity.json").string());
  const Json& c = cap["placements"]["colocated"];
  const double found = c["capacity_qps"].get<double>();
  MESSAGE("analytic " << analytic << " req/s, found " << found << " req/s in " << c["probes"].size() << " probes");
  CHECK(c["meets_slo"] == true);
  CHECK(found == doctest::Approx(analytic).epsilon(0.05));
  // Past the cores' rate the queue grows without bound (a Poisson sample of 270 s runs within ~1.5% of its rate).
  CHECK(found <= analytic * 1.03);
  // The rule is stated, the run at capacity is on disk where `validate` reads it, and it is the best served probe.
  CHECK(cap["rule"]["goodput"] == 0.99);
  CHECK(r.out.find("capacity = the highest workload.qps") != std::string::npos);
  const Json at = read_json_file((t / "o" / "colocated" / "summary.json").string());
  CHECK(at["slo"]["ttft_s"] == 10);
  CHECK(read_json_file((t / "o" / "colocated" / "resolved_scenario.json").string())["workload"]["qps"] == found);
  CHECK(stdfs::exists(t / "o" / "colocated" / "requests.csv"));
  CHECK(!stdfs::exists(t / "o" / ".probes"));
  bool above_failed = true;
  for (const Json& p : c["probes"])
    if (p["value"].get<double>() > found) above_failed = above_failed && p["served"] == false;
  CHECK(above_failed);
}

TEST_CASE("capacity: a placement that cannot meet its SLOs at any load has capacity 0, loudly, and no error")
{
  Tmp t;
  const Cli r =
      cli("capacity " + host_bound + " --slo ttft_p99=0.5 --set workload.duration_s=60 -o " + (t / "o").string(), t);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out.find("NO CAPACITY: placement \"colocated\"") != std::string::npos);
  const Json c = read_json_file((t / "o" / "capacity.json").string())["placements"]["colocated"];
  CHECK(c["capacity_qps"] == 0);
  CHECK(c["meets_slo"] == false);
  // The scenario's load, then halved (10 times at most, or until the window holds no arrival).
  CHECK(c["probes"].size() >= 5);
  CHECK(c["probes"].size() <= 11);
  CHECK(c["probes"].back()["value"].get<double>() <= 1);
  CHECK(stdfs::exists(t / "o" / "colocated" / "summary.json"));
}

TEST_CASE("capacity: a trace's load knob is time_scale, and its capacity is the smallest time_scale served")
{
  Tmp t;
  const Cli r =
      cli("capacity scenarios/azure_conv_trace_8b.json --placement colocated-tp1 --set workload.duration_s=60 "
          "--set sim.warmup_s=5 --slo ttft_p99=0.1 --tolerance 0.05 -o " +
              (t / "o").string(),
          t);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out.find("smallest workload.time_scale (highest load)") != std::string::npos);
  const Json c = read_json_file((t / "o" / "capacity.json").string())["placements"]["colocated-tp1"];
  const double ts = c["capacity_value"].get<double>();
  CHECK(ts < 1);
  for (const Json& p : c["probes"]) {
    CHECK(p["load"].get<double>() == doctest::Approx(1 / p["value"].get<double>()));
    if (p["served"] == true) CHECK(p["value"].get<double>() >= ts);
  }
  // Capacity in req/s is the measured arrival rate there.
  CHECK(c["capacity_qps"] == c["summary"]["throughput"]["requests_per_s"]);
}

TEST_CASE("capacity: bad --slo, --goodput and workloads without a load knob are input errors (exit 2)")
{
  Tmp t;
  for (const char* bad : {"--slo ttft_p99=abc", "--slo foo=1", "--slo ttft_p99=-1", "--slo ''", "--goodput 1.5"}) {
    const Cli r = cli("capacity scenarios/default.json " + std::string(bad) + " -o " + (t / "o").string(), t);
    CHECK_MESSAGE(r.code == 2, bad << ": " << r.err);
    CHECK(!stdfs::exists(t / "o" / "capacity.json"));
  }
  const Cli off = cli("capacity scenarios/offline_8b.json --slo ttft_p99=2", t);
  CHECK(off.code == 2);
  CHECK(off.err.find("no load knob") != std::string::npos);
}

TEST_CASE("cost: the capital recovery factor, and the parts of $/h by kind sum to the total")
{
  CHECK(capital_recovery_factor(0, 5) == doctest::Approx(0.2));
  CHECK(capital_recovery_factor(0.08, 5) == doctest::Approx(0.08 * std::pow(1.08, 5) / (std::pow(1.08, 5) - 1)));
  CHECK(capital_recovery_factor(0.08, 5) > 0.2); // financing costs something
  const std::vector<CostItem> items = {{"chip", 8, 25000, 500, "p", "chip", 700},
                                       {"nic", 8, 3000, 30, "p", "nic"},
                                       {"box", 1, 40000, 1000, "p", "chassis"},
                                       {"sw", 1, 20000, 600, "fabric", "switch"}};
  Economics e{0.1, 1.3, 5, 0.08, 10e6, 20, 0, 0.03, 2000};
  const CostResult c = cost_per_hour(items, e);
  double sum = 0;
  for (auto const& [kind, usd] : c.by_kind)
    sum += usd;
  CHECK(sum == doctest::Approx(c.usd_per_hour));
  CHECK(c.by_kind.size() == 7); // chip, nic, chassis, switch, facility, energy, operations
  const double rated_kw = (8 * 700 + 8 * 30 + 1000 + 600) / 1000.0;
  CHECK(c.rated_power_kw == doctest::Approx(rated_kw));
  CHECK(c.facility_usd_per_hour ==
        doctest::Approx(rated_kw / 1000 * 10e6 * capital_recovery_factor(0.08, 20) / hours_per_year));
  const double capex = 8 * 25000 + 8 * 3000 + 40000 + 20000;
  CHECK(c.operations_usd_per_hour == doctest::Approx((capex * 0.03 + 2000) / hours_per_year));
  // Colocation replaces the facility's capex.
  e.colocation_usd_per_kw_month = 184;
  e.facility_usd_per_mw = 0;
  CHECK(cost_per_hour(items, e).facility_usd_per_hour == doctest::Approx(rated_kw * 184 * 12 / hours_per_year));
}

TEST_CASE("cost: economics fields are in the resolved scenario with their sources; bad ones are input errors")
{
  const Scenario s = load_scenario("");
  const Json& e = s.resolved["economics"];
  for (const char* k : {"cost_of_capital", "facility_usd_per_mw", "facility_years", "colocation_usd_per_kw_month",
                        "operations_capex_fraction", "operations_usd_per_server_year"}) {
    CHECK_MESSAGE(e.contains(k), k);
    CHECK_MESSAGE(e["sources"].contains(k), k);
  }
  CHECK(e["sources"]["facility_usd_per_mw"].get<std::string>().find("S157") != std::string::npos);
  CHECK_THROWS_AS(load_scenario("", {"economics.cost_of_capital=-0.1"}), InputError);
  CHECK_THROWS_AS(load_scenario("", {"economics.operations_usd_per_server_year=-5"}), InputError);
  try {
    load_scenario("", {"economics.colocation_usd_per_kw_month=180", "economics.facility_usd_per_mw=1e7"});
    FAIL("accepted both colocation and an owned facility");
  } catch (const InputError& x) {
    CHECK(std::string(x.what()).find("not both") != std::string::npos);
  }
  // Renting instead of building: the owned facility's default goes away.
  CHECK(load_scenario("", {"economics.colocation_usd_per_kw_month=180"}).economics.facility_usd_per_mw == 0);
}

TEST_CASE("run --trace writes a Chrome/Perfetto trace: a track per instance, batches, counters, KV transfers")
{
  Tmp t;
  const std::string base = "run scenarios/default.json --set workload.duration_s=15 --set sim.warmup_s=1 --trace ";
  const Cli r = cli(base + (t / "tr.json").string() + " -o " + (t / "o").string(), t);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const Json tr = read_json_file((t / "tr.json").string());
  const Json& ev = tr["traceEvents"];
  std::map<int, std::set<std::string>> threads; // pid -> thread names
  std::map<std::string, int> phases;
  std::set<std::string> counters;
  bool batch_args = true;
  for (const Json& e : ev) {
    const std::string ph = e["ph"];
    phases[ph]++;
    if (ph == "M" && e["name"] == "thread_name") threads[e["pid"].get<int>()].insert(e["args"]["name"]);
    if (ph == "C") counters.insert(e["name"].get<std::string>().substr(0, e["name"].get<std::string>().find(' ')));
    if (ph == "X")
      batch_args = batch_args && e["args"].contains("batch_size") && e["args"].contains("prefill_tokens") &&
                   e["args"].contains("decode_tokens") && e["dur"].get<double>() >= 0;
  }
  // colocated (pid 1): 8 instances + the fabric; disaggregated (pid 2): 4 prefill + 4 decode + the fabric.
  CHECK(threads[1].size() == 9);
  CHECK(threads[2].size() == 9);
  CHECK(threads[2].count("prefill0 (prefill)") == 1);
  CHECK(threads[2].count("fabric (KV transfers)") == 1);
  CHECK(phases["X"] > 100);
  CHECK(batch_args);
  CHECK(counters == std::set<std::string>{"queue", "kv"});
  CHECK(phases["b"] > 0); // P/D: every hand-off pulls its KV
  CHECK(phases["b"] == phases["e"]);
  CHECK(tr["metadata"]["dropped_events"] == 0);
  CHECK(!stdfs::exists(t / "o" / "colocated" / "trace_events.json"));
  // The cap keeps the first events and says how many it left out.
  REQUIRE(cli(base + (t / "small.json").string() + " --trace-events 50", t).code == 0);
  const Json small = read_json_file((t / "small.json").string());
  CHECK(small["metadata"]["dropped_events"].get<long>() > 0);
  CHECK(small["traceEvents"].size() < 150);
}

TEST_CASE("the default study shows both placements at their capacity, and which is cheaper per token")
{
  Tmp t;
  // The built-in default (no file) with shorter probes to keep the test quick.
  const Cli r = cli("run --set workload.duration_s=100 --set sim.warmup_s=10 -o " + (t / "o").string(), t);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out.find("each placement at its capacity: colocated at ") != std::string::npos);
  CHECK(r.out.find("cheaper per M output tokens than") != std::string::npos);
  const Json cap = read_json_file((t / "o" / "capacity.json").string());
  for (const char* p : {"colocated", "disaggregated"}) {
    const Json& c = cap["placements"][p];
    CHECK(c["meets_slo"] == true);
    const Json s = read_json_file((t / "o" / p / "summary.json").string());
    CHECK(s["status"]["verdict"] == "ok");
    const Json rs = read_json_file((t / "o" / p / "resolved_scenario.json").string());
    CHECK(rs["workload"]["qps"] == c["capacity_qps"]);
    CHECK(s["throughput"]["output_tokens_per_s_per_mw"].get<double>() > 0);
    CHECK(s["throughput"]["output_tokens_per_s_per_mw_facility"].get<double>() <
          s["throughput"]["output_tokens_per_s_per_mw"].get<double>());
    // The summary's cost by kind sums to its total.
    double sum = 0, sum_m = 0;
    for (auto const& [k, v] : s["cost"]["usd_per_hour_by_kind"].items())
      sum += v.get<double>();
    for (auto const& [k, v] : s["cost"]["usd_per_million_output_tokens_by_kind"].items())
      sum_m += v.get<double>();
    CHECK(sum == doctest::Approx(s["cost"]["usd_per_hour"].get<double>()));
    CHECK(sum_m == doctest::Approx(s["cost"]["usd_per_million_output_tokens"].get<double>()));
    CHECK(s["cost"]["usd_per_hour_by_kind"]["facility"].get<double>() > 0);
  }
}
