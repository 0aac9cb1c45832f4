// `factorysim topology`: the factory of a scenario as a graph (sim/scenario/topology.hpp), written as Graphviz
// (and rendered to SVG when Graphviz's `dot` is installed), with a summary: counts and bisection bandwidth.
#include "commands.hpp"
#include "output.hpp"
#include "scenario.hpp"
#include "topology.hpp"
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace fs::cli {

namespace {

// The first executable `name` on PATH, or "".
std::string find_on_path(const std::string& name)
{
  const char* path = std::getenv("PATH");
  if (!path) return "";
  std::stringstream dirs(path);
  for (std::string d; std::getline(dirs, d, ':');) {
    const std::string p = (d.empty() ? "." : d) + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

// Runs `dot -Tsvg -o svg dotfile`; returns whether it succeeded.
bool render_svg(const std::string& dot, const std::string& dot_file, const std::string& svg_file)
{
  std::vector<std::string> args = {dot, "-Tsvg", "-o", svg_file, dot_file};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  std::fflush(nullptr);
  if (::posix_spawn(&pid, dot.c_str(), nullptr, nullptr, argv.data(), environ) != 0) return false;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string bw(double bytes_per_s)
{
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.6g GB/s (%.6g Tb/s)", bytes_per_s / 1e9, bytes_per_s * 8 / 1e12);
  return buf;
}

} // namespace

int cmd_topology(const TopologyArgs& a)
{
  const Scenario s = load_scenario(a.scenario, a.sets); // bad input: InputError, exit 2 (as `run`)
  const Topology t = build_topology(s);
  const std::string dot = topology_dot(t, s.name);
  std::ostream& info = a.out.empty() ? std::cerr : std::cout; // without -o the graph goes to stdout
  if (a.out.empty())
    std::cout << dot;
  else
    write_file(a.out, dot);

  const long vertices = long(num_vertices(t.graph)), links = long(num_edges(t.graph));
  info << "topology of \"" << s.name << "\" (" << t.type;
  if (t.type == "fat_tree") info << ", k=" << s.fabric.k;
  info << ")\n";
  info << "  chips:     " << t.chips << "\n";
  info << "  servers:   " << t.servers << "\n";
  if (t.type == "fat_tree")
    info << "  switches:  " << t.switches() << " (" << t.edges << " edge, " << t.aggregations << " aggregation, "
         << t.cores << " core)\n";
  else
    info << "  switches:  " << t.switches() << " (" << t.leaves << " leaf, " << t.spines << " spine)\n";
  info << "  links:     " << t.links << " (scale-up, NIC and switch links)\n";
  info << "  bisection: " << bw(t.bisection_bandwidth) << "\n";
  info << "  graph:     " << vertices << " vertices, " << links << " edges, connected";
  if (t.chips_collapsed) info << "; the chips of each server are one vertex (the full graph is too large to read)";
  info << "\n";
  if (!a.out.empty()) {
    info << "wrote " << a.out << "\n";
    const std::string dot_bin = find_on_path("dot");
    std::string svg = a.out;
    const auto slash = svg.find_last_of('/'), ext = svg.find_last_of('.');
    if (ext != std::string::npos && (slash == std::string::npos || ext > slash)) svg.resize(ext);
    svg += ".svg";
    if (dot_bin.empty())
      info << "Graphviz `dot` is not on PATH: no SVG rendered (dot -Tsvg -o " << svg << " " << a.out << ")\n";
    else if (vertices > 20000)
      info << "not rendering " << svg << ": " << vertices << " vertices is too many for dot\n";
    else if (render_svg(dot_bin, a.out, svg))
      info << "wrote " << svg << "\n";
    else
      info << "warning: `dot` failed to render " << svg << "\n";
  }
  return 0;
}

} // namespace fs::cli
