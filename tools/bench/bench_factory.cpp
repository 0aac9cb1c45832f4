// Benchmark (not a test): a factory of HGX-H100 servers (default 8: 64 GPUs; Llama-3.1-70B TP4, two instances per
// server) replaying N Poisson requests at the same load per instance whatever its size (7.5 req/s per server unless
// qps is given). Prints simulated requests per wall second and per CPU second (one core), engine wake-ups, peak RSS.
// usage: bench_factory [requests=100000] [colocated|disaggregated] [fast|exact] [qps=7.5 x servers] [servers=8]
// `requests` may be seconds of arrivals instead ("240s": qps x 240 requests). Compare sizes that way: a fixed count
// spreads over more instances in a larger factory, and a run of a few hundred requests per instance is mostly filling
// and draining batches, with more steps per request than the steady state (README, "Speed").
#include "factory.hpp"
#include "summary.hpp"
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/resource.h>

int main(int argc, char** argv)
{
  const std::string placement = argc > 2 ? argv[2] : "colocated";
  const std::string mode = argc > 3 ? argv[3] : "fast";
  const long servers = argc > 5 ? std::atol(argv[5]) : 8;
  const double qps = argc > 4 && std::atof(argv[4]) > 0 ? std::atof(argv[4]) : 7.5 * double(servers);
  const std::string count = argc > 1 ? argv[1] : "100000";
  const long n =
      !count.empty() && count.back() == 's' ? std::lround(qps * std::atof(count.c_str())) : std::atol(count.c_str());
  if (n <= 0 || servers <= 0) {
    std::fprintf(stderr, "bench_factory: want a positive request count (or seconds, e.g. 240s) and servers\n");
    return 2;
  }
  fs::Json doc = {
      {"name", "bench"},
      {"model", "Llama-3.1-70B"},
      {"pools", {{{"name", "h100"}, {"server", "HGX-H100-8"}, {"servers", servers}}}},
      {"fabric", {{"servers_per_rack", 4}, {"oversubscription", 2}}},
      {"placements",
       {{{"name", "colocated"}, {"type", "colocated"}, {"pool", "h100"}, {"instances", 2 * servers}, {"tp", 4}},
        {{"name", "disaggregated"},
         {"type", "disaggregated"},
         {"prefill", {{"pool", "h100"}, {"instances", servers}, {"tp", 4}}},
         {"decode", {{"pool", "h100"}, {"instances", servers}, {"tp", 4}}}}}},
      {"workload",
       {{"type", "poisson"},
        {"qps", qps},
        {"num_requests", n},
        {"input", {{"type", "lognormal"}, {"mean", 1155}, {"median", 1020}, {"max", 14050}}},
        {"output", {{"type", "lognormal"}, {"mean", 211}, {"median", 129}, {"max", 1000}}}}},
      {"sim", {{"mode", mode}}}};
  try {
    fs::Scenario s = fs::parse_scenario(doc, "(bench)");
    const size_t idx = placement == "disaggregated" ? 1 : 0;
    fs::RunResult r = fs::run_placement(s, idx);
    fs::Json sum = fs::make_summary(s, s.placements[idx], r);
    long steps = 0;
    for (auto const& i : r.instances)
      steps += i.stats.steps;
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const double cpu_s = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                         1e-6 * double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec); // set-up included
    std::printf("bench_factory: %ld H100 GPUs, %s, %s mode, %ld requests at %.0f req/s\n", 8 * servers,
                placement.c_str(), mode.c_str(), n, qps);
    std::printf("  wall time              %.2f s\n", r.wall_s);
    std::printf("  simulated time         %.1f s  (%.0fx faster than real time)\n", r.simulated_s,
                r.simulated_s / r.wall_s);
    std::printf("  requests per wall s    %.0f\n", double(n) / r.wall_s);
    std::printf("  engine steps           %ld  (%.0f steps per wall s, %.1f per request)\n", steps,
                double(steps) / r.wall_s, double(steps) / double(n));
    std::printf("  engine wake-ups        %ld  (%.2f per request)\n", r.events, double(r.events) / double(n));
    std::printf("  CPU time (process)     %.2f s  (%.0f requests per CPU s, set-up included)\n", cpu_s,
                double(n) / cpu_s);
    std::printf("  peak RSS               %.0f MB\n", double(ru.ru_maxrss) / 1024);
    std::printf("  output tokens/s        %.0f (simulated), p99 TTFT %.3f s\n",
                sum["throughput"]["output_tokens_per_s"].get<double>(), sum["latency_s"]["ttft"]["p99"].get<double>());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_factory: %s\n", e.what());
    return 1;
  }
  return 0;
}
