#include "sweep_results.hpp"
#include "output.hpp"
#include "scenario.hpp"
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

namespace stdfs = std::filesystem;

namespace fs::cli {

namespace {

void flatten(const Json& j, const std::string& prefix, std::map<std::string, Json>& out)
{
  if (j.is_null()) return;
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it)
      flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
    return;
  }
  if (j.is_array()) {
    if (prefix == "cost.items") return;
    if (std::all_of(j.begin(), j.end(), [](const Json& e) { return e.is_object() && e.contains("name"); })) {
      for (auto const& e : j) // stages: by name
        if (e["name"].is_string()) flatten(e, prefix + "." + e["name"].get<std::string>(), out);
      return;
    }
    if (std::any_of(j.begin(), j.end(), [](const Json& e) { return e.is_structured(); })) return;
    std::string joined;
    for (auto const& e : j)
      joined += (joined.empty() ? "" : "; ") + cell(e);
    out[prefix] = joined;
    return;
  }
  out[prefix] = j;
}

void write_atomic(const stdfs::path& path, const std::string& content)
{
  const stdfs::path tmp = path.string() + ".tmp";
  write_file(tmp, content);
  std::error_code ec;
  stdfs::rename(tmp, path, ec);
  if (ec) throw OutputError("cannot move " + tmp.string() + " to " + path.string() + ": " + ec.message());
}

bool is_load_axis(const std::string& path) { return path.size() >= 3 && path.compare(path.size() - 3, 3, "qps") == 0; }

} // namespace

std::string cell(const Json& v)
{
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.10g", v.get<double>());
    return buf;
  }
  return v.dump();
}

std::string csv_field(const std::string& s)
{
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s)
    q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

stdfs::path point_dir(const stdfs::path& out, const SweepPoint& p) { return out / "points" / p.id; }

std::vector<std::string> point_placements(const SweepSpec& sw, const SweepPoint& p)
{
  std::vector<std::string> names;
  const Json& pl = p.doc.contains("placements") ? p.doc["placements"] : Json();
  if (pl.is_array())
    for (auto const& e : pl)
      if (e.is_object() && e.contains("name") && e["name"].is_string()) {
        const std::string n = e["name"].get<std::string>();
        if (sw.placements.empty() || std::find(sw.placements.begin(), sw.placements.end(), n) != sw.placements.end())
          names.push_back(n);
      }
  if (names.empty()) names = sw.placements;
  return names;
}

void flatten_summary(const Json& summary, std::map<std::string, Json>& out)
{
  flatten(summary, "", out);
  if (!summary.contains("cost") || !summary["cost"].contains("items")) return;
  std::map<std::string, double> per_hour, capex;
  std::string chips;
  for (auto const& it : summary["cost"]["items"]) {
    const std::string kind = it.value("kind", "other");
    const std::string name = it.value("name", "");
    if (kind == "chip" && ("+" + chips + "+").find("+" + name + "+") == std::string::npos)
      chips += (chips.empty() ? "" : "+") + name;
    per_hour[kind] += it.value("usd_per_hour", 0.0);
    capex[kind] += it.value("capex_usd_each", 0.0) * it.value("count", 0.0);
  }
  if (!chips.empty()) out["chip"] = chips; // the chip names of the placement's pools
  for (auto const& [k, v] : per_hour)
    out["cost.usd_per_hour." + k] = v;
  for (auto const& [k, v] : capex)
    out["cost.capex_usd." + k] = v;
}

std::vector<SweepRow> collect_rows(const SweepSpec& sw, const std::vector<SweepPoint>& points, const stdfs::path& out)
{
  std::vector<SweepRow> rows;
  for (const SweepPoint& p : points) {
    const stdfs::path dir = point_dir(out, p);
    std::error_code ec;
    if (!stdfs::exists(dir / "point.json", ec)) continue;
    const Json pj = read_json_file((dir / "point.json").string());
    const std::vector<std::string> names = point_placements(sw, p);
    const std::vector<std::string> folders = folder_names(names);
    for (size_t k = 0; k < names.size(); ++k) {
      SweepRow r;
      r.index = p.index;
      r.id = p.id;
      r.placement = names[k];
      r.folder = "points/" + p.id + "/" + folders[k];
      r.status = pj.value("status", "failed");
      r.error = pj.value("error", "");
      r.wall_s = pj.value("wall_s", 0.0);
      for (size_t a = 0; a < sw.axes.size(); ++a)
        r.axis_values.push_back(sw.axes[a].label(p.pick[a]));
      if (const Json* q = json_at_path(p.doc, "workload.qps"); q && q->is_number()) r.offered_qps = q->get<double>();
      if (r.status == "ok") {
        const stdfs::path sp = dir / folders[k] / "summary.json";
        if (stdfs::exists(sp, ec))
          flatten_summary(read_json_file(sp.string()), r.metrics);
        else {
          r.status = "failed";
          r.error = sp.string() + ": missing";
        }
      }
      rows.push_back(std::move(r));
    }
  }
  return rows;
}

void write_results(const SweepSpec& sw, const std::vector<SweepRow>& rows, const stdfs::path& out)
{
  std::set<std::string> keys;
  for (const SweepRow& r : rows)
    for (auto const& [k, v] : r.metrics)
      if (k.find("wall") == std::string::npos) keys.insert(k); // wall times differ from run to run
  std::ostringstream csv;
  csv << "index,point_id";
  for (const SweepAxis& a : sw.axes)
    csv << "," << csv_field(a.path);
  csv << ",placement,status,error";
  for (const std::string& k : keys)
    csv << "," << csv_field(k);
  csv << "\n";
  Json jrows = Json::array();
  for (const SweepRow& r : rows) {
    csv << r.index << "," << r.id;
    Json j = {{"index", r.index}, {"point_id", r.id}};
    for (size_t a = 0; a < sw.axes.size(); ++a) {
      csv << "," << csv_field(r.axis_values[a]);
      j[sw.axes[a].path] = r.axis_values[a];
    }
    csv << "," << csv_field(r.placement) << "," << r.status << "," << csv_field(r.error);
    for (const std::string& k : keys) {
      auto it = r.metrics.find(k);
      csv << "," << (it == r.metrics.end() ? "" : csv_field(cell(it->second)));
    }
    csv << "\n";
    j["placement"] = r.placement;
    j["status"] = r.status;
    j["error"] = r.error;
    j["folder"] = r.folder;
    j["offered_qps"] = r.offered_qps < 0 ? Json() : Json(r.offered_qps);
    j["point_wall_s"] = r.wall_s;
    j["metrics"] = r.metrics;
    jrows.push_back(j);
  }
  Json axes = Json::array();
  for (const SweepAxis& a : sw.axes)
    axes.push_back(a.path);
  const Json doc = {{"sweep", sw.name}, {"file", sw.file}, {"axes", axes}, {"rows", jrows}};
  write_atomic(out / "results.csv", csv.str());
  write_atomic(out / "results.json", doc.dump(1) + "\n");
}

double metric(const SweepRow& r, const std::string& key)
{
  auto it = r.metrics.find(key);
  return it != r.metrics.end() && it->second.is_number() ? it->second.get<double>() : std::nan("");
}

bool within_slo(const SweepRow& r)
{
  auto it = r.metrics.find("status.verdict");
  return r.status == "ok" && it != r.metrics.end() && it->second == "ok";
}

std::string write_ranking(const SweepSpec& sw, const std::vector<SweepRow>& rows, double qps, const stdfs::path& out)
{
  // One configuration = its axis values except the load axes (paths ending in "qps"), and its placement; it serves
  // the target when a point at a rate >= the target is within SLO; the lowest such rate stands for it.
  std::map<std::string, const SweepRow*> best;
  for (const SweepRow& r : rows) {
    const double rate = r.offered_qps >= 0 ? r.offered_qps : metric(r, "throughput.requests_per_s");
    if (!within_slo(r) || !(rate >= qps) || std::isnan(metric(r, "cost.usd_per_million_output_tokens"))) continue;
    std::string key;
    for (size_t a = 0; a < sw.axes.size(); ++a)
      if (!is_load_axis(sw.axes[a].path)) key += r.axis_values[a] + "\x1f";
    key += r.placement;
    auto [it, fresh] = best.emplace(key, &r);
    const double cur = it->second->offered_qps >= 0 ? it->second->offered_qps : 0;
    if (!fresh && rate < cur) it->second = &r;
  }
  std::vector<const SweepRow*> ranked;
  for (auto const& [k, r] : best)
    ranked.push_back(r);
  std::stable_sort(ranked.begin(), ranked.end(), [](const SweepRow* a, const SweepRow* b) {
    const double ca = metric(*a, "cost.usd_per_million_output_tokens"),
                 cb = metric(*b, "cost.usd_per_million_output_tokens");
    return ca != cb ? ca < cb : a->index < b->index;
  });
  std::ostringstream csv, txt;
  csv << "rank,point_id";
  for (const SweepAxis& a : sw.axes)
    csv << "," << csv_field(a.path);
  csv << ",placement,offered_qps,usd_per_million_output_tokens,usd_per_hour,chips,ttft_p99_s,tpot_p99_s,"
         "slo_attainment,output_tokens_per_s\n";
  char line[512];
  txt << "configurations serving " << format_number(qps) << " req/s within their SLOs, cheapest first:\n";
  std::snprintf(line, sizeof line, "%4s  %-12s  %-40s  %8s  %9s  %8s  %6s  %9s\n", "rank", "point", "configuration",
                "req/s", "$/M out", "$/h", "chips", "TTFT p99");
  txt << line;
  for (size_t i = 0; i < ranked.size(); ++i) {
    const SweepRow& r = *ranked[i];
    csv << i + 1 << "," << r.id;
    std::string conf;
    for (size_t a = 0; a < sw.axes.size(); ++a) {
      csv << "," << csv_field(r.axis_values[a]);
      if (!is_load_axis(sw.axes[a].path)) conf += r.axis_values[a] + " ";
    }
    if (std::find(r.axis_values.begin(), r.axis_values.end(), r.placement) == r.axis_values.end()) conf += r.placement;
    auto num = [&](const char* k) { return cell(Json(metric(r, k))); };
    csv << "," << csv_field(r.placement) << "," << cell(Json(r.offered_qps)) << ","
        << num("cost.usd_per_million_output_tokens") << "," << num("cost.usd_per_hour") << "," << num("chips") << ","
        << num("latency_s.ttft.p99") << "," << num("latency_s.tpot.p99") << "," << num("slo.attainment") << ","
        << num("throughput.output_tokens_per_s") << "\n";
    std::snprintf(line, sizeof line, "%4zu  %-12s  %-40s  %8.3g  %9.4f  %8.2f  %6.0f  %9.3f\n", i + 1, r.id.c_str(),
                  conf.c_str(), r.offered_qps, metric(r, "cost.usd_per_million_output_tokens"),
                  metric(r, "cost.usd_per_hour"), metric(r, "chips"), metric(r, "latency_s.ttft.p99"));
    txt << line;
  }
  if (ranked.empty()) txt << "  (none: no point at that rate or above is within its SLOs)\n";
  write_atomic(out / ("ranking_qps_" + format_number(qps) + ".csv"), csv.str());
  return txt.str();
}

} // namespace fs::cli
