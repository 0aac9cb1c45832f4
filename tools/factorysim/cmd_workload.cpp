// `factorysim workload fit TRACE -o workload.json [--format F] [--hash-block-tokens N]`: a runnable workload
// fitted to a trace, with the fit's report (sim/scenario/workload_fit.cpp).
#include "commands.hpp"
#include "output.hpp"
#include "schema.hpp"
#include "workload.hpp"
#include <cstdio>

namespace fs::cli {

int cmd_workload_fit(const WorkloadFitArgs& a)
{
  const std::string format = a.format.empty() ? detect_trace_format(a.trace) : a.format;
  Json j = fit_workload(read_trace(a.trace, format, a.hash_block_tokens), a.trace);
  j["fit"]["trace"] = a.trace;
  j["fit"]["format"] = format;
  // What we write must run: parse it as a scenario's workload would be.
  parse_workload(JsonNode(j["workload"], a.out, "workload", &workload_spec()), a.out);
  write_file(a.out, j.dump(2) + "\n");
  const Json& f = j["fit"];
  const Json& arr = f["arrivals"];
  std::printf("%s (%s): %ld requests over %.0f s -> %s\n", a.trace.c_str(), format.c_str(), f["requests"].get<long>(),
              f["span_s"].get<double>(), a.out.c_str());
  std::printf("  arrivals: %s at %.3f req/s, gap CV %.2f%s\n", arr["process"].get<std::string>().c_str(),
              arr["poisson"]["qps"].get<double>(), arr["gamma"]["cv"].get<double>(),
              arr["rate_curve"]["emitted"].get<bool>() ? ", along a rate curve" : "");
  for (const char* col : {"input", "output"})
    std::printf("  %-6s tokens: mean %.0f, median %.0f, p90 %.0f, max %.0f (empirical, 101 quantiles)\n", col,
                f[col]["mean"].get<double>(), f[col]["median"].get<double>(), f[col]["p90"].get<double>(),
                f[col]["max"].get<double>());
  return 0;
}

} // namespace fs::cli
