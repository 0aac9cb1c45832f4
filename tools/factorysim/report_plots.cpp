#include "report_plots.hpp"
#include "output.hpp"
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace stdfs = std::filesystem;

namespace fs::cli {

std::vector<size_t> pareto_front(const std::vector<PlotPoint>& pts, bool maximize_x, bool maximize_y)
{
  auto better_eq = [](double a, double b, bool max) { return max ? a >= b : a <= b; };
  std::vector<size_t> front;
  for (size_t i = 0; i < pts.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < pts.size() && !dominated; ++j)
      dominated = j != i && better_eq(pts[j].x, pts[i].x, maximize_x) && better_eq(pts[j].y, pts[i].y, maximize_y) &&
                  (pts[j].x != pts[i].x || pts[j].y != pts[i].y);
    if (!dominated) front.push_back(i);
  }
  std::sort(front.begin(), front.end(),
            [&](size_t a, size_t b) { return pts[a].x != pts[b].x ? pts[a].x < pts[b].x : pts[a].y < pts[b].y; });
  return front;
}

std::string find_gnuplot()
{
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/bin");
  for (std::string d; std::getline(ss, d, ':');)
    if (!d.empty() && ::access((stdfs::path(d) / "gnuplot").c_str(), X_OK) == 0) return (stdfs::path(d) / "gnuplot");
  return "";
}

namespace {

std::string quoted(const std::string& s)
{
  std::string o = "'";
  for (char c : s)
    o += c == '\'' ? std::string("''") : std::string(1, c);
  return o + "'";
}

} // namespace

namespace {

// Index of `key` among the sorted distinct keys `pick` takes from the points.
template <class F> std::map<std::string, size_t> key_index(const std::vector<PlotPoint>& pts, F pick)
{
  std::map<std::string, size_t> idx;
  for (const PlotPoint& pt : pts)
    idx.emplace(pick(pt), 0);
  size_t i = 0;
  for (auto& [k, v] : idx)
    v = i++;
  return idx;
}

} // namespace

std::string render_plot(const PlotSpec& p, const stdfs::path& plots_dir, const std::string& gnuplot)
{
  // Colour by chip, point shape by placement: filled within SLO, hollow when missing it.
  static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                 "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  static const int filled[] = {7, 5, 9, 13, 11}, hollow[] = {6, 4, 8, 12, 10};
  const auto color_of = key_index(p.points, [](const PlotPoint& x) { return x.color_key; });
  const auto shape_of = key_index(p.points, [](const PlotPoint& x) { return x.shape_key; });
  std::map<std::string, std::vector<PlotPoint>> series;
  for (const PlotPoint& pt : p.points)
    series[pt.series].push_back(pt);
  std::ostringstream dat, gp;
  gp << "set terminal svg size 1000,620 dynamic noenhanced font 'Sans,13' background rgb 'white'\n"
     << "set output " << quoted(p.name + ".svg") << "\nset title " << quoted(p.title) << "\nset xlabel "
     << quoted(p.xlabel) << "\nset ylabel " << quoted(p.ylabel) << "\nset grid\nset key outside right top box\n";
  // Log axes tick at 1, 2, 5 x 10^k (a tight range may hold no power of ten).
  std::string ticks;
  for (double d = 1e-4; d < 1e6; d *= 10)
    for (double m : {1.0, 2.0, 5.0}) {
      if (!ticks.empty()) ticks += ',';
      ticks += std::to_string(m * d);
    }
  if (p.logx) gp << "set logscale x\nset autoscale xfix\nset xtics (" << ticks << ")\nset format x '%g'\n";
  if (p.logy) gp << "set logscale y\nset autoscale yfix\nset ytics (" << ticks << ")\nset format y '%g'\n";
  gp << "set offsets graph 0.04, graph 0.1, graph 0.08, graph " << (p.logy ? "0.05" : "0") << "\n";
  if (!p.logy) gp << "set yrange [0:*]\n";
  gp << "plot ";
  int block = 0;
  for (auto const& [name, pts] : series) {
    const std::string lc = std::string(" lc rgb '") + colors[color_of.at(pts[0].color_key) % 8] + "'";
    const size_t shape = shape_of.at(pts[0].shape_key) % 5;
    for (bool miss : {false, true}) {
      for (const PlotPoint& pt : pts)
        if (pt.missed == miss) dat << pt.x << " " << pt.y << "\n";
      dat << (std::any_of(pts.begin(), pts.end(), [&](const PlotPoint& x) { return x.missed == miss; }) ? ""
                                                                                                        : "nan nan\n")
          << "\n\n";
    }
    // The front, each point labelled with its load when in the upper half of the front's loads (the rest crowd).
    const std::vector<size_t> front = pareto_front(pts, p.maximize_x, p.maximize_y);
    std::vector<double> loads;
    for (size_t i : front)
      if (!std::isnan(pts[i].load)) loads.push_back(pts[i].load);
    std::sort(loads.begin(), loads.end());
    const double from = loads.empty() ? 0 : loads[loads.size() / 2];
    for (size_t i : front) {
      char lbl[32] = "";
      if (!std::isnan(pts[i].load) && pts[i].load >= from) std::snprintf(lbl, sizeof lbl, "%.3g", pts[i].load);
      dat << pts[i].x << " " << pts[i].y << " \"" << lbl << "\"\n";
    }
    dat << "\n\n";
    const std::string f = quoted(p.name + ".dat");
    // The front's line first, the runs on top of it (the key shows the filled marker of each series).
    gp << (block ? ", \\\n     " : "") << f << " index " << block + 2 << " using 1:2 with lines lw 2" << lc
       << " notitle, \\\n     " << f << " index " << block << " using 1:2 with points pt " << filled[shape] << " ps 1"
       << lc << " title " << quoted(name) << ", \\\n     " << f << " index " << block + 1
       << " using 1:2 with points pt " << hollow[shape] << " ps 1" << lc << " notitle, \\\n     " << f << " index "
       << block + 2 << " using 1:2:3 with labels offset char 0.5,0.6 left font ',9' tc rgb '"
       << colors[color_of.at(pts[0].color_key) % 8] << "' notitle";
    block += 3;
  }
  if (series.empty()) return "no points to plot";
  gp << "\n";
  try {
    write_file(plots_dir / (p.name + ".dat"), dat.str());
    write_file(plots_dir / (p.name + ".gp"), gp.str());
  } catch (const OutputError& e) {
    return e.what();
  }
  const std::string log = (plots_dir / (p.name + ".log")).string(), script = p.name + ".gp";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addchdir_np(&fa, plots_dir.c_str());
  std::vector<char*> argv = {const_cast<char*>(gnuplot.c_str()), const_cast<char*>(script.c_str()), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, gnuplot.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return "cannot start gnuplot";
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::error_code ec;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !stdfs::exists(plots_dir / (p.name + ".svg"), ec)) {
    std::ifstream in(log);
    std::string line, last;
    while (std::getline(in, line))
      if (!line.empty()) last = line;
    return "gnuplot failed on " + (plots_dir / script).string() + (last.empty() ? "" : ": " + last);
  }
  stdfs::remove(log, ec);
  return "";
}

} // namespace fs::cli
