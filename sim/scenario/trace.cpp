// Reading Azure LLM inference traces (CSV, no quoting): TIMESTAMP,ContextTokens,GeneratedTokens.
#include "json_input.hpp"
#include "workload.hpp"
#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <sstream>

namespace fs {

namespace {

// "2023-11-16 18:17:03.9799600" -> seconds since the epoch (UTC); a plain number is taken as seconds.
bool parse_time(const std::string& s, double& out)
{
  char* end = nullptr;
  double x = std::strtod(s.c_str(), &end);
  if (end && *end == '\0' && !s.empty()) {
    out = x;
    return true;
  }
  std::tm tm{};
  int y, mo, d, h, mi;
  double sec;
  if (std::sscanf(s.c_str(), "%d-%d-%d %d:%d:%lf", &y, &mo, &d, &h, &mi, &sec) != 6) return false;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  out = double(timegm(&tm)) + sec;
  return true;
}

} // namespace

std::vector<TraceRow> read_azure_trace(const std::string& path)
{
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open trace file");
  std::string line;
  std::vector<TraceRow> rows;
  long lineno = 0;
  double t0 = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (lineno == 1 && line.find("TIMESTAMP") != std::string::npos) continue;
    std::stringstream ss(line);
    std::string ts, a, b;
    if (!std::getline(ss, ts, ',') || !std::getline(ss, a, ',') || !std::getline(ss, b, ','))
      throw InputError(path + ":" + std::to_string(lineno) + ": expected TIMESTAMP,ContextTokens,GeneratedTokens");
    TraceRow r;
    char* e1 = nullptr;
    char* e2 = nullptr;
    r.input = std::strtol(a.c_str(), &e1, 10);
    r.output = std::strtol(b.c_str(), &e2, 10);
    if (!parse_time(ts, r.t) || *e1 || *e2 || r.input < 0 || r.output < 0)
      throw InputError(path + ":" + std::to_string(lineno) + ": cannot read \"" + line + "\"");
    if (rows.empty()) t0 = r.t;
    r.t -= t0;
    if (!rows.empty() && r.t < rows.back().t)
      throw InputError(path + ":" + std::to_string(lineno) + ": timestamps go backwards");
    rows.push_back(r);
  }
  if (rows.empty()) throw InputError(path + ": trace has no requests");
  return rows;
}

} // namespace fs

namespace fs {

LognormalFit fit_lognormal(const std::vector<TraceRow>& rows, bool input_column)
{
  LognormalFit f;
  double s = 0, s2 = 0;
  for (auto const& r : rows) {
    const long v = std::max(1L, input_column ? r.input : r.output);
    const double x = std::log(double(v));
    s += x;
    s2 += x * x;
    f.max = std::max(f.max, double(v));
  }
  const double n = double(rows.size());
  f.mu = s / n;
  f.sigma = std::sqrt(std::max(0.0, s2 / n - f.mu * f.mu));
  return f;
}

} // namespace fs
