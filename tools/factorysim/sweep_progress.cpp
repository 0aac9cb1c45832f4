#include "sweep_progress.hpp"
#include <cstdio>
#include <unistd.h>

namespace fs::cli {

namespace {

std::string clock_text(double s)
{
  const long t = long(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

} // namespace

SweepProgress::SweepProgress(const SweepSpec& sw, size_t total, int rank)
    : sw_(sw), total_(total), rank_(rank), tty_(::isatty(2) != 0), start_(std::chrono::steady_clock::now()),
      drawn_(start_)
{
  if (tty_ && total_ > 0) draw();
}

void SweepProgress::draw()
{
  const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::string eta = done_ == 0 ? "?" : clock_text(el / double(done_) * double(total_ - done_));
  std::fprintf(stderr, "\r\033[K%s%zu/%zu points done, %zu failed, %s elapsed, ETA %s",
               rank_ >= 0 ? ("[rank " + std::to_string(rank_) + "] ").c_str() : "", done_, total_, failed_,
               clock_text(el).c_str(), eta.c_str());
  std::fflush(stderr);
  drawn_ = std::chrono::steady_clock::now();
}

void SweepProgress::tick()
{
  if (tty_ && std::chrono::steady_clock::now() - drawn_ > std::chrono::milliseconds(250)) draw();
}

void SweepProgress::finished(const SweepPoint& p, const std::string& status, const std::string& error, double wall_s)
{
  ++done_;
  failed_ += status != "ok";
  if (tty_) {
    if (status != "ok")
      std::fprintf(stderr, "\r\033[Kpoint %zu (%s) failed: %s\n", p.index, p.id.c_str(), error.c_str());
    draw();
    return;
  }
  std::string axes;
  for (size_t a = 0; a < sw_.axes.size(); ++a)
    axes += " " + sw_.axes[a].path + "=" + sw_.axes[a].label(p.pick[a]);
  std::fprintf(stderr, "%s[%zu/%zu] point %zu %s %s %.1f s:%s%s%s\n",
               rank_ >= 0 ? ("[rank " + std::to_string(rank_) + "] ").c_str() : "", done_, total_, p.index,
               p.id.c_str(), status.c_str(), wall_s, axes.c_str(), error.empty() ? "" : " -- ", error.c_str());
}

void SweepProgress::end()
{
  if (tty_ && total_ > 0) {
    draw();
    std::fprintf(stderr, "\n");
  }
}

} // namespace fs::cli
