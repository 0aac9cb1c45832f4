#include "progress.hpp"
#include <cmath>
#include <cstdio>
#include <unistd.h>

namespace fs {

namespace {
std::string grouped(long n)
{
  const std::string digits = std::to_string(n);
  std::string s;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) s += ',';
    s += digits[i];
  }
  return s;
}
} // namespace

std::string progress_line(const std::string& label, double sim_now, long done, long total, double sim_end,
                          double wall_s)
{
  char buf[256];
  const double rate = wall_s > 0 ? double(done) / wall_s : 0;
  std::string s = label + ": simulated ";
  std::snprintf(buf, sizeof buf, "%.1f s, ", sim_now);
  s += buf;
  s += grouped(done) + (total > 0 ? " of " + grouped(total) : "") + " requests done, " + grouped(long(rate)) + " req/s";
  double left = -1; // wall seconds, from the requests left or else the simulated time left
  if (total > 0 && done > 0)
    left = wall_s * double(total - done) / double(done);
  else if (std::isfinite(sim_end) && sim_now > 0 && sim_now < sim_end)
    left = wall_s * (sim_end - sim_now) / sim_now;
  if (left >= 0) {
    std::snprintf(buf, sizeof buf, ", ETA %.0f s", left);
    s += buf;
  }
  return s;
}

Progress::Progress(std::string label, long total, double sim_end)
    : label_(std::move(label)), total_(total), sim_end_(sim_end), on_(isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()), last_(start_)
{
}

void Progress::print(double sim_now, long done)
{
  const auto now = std::chrono::steady_clock::now();
  const double wall = std::chrono::duration<double>(now - start_).count();
  if (wall < 3 || std::chrono::duration<double>(now - last_).count() < 0.5) return;
  last_ = now;
  const std::string line = "\r\033[K" + progress_line(label_, sim_now, done, total_, sim_end_, wall);
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
  shown_ = true;
}

void Progress::clear()
{
  if (!shown_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  shown_ = false;
}

} // namespace fs
