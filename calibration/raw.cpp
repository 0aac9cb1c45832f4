// Reading the JSON-lines files written by kernels_cuda/ (format: calibration/README.md).
#include "fit.hpp"
#include "json_input.hpp"
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <initializer_list>

namespace fs::calib {

namespace {

namespace stdfs = std::filesystem;

// The first of `names` the line has (the kit's field names have aliases); else an error naming all of them.
double number_any(const JsonNode& n, std::initializer_list<const char*> names)
{
  std::string all;
  for (const char* k : names) {
    if (n.has(k)) return n.positive(k);
    all += (all.empty() ? "" : " or ") + std::string(k);
  }
  n.fail(*names.begin(), "missing required key (" + all + ")");
}

bool has_any(const JsonNode& n, std::initializer_list<const char*> names)
{
  return std::any_of(names.begin(), names.end(), [&](const char* k) { return n.has(k); });
}

// Counts skipped lines per file and reason, reported once each.
class Skipped {
public:
  void add(const std::string& file, const std::string& why) { ++count_[{file, why}]; }
  void report(std::vector<std::string>& out) const
  {
    for (const auto& [key, n] : count_)
      out.push_back(key.first + ": " + std::to_string(n) + (n == 1 ? " line: " : " lines: ") + key.second);
  }

private:
  std::map<std::pair<std::string, std::string>, int> count_;
};

struct Reader {
  RawData& raw;
  Skipped skipped;
  std::string first_file;

  // Every file starts with one; all must describe the same device and driver. The dates span the runs.
  void provenance(const JsonNode& n, const std::string& name)
  {
    const std::string device = n.string("device");
    const std::string date = n.string("date_utc", "");
    if (raw.provenance.is_null()) {
      raw.provenance = n.raw();
      raw.provenance.erase("bench");
      raw.provenance.erase("for"); // which benchmark wrote the file: per file, not per directory
      first_file = name;
      return;
    }
    for (const char* key : {"device", "driver_version"})
      if (raw.provenance.value(key, Json()) != n.raw().value(key, Json()))
        n.fail(key, n.raw().value(key, Json()).dump() + " differs from " + raw.provenance.value(key, Json()).dump() +
                        " in " + first_file + ": one raw directory holds the runs of one device and driver");
    if (date.empty()) return;
    const std::string lo = raw.provenance.value("date_utc", date), hi = raw.provenance.value("date_utc_last", lo);
    raw.provenance["date_utc"] = std::min(date, lo);
    if (std::max(date, hi) != std::min(date, lo)) raw.provenance["date_utc_last"] = std::max(date, hi);
  }

  void membw(const JsonNode& n, const std::string& name)
  {
    const std::string op = n.string("op");
    if (n.string("l2", "cold") == "hot") {
      skipped.add(name, "membw with L2-resident buffers (\"l2\":\"hot\"): not HBM bandwidth");
      return;
    }
    if (op != "copy" && op != "triad") {
      skipped.add(name, "membw op \"" + op + "\" (only copy and triad are fitted)");
      return;
    }
    raw.mem.push_back({n.positive("bytes"), n.positive("time_s")});
  }

  void gemm(const JsonNode& n, const std::string& name)
  {
    std::string dtype = n.string("dtype");
    if (dtype.rfind("fp8", 0) == 0 || dtype.rfind("e4m3", 0) == 0) dtype = "fp8";
    if (dtype != "bf16" && dtype != "fp8") {
      skipped.add(name, "gemm dtype \"" + dtype + "\" (only bf16 and fp8 are fitted)");
      return;
    }
    GemmSample s;
    s.m = n.positive("m");
    s.n = n.positive("n");
    s.k = n.positive("k");
    s.flops = n.positive("flops", 2 * s.m * s.n * s.k);
    s.bytes = n.positive("bytes", 0.0);
    s.time_s = n.positive("time_s");
    raw.gemm[dtype].push_back(s);
  }

  void gemm_own(const JsonNode& n)
  {
    const std::string dtype = n.string("dtype", "bf16");
    const double tflops = n.has("tflops") ? n.positive("tflops") : n.positive("flops") / n.positive("time_s") * 1e-12;
    double& best = raw.gemm_own_tflops[dtype];
    best = std::max(best, tflops);
  }

  void decode_attn(const JsonNode& n)
  {
    DecodeAttnSample s;
    s.batch = number_any(n, {"batch", "seqs", "batch_size"});
    if (n.has("kv_bytes")) {
      s.kv_bytes = n.positive("kv_bytes");
    } else { // K and V of every sequence's context, one layer
      const double elem = n.positive("kv_elem_bytes", 2);
      s.kv_bytes =
          s.batch * number_any(n, {"context", "c", "ctx"}) * n.positive("kv_heads") * n.positive("head_dim") * 2 * elem;
    }
    s.time_s = n.positive("time_s");
    raw.decode.push_back(s);
  }

  void prefill_attn(const JsonNode& n)
  {
    PrefillAttnSample s;
    s.n = number_any(n, {"n", "tokens", "query_tokens"});
    if (n.has("flops")) {
      s.flops = n.positive("flops");
    } else { // causal (query, key) pairs, as models/llm.cpp counts them
      const double c = has_any(n, {"c", "context", "ctx"}) ? number_any(n, {"c", "context", "ctx"}) : 0.0;
      const double pairs = s.n * c + s.n * (s.n + 1) / 2;
      s.flops = 4 * number_any(n, {"heads", "q_heads"}) * n.positive("head_dim") * pairs;
    }
    s.time_s = n.positive("time_s");
    raw.prefill.push_back(s);
  }

  void launch(const JsonNode& n)
  {
    raw.launch_s[n.string("mode")].push_back(number_any(n, {"time_per_kernel_s", "per_kernel_s"}));
  }

  void h2d(const JsonNode& n)
  {
    std::string dir = "h2d";
    for (const char* k : {"direction", "dir", "op"})
      if (n.has(k)) {
        dir = n.string(k);
        break;
      }
    if (n.has("host_mem") && n.string("host_mem") != "pinned") dir += "_" + n.string("host_mem");
    const double gbps = n.has("gbps") ? n.positive("gbps") : n.positive("bytes") / n.positive("time_s") * 1e-9;
    double& best = raw.h2d_gb_per_s[dir];
    best = std::max(best, gbps);
  }

  // One non-empty line; `where` is "file:line".
  void line(const Json& j, const std::string& name, const std::string& where, bool& has_provenance)
  {
    const JsonNode n(j, where);
    n.expect_object();
    const std::string bench = n.string("bench");
    if (bench == "provenance") {
      provenance(n, name);
      has_provenance = true;
      return;
    }
    if (!has_provenance)
      throw InputError(where + ": \"" + bench + "\" line before any provenance line (the kit writes it first)");
    if (n.has("error")) {
      skipped.add(name, bench + " lines reporting an error");
      return;
    }
    if (j.contains("time_s") && j["time_s"].is_null()) { // the kit writes null for a non-finite time
      skipped.add(name, bench + " lines without a time (null)");
      return;
    }
    if (bench == "membw")
      membw(n, name);
    else if (bench == "gemm")
      gemm(n, name);
    else if (bench == "gemm_own")
      gemm_own(n);
    else if (bench == "decode_attn")
      decode_attn(n);
    else if (bench == "prefill_attn")
      prefill_attn(n);
    else if (bench == "elementwise")
      raw.elementwise.push_back({n.positive("bytes"), n.positive("time_s")});
    else if (bench == "launch")
      launch(n);
    else if (bench == "h2d")
      h2d(n);
    else if (bench == "selftest") {
      if (n.boolean("ok", false))
        ++raw.selftests_passed;
      else
        raw.selftests_failed.push_back(where + " " + n.string("what", "?"));
    } else
      skipped.add(name, "unknown bench \"" + bench + "\"");
  }

  void file(const stdfs::path& path)
  {
    const std::string name = path.filename().string();
    std::ifstream in(path);
    if (!in) throw InputError(path.string() + ": cannot open file");
    std::string text;
    bool has_provenance = false, any = false;
    for (long lineno = 1; std::getline(in, text); ++lineno) {
      if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
      any = true;
      const std::string where = path.string() + ":" + std::to_string(lineno);
      Json j;
      try {
        j = Json::parse(text);
      } catch (const Json::parse_error& e) {
        throw InputError(where + ": malformed JSON line: " + e.what());
      }
      line(j, name, where, has_provenance);
    }
    if (!any) raw.ignored.push_back(name + ": empty file");
    raw.files.push_back(name);
  }
};

} // namespace

RawData read_raw_dir(const std::string& raw_dir)
{
  RawData raw;
  raw.dir = raw_dir;
  std::error_code ec;
  if (!stdfs::is_directory(raw_dir, ec))
    throw InputError(raw_dir + ": not a directory (expected calibration/<device>/raw with *.jsonl files)");
  std::vector<stdfs::path> paths;
  for (const auto& e : stdfs::directory_iterator(raw_dir))
    if (e.is_regular_file() && e.path().extension() == ".jsonl") paths.push_back(e.path());
  std::sort(paths.begin(), paths.end());
  if (paths.empty()) throw InputError(raw_dir + ": no *.jsonl files (run the benchmarks of kernels_cuda/ first)");
  Reader r{raw, {}, {}};
  for (const auto& p : paths)
    r.file(p);
  r.skipped.report(raw.ignored);

  if (raw.provenance.is_null())
    throw InputError(raw_dir + ": no provenance line in any raw file: measured data must say what it ran on");
  if (!raw.provenance.contains("driver_version")) throw InputError(raw_dir + ": provenance lacks driver_version");
  if (raw.mem.empty()) throw InputError(raw_dir + ": no membw copy/triad lines (cold L2): run fs_membw");
  if (!raw.gemm.count("bf16")) throw InputError(raw_dir + ": no bf16 gemm lines: run fs_gemm");
  return raw;
}

} // namespace fs::calib
