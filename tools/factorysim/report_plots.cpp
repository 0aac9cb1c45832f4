#include "report_plots.hpp"
#include "output.hpp"
#include <algorithm>
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

std::string render_plot(const PlotSpec& p, const stdfs::path& plots_dir, const std::string& gnuplot)
{
  std::map<std::string, std::vector<PlotPoint>> series;
  for (const PlotPoint& pt : p.points)
    series[pt.series].push_back(pt);
  std::ostringstream dat, gp;
  gp << "set terminal svg size 1000,620 dynamic noenhanced font 'Sans,13' background rgb 'white'\n"
     << "set output " << quoted(p.name + ".svg") << "\nset title " << quoted(p.title) << "\nset xlabel "
     << quoted(p.xlabel) << "\nset ylabel " << quoted(p.ylabel) << "\nset grid\nset key outside right top box\n"
     << "set offsets graph 0.05, graph 0.12, graph 0.08, graph 0.08\n";
  if (p.logx) gp << "set logscale x\n";
  if (p.logy) gp << "set logscale y\n";
  gp << "plot ";
  int block = 0, color = 1;
  for (auto const& [name, pts] : series) {
    for (const PlotPoint& pt : pts)
      dat << pt.x << " " << pt.y << "\n";
    dat << "\n\n";
    for (size_t i : pareto_front(pts, p.maximize_x, p.maximize_y))
      dat << pts[i].x << " " << pts[i].y << " \"" << pts[i].label << "\"\n";
    dat << "\n\n";
    gp << (block ? ", \\\n     " : "") << quoted(p.name + ".dat") << " index " << block
       << " with points pt 7 ps 0.7 lc " << color << " notitle, \\\n     " << quoted(p.name + ".dat") << " index "
       << block + 1 << " using 1:2 with linespoints pt 7 ps 1.2 lw 2 lc " << color << " title " << quoted(name)
       << ", \\\n     " << quoted(p.name + ".dat") << " index " << block + 1
       << " using 1:2:3 with labels offset char 0.6,0.6 left font ',9' tc lt " << color << " notitle";
    block += 2;
    ++color;
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
