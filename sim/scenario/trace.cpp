// Reading request traces: the format by content, and Azure LLM inference traces (CSV, no quoting):
// TIMESTAMP,ContextTokens,GeneratedTokens. Mooncake JSONL is read by trace_mooncake.cpp.
#include "trace_rows.hpp"
#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs {

namespace {

// "2023-11-16 18:17:03.9799600" -> seconds since the epoch (UTC); a plain number is taken as seconds.
bool parse_time(const std::string& s, double& out)
{
  if (s.empty()) return false;
  char* end = nullptr;
  const double x = std::strtod(s.c_str(), &end);
  if (end && *end == '\0') {
    out = x;
    return std::isfinite(x); // "inf" and "nan" are numbers to strtod, not times
  }
  std::tm tm{};
  int y, mo, d, h, mi, used = 0;
  double sec;
  if (std::sscanf(s.c_str(), "%d-%d-%d %d:%d:%lf%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 ||
      size_t(used) != s.size())
    return false;
  if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
      !(sec >= 0 && sec < 61))
    return false;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  out = double(timegm(&tm)) + sec;
  return true;
}

// A token count: digits only, at most 10,000,000.
bool parse_tokens(const std::string& s, long& out)
{
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  out = std::stol(s);
  return out <= 10'000'000;
}

} // namespace

std::string printable(const std::string& line)
{
  std::string out;
  for (char c : line.substr(0, 120))
    out += (c >= 32 && c < 127) ? c : '?';
  return line.size() > 120 ? out + "..." : out;
}

void TraceRows::add(TraceRow r, const std::string& where)
{
  if (rows_.empty()) t0_ = r.t;
  r.t -= t0_;
  if (!rows_.empty() && r.t < rows_.back().t) throw InputError(where + "timestamps go backwards");
  if (!(r.t <= 1e8)) throw InputError(where + "more than 1e8 s after the first request");
  rows_.push_back(std::move(r));
}

std::vector<TraceRow> TraceRows::finish(const std::string& name)
{
  if (rows_.empty()) throw InputError(name + ": trace has no requests");
  return std::move(rows_);
}

std::string detect_trace_format(std::istream& in)
{
  const auto start = in.tellg();
  char c = 0;
  while (in.get(c) && std::isspace(static_cast<unsigned char>(c))) {
  }
  const bool jsonl = in && c == '{';
  in.clear();
  in.seekg(start);
  return jsonl ? mooncake_jsonl : azure_csv;
}

namespace {
std::ifstream open_trace(const std::string& path)
{
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw InputError(path + ": is a directory, expected a trace file");
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
    throw InputError(path + ": not a regular file"); // a device or a pipe could stream forever
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open trace file");
  return in;
}
} // namespace

std::string detect_trace_format(const std::string& path)
{
  std::ifstream in = open_trace(path);
  return detect_trace_format(in);
}

std::vector<TraceRow> read_trace(const std::string& path, std::string format, long hash_block_tokens)
{
  std::ifstream in = open_trace(path);
  return parse_trace(in, path, std::move(format), hash_block_tokens);
}

std::vector<TraceRow> parse_trace(std::istream& in, const std::string& name, std::string format, long hash_block_tokens)
{
  if (format.empty()) format = detect_trace_format(in);
  if (format == mooncake_jsonl) return parse_mooncake_trace(in, name, hash_block_tokens);
  if (format == azure_csv) return parse_azure_trace(in, name);
  throw std::logic_error("unknown trace format " + format); // the parser checks format names
}

std::vector<TraceRow> parse_azure_trace(std::istream& in, const std::string& path)
{
  std::string line;
  TraceRows rows;
  long lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (lineno == 1 && line.find("TIMESTAMP") != std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(lineno) + ": ";
    std::vector<std::string> cols;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');)
      cols.push_back(c);
    if (line.back() == ',') cols.push_back("");
    if (cols.size() != 3)
      throw InputError(where + "expected 3 columns TIMESTAMP,ContextTokens,GeneratedTokens, got " +
                       std::to_string(cols.size()) + " in \"" + printable(line) + "\"");
    TraceRow r;
    if (!parse_time(cols[0], r.t))
      throw InputError(where + "TIMESTAMP: expected seconds or \"YYYY-MM-DD hh:mm:ss.fff\", got \"" +
                       printable(cols[0]) + "\"");
    if (!parse_tokens(cols[1], r.input))
      throw InputError(where + "ContextTokens: expected a whole number from 0 to 10000000, got \"" +
                       printable(cols[1]) + "\"");
    if (!parse_tokens(cols[2], r.output))
      throw InputError(where + "GeneratedTokens: expected a whole number from 0 to 10000000, got \"" +
                       printable(cols[2]) + "\"");
    rows.add(r, where);
  }
  return rows.finish(path);
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
