// `factorysim report OUTDIR`: report.md and report.html for a sweep's results (results.json): the ranking by $/M
// output tokens within SLOs, the runs that miss them, Pareto fronts drawn by gnuplot, the cost breakdown of the
// cheapest configurations and each chip's calibration (docs/metrics.md, "Sweeps").
#include "commands.hpp"
#include "output.hpp"
#include "report_doc.hpp"
#include "report_plots.hpp"
#include "sweep_results.hpp"
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <set>

namespace stdfs = std::filesystem;

namespace fs::cli {

namespace {

constexpr size_t kRankedShown = 25, kListed = 40, kBreakdown = 5;

struct Row {
  SweepRow r;
  std::string verdict() const
  {
    auto it = r.metrics.find("status.verdict");
    return it == r.metrics.end() ? "" : cell(it->second);
  }
  std::string chip() const
  {
    auto it = r.metrics.find("chip");
    return it == r.metrics.end() ? "?" : cell(it->second);
  }
  std::string series() const { return r.placement + " / " + chip(); }
};

std::string num(double x, int digits = 4)
{
  if (std::isnan(x)) return "-";
  char buf[32];
  if (std::fabs(x) >= 1e4 && std::fabs(x) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", x); // no 2.589e+04
  else
    std::snprintf(buf, sizeof buf, "%.*g", digits, x);
  return buf;
}

std::string text(const SweepRow& r, const std::string& key)
{
  auto it = r.metrics.find(key);
  return it == r.metrics.end() ? "" : cell(it->second);
}

std::vector<Row> read_rows(const stdfs::path& dir, std::vector<std::string>& axes, std::string& name)
{
  const Json doc = read_json_file((dir / "results.json").string());
  name = doc.value("sweep", dir.filename().string());
  for (auto const& a : doc.at("axes"))
    axes.push_back(a.get<std::string>());
  std::vector<Row> rows;
  for (auto const& j : doc.at("rows")) {
    Row row;
    SweepRow& r = row.r;
    r.index = j.at("index").get<size_t>();
    r.id = j.at("point_id").get<std::string>();
    r.placement = j.at("placement").get<std::string>();
    r.status = j.at("status").get<std::string>();
    r.error = j.value("error", "");
    r.folder = j.value("folder", "");
    r.offered_qps = j["offered_qps"].is_number() ? j["offered_qps"].get<double>() : -1;
    for (const std::string& a : axes)
      r.axis_values.push_back(j.value(a, ""));
    for (auto it = j["metrics"].begin(); it != j["metrics"].end(); ++it)
      r.metrics[it.key()] = it.value();
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<std::string> with_axes(std::vector<std::string> head, const std::vector<std::string>& axes,
                                   std::vector<std::string> tail)
{
  head.insert(head.end(), axes.begin(), axes.end());
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

void ranking(ReportDoc& doc, const std::vector<const Row*>& ranked, const std::vector<std::string>& axes)
{
  doc.heading("Ranking by $ per million output tokens (runs within their SLOs)");
  doc.paragraph("Every run whose summary status is ok (SLO attainment of at least 99% and a stable queue), cheapest "
                "first; " +
                std::to_string(ranked.size()) + " runs qualify" +
                (ranked.size() > kRankedShown ? ", the first " + std::to_string(kRankedShown) + " shown" : "") +
                ". $/M compares configurations at the load each point was run at: for a capacity comparison use "
                "`factorysim sweep ... --target-qps Q`.");
  std::vector<std::vector<std::string>> t;
  for (size_t i = 0; i < ranked.size() && i < kRankedShown; ++i) {
    const SweepRow& r = ranked[i]->r;
    std::vector<std::string> line = {std::to_string(i + 1), r.id};
    line.insert(line.end(), r.axis_values.begin(), r.axis_values.end());
    line.insert(line.end(),
                {r.placement, ranked[i]->chip(), num(metric(r, "cost.usd_per_million_output_tokens")),
                 num(metric(r, "cost.usd_per_hour")), num(metric(r, "chips")),
                 num(metric(r, "throughput.output_tokens_per_s")),
                 num(metric(r, "throughput.output_tokens_per_s_per_chip")),
                 num(metric(r, "throughput.per_user_output_tokens_per_s.p50")), num(metric(r, "latency_s.ttft.p99")),
                 num(metric(r, "latency_s.tpot.p99")), num(metric(r, "slo.attainment"))});
    t.push_back(line);
  }
  doc.table(with_axes({"rank", "point"}, axes,
                      {"placement", "chip", "$/M output tokens", "$/h", "chips", "output tok/s", "output tok/s/chip",
                       "per-user tok/s p50", "TTFT p99 (s)", "TPOT p99 (s)", "SLO attainment"}),
            t);
}

void misses(ReportDoc& doc, const std::vector<Row>& rows, const std::vector<std::string>& axes)
{
  std::vector<std::vector<std::string>> missed, broken;
  size_t n_missed = 0, n_broken = 0;
  for (const Row& row : rows) {
    const SweepRow& r = row.r;
    if (r.status != "ok") {
      if (++n_broken > kListed) continue;
      std::vector<std::string> line = {r.id};
      line.insert(line.end(), r.axis_values.begin(), r.axis_values.end());
      line.insert(line.end(), {r.placement, r.status, r.error.substr(0, 300)});
      broken.push_back(line);
    } else if (!within_slo(r)) {
      if (++n_missed > kListed) continue;
      std::vector<std::string> line = {r.id};
      line.insert(line.end(), r.axis_values.begin(), r.axis_values.end());
      line.insert(line.end(), {r.placement, row.chip(), row.verdict(), num(metric(r, "slo.attainment")),
                               num(metric(r, "latency_s.ttft.p99")), num(metric(r, "latency_s.tpot.p99")),
                               text(r, "status.reasons")});
      missed.push_back(line);
    }
  }
  if (n_missed) {
    doc.heading("Runs that MISS their SLOs");
    doc.warning(std::to_string(n_missed) + " of " + std::to_string(rows.size()) +
                " runs MISS THEIR SLOs (status slo_missed or unstable): their cost per token is not a capacity "
                "figure, and they are left out of the ranking" +
                (n_missed > kListed ? "; the first " + std::to_string(kListed) + " are listed" : ""));
    doc.table(with_axes({"point"}, axes,
                        {"placement", "chip", "status", "SLO attainment", "TTFT p99 (s)", "TPOT p99 (s)", "reasons"}),
              missed);
  }
  if (n_broken) {
    doc.heading("Points that did not run");
    doc.warning(std::to_string(n_broken) + " runs failed or were infeasible" +
                (n_broken > kListed ? "; the first " + std::to_string(kListed) + " are listed" : ""));
    doc.table(with_axes({"point"}, axes, {"placement", "status", "error"}), broken);
  }
}

PlotPoint at(PlotPoint p, double x, double y)
{
  p.x = x;
  p.y = y;
  return p;
}

void pareto(ReportDoc& doc, const std::vector<Row>& rows, const stdfs::path& dir)
{
  doc.heading("Pareto fronts");
  doc.paragraph("One series per placement and chip (colour: chip, shape: placement); each dot is a run, filled "
                "within its SLOs, hollow when it misses them (unstable runs are left out); the line joins the "
                "series' non-dominated runs, the upper half of them labelled with their offered load (req/s). "
                "Throughput per chip against the speed a "
                "user sees (the median of (output tokens - 1) / (finish - first token) per request); $ per million "
                "output tokens against p99 TTFT.");
  PlotSpec a{"pareto_throughput",
             "Output tokens/s per chip vs per-user output tokens/s (p50)",
             "per-user output tokens/s (p50)",
             "output tokens/s per chip",
             true,
             true,
             false,
             false,
             {}};
  PlotSpec b{"pareto_cost_ttft",
             "$ per million output tokens vs p99 TTFT",
             "TTFT p99 (s)",
             "$ / M output tokens",
             false,
             false,
             true,
             true,
             {}};
  for (const Row& row : rows) {
    const SweepRow& r = row.r;
    if (r.status != "ok" || row.verdict() == "unstable") continue;
    const double x1 = metric(r, "throughput.per_user_output_tokens_per_s.p50"),
                 y1 = metric(r, "throughput.output_tokens_per_s_per_chip");
    const double x2 = metric(r, "latency_s.ttft.p99"), y2 = metric(r, "cost.usd_per_million_output_tokens");
    const PlotPoint pt{
        0, 0, row.series(), row.chip(), r.placement, r.offered_qps >= 0 ? r.offered_qps : std::nan(""), !within_slo(r)};
    if (std::isfinite(x1) && std::isfinite(y1)) a.points.push_back(at(pt, x1, y1));
    if (std::isfinite(x2) && std::isfinite(y2) && x2 > 0 && y2 > 0) b.points.push_back(at(pt, x2, y2));
  }
  const std::string gnuplot = find_gnuplot();
  if (gnuplot.empty()) {
    doc.warning("gnuplot is not installed (Debian: apt-get install gnuplot-nox): no plots drawn");
    std::cerr << "warning: gnuplot is not installed: the report has no plots\n";
    return;
  }
  std::error_code ec;
  stdfs::create_directories(dir / "plots", ec);
  for (const PlotSpec* p : {&a, &b}) {
    const std::string err = render_plot(*p, dir / "plots", gnuplot);
    if (err.empty())
      doc.image("plots/" + p->name + ".svg", p->title);
    else {
      doc.warning("plot " + p->name + ": " + err);
      std::cerr << "warning: plot " << p->name << ": " << err << "\n";
    }
  }
}

void breakdown(ReportDoc& doc, const std::vector<const Row*>& ranked)
{
  if (ranked.empty()) return;
  std::set<std::string> kinds;
  for (size_t i = 0; i < ranked.size() && i < kBreakdown; ++i)
    for (auto const& [k, v] : ranked[i]->r.metrics)
      if (k.rfind("cost.usd_per_hour.", 0) == 0) kinds.insert(k.substr(18));
  doc.heading("Cost breakdown of the cheapest configurations");
  doc.paragraph("$/h by component kind (capex over the depreciation period plus energy at PUE), and its share of the "
                "total, from each summary's cost.items.");
  std::vector<std::string> head = {"rank", "point", "placement", "chip", "total $/h"};
  for (const std::string& k : kinds)
    head.push_back(k + " $/h (share)");
  std::vector<std::vector<std::string>> t;
  for (size_t i = 0; i < ranked.size() && i < kBreakdown; ++i) {
    const SweepRow& r = ranked[i]->r;
    const double total = metric(r, "cost.usd_per_hour");
    std::vector<std::string> line = {std::to_string(i + 1), r.id, r.placement, ranked[i]->chip(), num(total)};
    for (const std::string& k : kinds) {
      const double v = metric(r, "cost.usd_per_hour." + k);
      line.push_back(std::isnan(v) ? "-" : num(v) + " (" + num(100 * v / total, 3) + "%)");
    }
    t.push_back(line);
  }
  doc.table(head, t);
}

void calibration(ReportDoc& doc, const std::vector<Row>& rows)
{
  std::map<std::string, std::set<std::string>> by_chip;
  for (const Row& row : rows)
    if (row.r.status == "ok") by_chip[row.chip()].insert(text(row.r, "calibration"));
  doc.heading("Calibration");
  doc.paragraph("Where each chip's efficiencies come from: `datasheet` (peak figures with documented default "
                "efficiencies, no measurement) or `measured:<device>` (fitted kernel measurements, calibration/).");
  std::vector<std::vector<std::string>> t;
  for (auto const& [chip, cals] : by_chip) {
    std::string c;
    for (const std::string& s : cals)
      c += (c.empty() ? "" : ", ") + s;
    t.push_back({chip, c});
  }
  doc.table({"chip", "calibration"}, t);
}

} // namespace

int cmd_report(const std::string& dir_arg)
{
  const stdfs::path dir = dir_arg;
  std::error_code ec;
  if (!stdfs::exists(dir / "results.json", ec))
    throw InputError(dir_arg + ": no results.json (the -o folder of a finished `factorysim sweep`)");
  std::vector<std::string> axes;
  std::string name;
  const std::vector<Row> rows = read_rows(dir, axes, name);
  std::vector<const Row*> ranked;
  for (const Row& row : rows)
    if (within_slo(row.r) && !std::isnan(metric(row.r, "cost.usd_per_million_output_tokens"))) ranked.push_back(&row);
  std::stable_sort(ranked.begin(), ranked.end(), [](const Row* a, const Row* b) {
    return metric(a->r, "cost.usd_per_million_output_tokens") < metric(b->r, "cost.usd_per_million_output_tokens");
  });

  ReportDoc doc;
  size_t ran = 0;
  for (const Row& row : rows)
    ran += row.r.status == "ok";
  doc.paragraph(std::to_string(rows.size()) + " runs (points x placements) over the axes " +
                [&] {
                  std::string s;
                  for (const std::string& a : axes)
                    s += (s.empty() ? "" : ", ") + a;
                  return s;
                }() +
                ": " + std::to_string(ran) + " ran, " + std::to_string(ranked.size()) +
                " within their SLOs. Data: " + "results.csv (one row per run, docs/metrics.md \"Sweeps\").");
  if (ranked.empty()) doc.warning("no run is within its SLOs");
  ranking(doc, ranked, axes);
  misses(doc, rows, axes);
  pareto(doc, rows, dir);
  breakdown(doc, ranked);
  calibration(doc, rows);
  const std::string title = "Sweep " + name;
  write_file(dir / "report.md", doc.markdown(title));
  write_file(dir / "report.html", doc.html(title, dir));
  std::cout << "report: " << (dir / "report.md").string() << ", " << (dir / "report.html").string() << "\n";
  if (!ranked.empty())
    std::cout << "cheapest within SLO: point " << ranked[0]->r.id << " " << ranked[0]->r.placement << " on "
              << ranked[0]->chip() << ": $" << num(metric(ranked[0]->r, "cost.usd_per_million_output_tokens"))
              << " per M output tokens\n";
  return 0;
}

} // namespace fs::cli
