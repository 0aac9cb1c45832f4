// Plots for `factorysim report`: scatter plots with each series' Pareto front, drawn by gnuplot (a child process
// running a generated script over generated data files; docs/metrics.md, "Pareto fronts").
#pragma once
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

namespace fs::cli {

struct PlotPoint {
  double x = 0, y = 0;
  std::string series;               // one line per series (its front)
  std::string color_key, shape_key; // points of one key share a colour (a shape)
  double load = std::nan("");       // written beside front points (the upper half of the series' loads)
  bool missed = false;              // drawn hollow: the run missed its SLOs
};

struct PlotSpec {
  std::string name; // file stem under plots/
  std::string title, xlabel, ylabel;
  bool maximize_x = false, maximize_y = false; // which way is better, for the front
  bool logx = false, logy = false;
  std::vector<PlotPoint> points;
};

// Indices of the points no other point dominates (at least as good on both axes, better on one), by x ascending.
std::vector<size_t> pareto_front(const std::vector<PlotPoint>& pts, bool maximize_x, bool maximize_y);

// gnuplot's path, or "" when it is not installed.
std::string find_gnuplot();
// Writes plots/<name>.dat and .gp and runs gnuplot into plots/<name>.svg. Returns "" or what went wrong.
std::string render_plot(const PlotSpec& p, const std::filesystem::path& plots_dir, const std::string& gnuplot);

} // namespace fs::cli
