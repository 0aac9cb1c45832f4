#include "trace_recorder.hpp"
#include "json_input.hpp"
#include <cstdio>

namespace fs {

namespace {
constexpr int fabric_tid = 0; // instances are threads 1..n
std::string quote(const std::string& s) { return Json(s).dump(); }
} // namespace

ChromeTrace::ChromeTrace(int pid, std::string process_name, long max_events) : pid_(pid), max_events_(max_events)
{
  const std::string p = std::to_string(pid_);
  add(R"({"name":"process_name","ph":"M","pid":)" + p + R"(,"args":{"name":)" + quote(process_name) + "}}");
  add(R"({"name":"thread_name","ph":"M","pid":)" + p + R"x(,"tid":0,"args":{"name":"fabric (KV transfers)"}})x");
}

void ChromeTrace::add(const std::string& event)
{
  if (!events_.empty()) events_ += ",\n";
  events_ += event;
}

bool ChromeTrace::room(long n)
{
  if (count_ + n <= max_events_) {
    count_ += n;
    return true;
  }
  dropped_ += n;
  return false;
}

void ChromeTrace::instance(int id, const std::string& name, const std::string& stage)
{
  if (names_.size() <= size_t(id)) {
    names_.resize(size_t(id) + 1);
    quoted_.resize(size_t(id) + 1);
  }
  names_[size_t(id)] = name;
  quoted_[size_t(id)] = quote(name);
  // Metadata is never dropped: a truncated trace still names its tracks.
  const std::string head = R"({"ph":"M","pid":)" + std::to_string(pid_) + R"(,"tid":)" + std::to_string(id + 1);
  add(head + R"(,"name":"thread_name","args":{"name":)" + quote(name + " (" + stage + ")") + "}}");
  add(head + R"(,"name":"thread_sort_index","args":{"sort_index":)" + std::to_string(id + 1) + "}}");
}

void ChromeTrace::batch(int id, double start, double end, int steps, long seqs, long prefill_tokens, long decode_tokens)
{
  if (!room()) return;
  const char* name = prefill_tokens > 0 ? (decode_tokens > 0 ? "mixed" : "prefill") : "decode";
  char buf[320];
  std::snprintf(buf, sizeof buf,
                R"({"name":"%s","cat":"batch","ph":"X","pid":%d,"tid":%d,"ts":%.3f,"dur":%.3f,"args":{"steps":%d,)"
                R"("batch_size":%ld,"prefill_tokens":%ld,"decode_tokens":%ld}})",
                name, pid_, id + 1, start * 1e6, (end - start) * 1e6, steps, seqs, prefill_tokens, decode_tokens);
  add(buf);
}

void ChromeTrace::counters(int id, double t, long waiting, long running, double kv_used)
{
  if (!room(2)) return;
  char buf[160];
  std::snprintf(buf, sizeof buf, R"(,"ph":"C","pid":%d,"ts":%.3f,"args":{)", pid_, t * 1e6);
  const std::string& n = names_.at(size_t(id));
  add(R"({"name":)" + quote("queue " + n) + buf + R"("waiting":)" + std::to_string(waiting) + R"(,"running":)" +
      std::to_string(running) + "}}");
  char kv[64];
  std::snprintf(kv, sizeof kv, R"("fraction":%.4f}})", kv_used);
  add(R"({"name":)" + quote("kv used " + n) + buf + kv);
}

void ChromeTrace::kv_transfer(long request, int from, int to, double start, double end, double bytes)
{
  if (!room(2)) return; // both halves or neither
  const std::string name = quote("kv " + names_.at(size_t(from)) + ">" + names_.at(size_t(to)));
  char buf[256];
  std::snprintf(buf, sizeof buf,
                R"(,"cat":"kv","ph":"b","id":%ld,"pid":%d,"tid":%d,"ts":%.3f,"args":{"request":%ld,)"
                R"("bytes":%.0f,"gb_per_s":%.3f}})",
                request, pid_, fabric_tid, start * 1e6, request, bytes,
                end > start ? bytes / (end - start) / 1e9 : 0.0);
  add(R"({"name":)" + name + buf);
  std::snprintf(buf, sizeof buf, R"(,"cat":"kv","ph":"e","id":%ld,"pid":%d,"tid":%d,"ts":%.3f})", request, pid_,
                fabric_tid, end * 1e6);
  add(R"({"name":)" + name + buf);
}

std::string ChromeTrace::text() const
{
  return R"({"max_events":)" + std::to_string(max_events_) + R"(,"dropped":)" + std::to_string(dropped_) +
         ",\"events\":[\n" + events_ + "\n]}\n";
}

} // namespace fs
