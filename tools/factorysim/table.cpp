#include "commands.hpp"
#include "json_input.hpp"
#include <cstdio>
#include <functional>
#include <set>
#include <sstream>

namespace fs::cli {

std::string format_printf(const char* f, double x)
{
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

namespace {
std::string fmt(const char* f, double x) { return format_printf(f, x); }
} // namespace

std::string format_table(const std::vector<std::string>& names, const std::vector<std::string>& texts)
{
  std::vector<Json> s;
  for (auto const& t : texts)
    s.push_back(Json::parse(t));
  using Row = std::pair<std::string, std::function<std::string(const Json&)>>;
  auto num = [](const char* f, std::function<double(const Json&)> get) {
    return [f, get](const Json& j) { return fmt(f, get(j)); };
  };
  // A run that misses its SLOs or whose queue grows without bound says so first, and on its cost.
  auto verdict = [](const Json& j) { return j["status"]["verdict"].get<std::string>(); };
  auto flagged = [verdict](const char* f, std::function<double(const Json&)> get) {
    return [f, get, verdict](const Json& j) {
      const std::string v = verdict(j);
      return fmt(f, get(j)) + (v == "unstable" ? " (UNSTABLE)" : v == "slo_missed" ? " (SLO missed)" : "");
    };
  };
  std::vector<Row> rows = {
      {"status",
       [verdict](const Json& j) {
         const std::string v = verdict(j);
         if (v == "ok") return std::string("ok");
         if (v == "unstable") return std::string("UNSTABLE: queue grows");
         return fmt("SLO MISSED: %.0f%% met", 100 * j["slo"]["attainment"].get<double>());
       }},
      {"chips", num("%.0f", [](const Json& j) { return j["chips"].get<double>(); })},
      {"requests completed / dropped",
       [](const Json& j) {
         return std::to_string(j["requests"]["completed"].get<long>()) + " / " +
                std::to_string(j["requests"]["dropped"].get<long>());
       }},
      {"output tokens/s",
       num("%.0f", [](const Json& j) { return j["throughput"]["output_tokens_per_s"].get<double>(); })},
      {"output tokens/s per chip",
       num("%.1f", [](const Json& j) { return j["throughput"]["output_tokens_per_s_per_chip"].get<double>(); })},
      {"output tokens/s per MW (IT / facility)",
       [](const Json& j) {
         const Json& t = j["throughput"];
         return fmt("%.0f", t["output_tokens_per_s_per_mw"]) + " / " +
                fmt("%.0f", t["output_tokens_per_s_per_mw_facility"]);
       }},
      {"input tokens/s",
       num("%.0f", [](const Json& j) { return j["throughput"]["input_tokens_per_s"].get<double>(); })},
      {"TTFT p50 / p99 (s)",
       [](const Json& j) {
         return fmt("%.3f", j["latency_s"]["ttft"]["p50"]) + " / " + fmt("%.3f", j["latency_s"]["ttft"]["p99"]);
       }},
      {"TPOT p50 / p99 (ms)",
       [](const Json& j) {
         return fmt("%.1f", j["latency_s"]["tpot"]["p50"].get<double>() * 1e3) + " / " +
                fmt("%.1f", j["latency_s"]["tpot"]["p99"].get<double>() * 1e3);
       }},
      {"per-user output tok/s p50 / p10",
       [](const Json& j) {
         const Json& u = j["throughput"]["per_user_output_tokens_per_s"];
         return u["n"].get<long>() ? fmt("%.0f", u["p50"]) + " / " + fmt("%.0f", u["p10"]) : std::string("-");
       }},
      {"E2E p99 (s)", num("%.2f", [](const Json& j) { return j["latency_s"]["e2e"]["p99"].get<double>(); })},
      {"decode-slot wait p50 / p99 (s)",
       [](const Json& j) {
         const Json& d = j["latency_s"]["decode_wait"];
         return d["n"].get<long>() ? fmt("%.3f", d["p50"]) + " / " + fmt("%.3f", d["p99"]) : std::string("-");
       }},
      {"goodput (req/s)", num("%.2f", [](const Json& j) { return j["goodput_requests_per_s"].get<double>(); })},
      {"SLO attainment", num("%.1f%%", [](const Json& j) { return 100 * j["slo"]["attainment"].get<double>(); })},
      {"power (kW, IT)", num("%.1f", [](const Json& j) { return j["power_kw"].get<double>(); })},
      {"energy (J / output token)",
       num("%.2f", [](const Json& j) { return j["energy_j_per_output_token"].get<double>(); })},
      {"cost ($/h)", num("%.2f", [](const Json& j) { return j["cost"]["usd_per_hour"].get<double>(); })},
      {"$/M out: hw / facility / energy / ops",
       [](const Json& j) {
         const Json& k = j["cost"]["usd_per_million_output_tokens_by_kind"];
         double hw = 0;
         for (auto const& [kind, v] : k.items())
           if (kind != "facility" && kind != "energy" && kind != "operations") hw += v.get<double>();
         return fmt("%.3f", hw) + " / " + fmt("%.3f", k["facility"]) + " / " + fmt("%.3f", k["energy"]) + " / " +
                fmt("%.3f", k["operations"]);
       }},
      {"$ / M output tokens",
       flagged("%.3f", [](const Json& j) { return j["cost"]["usd_per_million_output_tokens"].get<double>(); })},
      {"$ / M total tokens",
       flagged("%.3f", [](const Json& j) { return j["cost"]["usd_per_million_total_tokens"].get<double>(); })},
      {"KV transferred (GB)",
       num("%.1f", [](const Json& j) { return j["kv_transfer"]["total_bytes"].get<double>() / 1e9; })},
      {"preemptions", num("%.0f", [](const Json& j) { return j["requests"]["preemptions"].get<double>(); })},
  };
  std::set<std::string> util_keys;
  for (auto const& j : s)
    for (auto it = j["utilization"].begin(); it != j["utilization"].end(); ++it)
      util_keys.insert(it.key());
  for (auto const& k : util_keys)
    rows.push_back({"utilization " + k, [k](const Json& j) {
                      return j["utilization"].contains(k) ? fmt("%.1f%%", 100 * j["utilization"][k].get<double>())
                                                          : std::string("-");
                    }});
  if (!s.empty() && s.front()["host"].is_object()) {
    rows.push_back({"host (" + s.front()["host"]["pool"].get<std::string>() + ") utilization",
                    [](const Json& j) { return fmt("%.1f%%", 100 * j["host"]["utilization"].get<double>()); }});
    rows.push_back({"host queue p50 / p99 (s)", [](const Json& j) {
                      return fmt("%.3f", j["host"]["queue_s"]["p50"]) + " / " +
                             fmt("%.3f", j["host"]["queue_s"]["p99"]);
                    }});
  }
  if (!s.empty() && s.front().value("sessions", Json()).is_object()) {
    // Sessions or agent tasks: work done per dollar, next to $/M tokens.
    rows.push_back({"sessions: E2E p50 / p99 (s)", [](const Json& j) {
                      return fmt("%.2f", j["sessions"]["e2e_s"]["p50"]) + " / " +
                             fmt("%.2f", j["sessions"]["e2e_s"]["p99"]);
                    }});
    rows.push_back({"sessions: LLM / tool s (mean)", [](const Json& j) {
                      return fmt("%.2f", j["sessions"]["llm_s"]["mean"]) + " / " +
                             fmt("%.2f", j["sessions"]["tool_s"]["mean"]);
                    }});
    rows.push_back({"sessions completed / h",
                    num("%.0f", [](const Json& j) { return j["sessions"]["completed_per_hour"].get<double>(); })});
    rows.push_back(
        {"$ / session", flagged("%.4f", [](const Json& j) { return j["sessions"]["usd_per_session"].get<double>(); })});
  }
  rows.push_back({"calibration", [](const Json& j) { return j["calibration"].get<std::string>(); }});
  rows.push_back({"sim wall (s) / events", [](const Json& j) {
                    return fmt("%.2f", j["sim"]["wall_s"]) + " / " + std::to_string(j["sim"]["events"].get<long>());
                  }});

  std::vector<std::pair<std::string, std::vector<std::string>>> grid;
  for (auto const& r : rows) {
    grid.push_back({r.first, {}});
    for (auto const& j : s)
      grid.back().second.push_back(r.second(j));
  }
  return format_grid(names, grid);
}

std::string format_grid(const std::vector<std::string>& names,
                        const std::vector<std::pair<std::string, std::vector<std::string>>>& rows)
{
  size_t w0 = 0;
  for (auto const& r : rows)
    w0 = std::max(w0, r.first.size());
  std::vector<size_t> w(names.size());
  for (size_t c = 0; c < names.size(); ++c) {
    w[c] = names[c].size();
    for (auto const& r : rows)
      w[c] = std::max(w[c], r.second.at(c).size());
  }
  std::ostringstream os;
  auto line = [&](const std::string& head, auto cell) {
    os << head << std::string(w0 - head.size() + 2, ' ');
    for (size_t c = 0; c < names.size(); ++c) {
      std::string v = cell(c);
      os << std::string(w[c] - v.size(), ' ') << v << (c + 1 < names.size() ? "  " : "");
    }
    os << "\n";
  };
  line("", [&](size_t c) { return names[c]; });
  for (auto const& r : rows)
    line(r.first, [&](size_t c) { return r.second[c]; });
  return os.str();
}

} // namespace fs::cli
