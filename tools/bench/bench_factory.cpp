// Benchmark (not a test): a 64-GPU factory (8 HGX-H100 servers, Llama-3.1-70B TP4) replaying N Poisson
// requests. Prints simulated requests per wall second, SimGrid wake-ups, and simulated vs wall time.
// usage: bench_factory [requests=100000] [colocated|disaggregated] [fast|exact] [qps=60]
#include "factory.hpp"
#include "summary.hpp"
#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv)
{
  const long n = argc > 1 ? std::atol(argv[1]) : 100000;
  const std::string placement = argc > 2 ? argv[2] : "colocated";
  const std::string mode = argc > 3 ? argv[3] : "fast";
  const double qps = argc > 4 ? std::atof(argv[4]) : 60;
  fs::Json doc = {{"name", "bench-64gpu"},
                  {"model", "Llama-3.1-70B"},
                  {"pools", {{{"name", "h100"}, {"server", "HGX-H100-8"}, {"servers", 8}}}},
                  {"fabric", {{"servers_per_rack", 4}, {"oversubscription", 2}}},
                  {"placements",
                   {{{"name", "colocated"}, {"type", "colocated"}, {"pool", "h100"}, {"instances", 16}, {"tp", 4}},
                    {{"name", "disaggregated"},
                     {"type", "disaggregated"},
                     {"prefill", {{"pool", "h100"}, {"instances", 8}, {"tp", 4}}},
                     {"decode", {{"pool", "h100"}, {"instances", 8}, {"tp", 4}}}}}},
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
    std::printf("bench_factory: 64 H100 GPUs, %s, %s mode, %ld requests at %.0f req/s\n", placement.c_str(),
                mode.c_str(), n, qps);
    std::printf("  wall time              %.2f s\n", r.wall_s);
    std::printf("  simulated time         %.1f s  (%.0fx faster than real time)\n", r.simulated_s,
                r.simulated_s / r.wall_s);
    std::printf("  requests per wall s    %.0f\n", double(n) / r.wall_s);
    std::printf("  engine steps           %ld  (%.0f steps per wall s)\n", steps, double(steps) / r.wall_s);
    std::printf("  SimGrid wake-ups       %ld  (%.2f per request)\n", r.events, double(r.events) / double(n));
    std::printf("  output tokens/s        %.0f (simulated), p99 TTFT %.3f s\n",
                sum["throughput"]["output_tokens_per_s"].get<double>(), sum["latency_s"]["ttft"]["p99"].get<double>());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_factory: %s\n", e.what());
    return 1;
  }
  return 0;
}
