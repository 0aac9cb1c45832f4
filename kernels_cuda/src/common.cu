// Shared helpers for the factorysim CUDA calibration kit.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>

#include <cuda_fp8.h>

#include "common.h"

namespace fs {

static FILE* g_out = nullptr;
static DeviceInfo g_dev;

static void usage(const char* bench, const std::vector<std::string>& extra) {
  fprintf(stderr,
          "usage: fs_%s [--out FILE] [--quick] [--budget S] [--min-reps N] [--max-reps N] [--target S] [--no-graph]"
          " [--device N]",
          bench);
  for (const auto& e : extra)
    fprintf(stderr, " [%s]", e.c_str());
  fprintf(stderr, "\n");
}

Args parse_args(int argc, char** argv, const char* bench, const std::vector<std::string>& extra,
                std::vector<std::string>* flags) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> const char* {
      if (i + 1 >= argc) {
        fprintf(stderr, "missing value for %s\n", k.c_str());
        exit(2);
      }
      return argv[++i];
    };
    if (k == "--out")
      a.out = val();
    else if (k == "--quick")
      a.quick = true;
    else if (k == "--no-graph")
      a.graph = false;
    else if (k == "--budget")
      a.budget_s = atof(val());
    else if (k == "--min-reps")
      a.min_reps = atoi(val());
    else if (k == "--max-reps")
      a.max_reps = atoi(val());
    else if (k == "--target")
      a.target_s = atof(val());
    else if (k == "--device")
      a.device = atoi(val());
    else if (k == "-h" || k == "--help") {
      usage(bench, extra);
      exit(0);
    } else if (std::find(extra.begin(), extra.end(), k) != extra.end()) {
      if (flags) flags->push_back(k);
    } else {
      fprintf(stderr, "unknown option %s\n", k.c_str());
      usage(bench, extra);
      exit(2);
    }
  }
  a.min_reps = std::max(1, a.min_reps);
  a.max_reps = std::max(a.min_reps, a.max_reps);
  return a;
}

FILE* out() { return g_out ? g_out : stdout; }

void emit(const std::string& line) {
  fprintf(out(), "%s\n", line.c_str());
  fflush(out());
}

const DeviceInfo& dev() { return g_dev; }

void init(const Args& a, const char* bench) {
  if (!a.out.empty()) {
    g_out = fopen(a.out.c_str(), "w");
    if (!g_out) {
      fprintf(stderr, "cannot open %s: %s\n", a.out.c_str(), strerror(errno));
      exit(1);
    }
  }
  CK(cudaSetDevice(a.device));
  cudaDeviceProp p;
  CK(cudaGetDeviceProperties(&p, a.device));
  int v = 0, drv = 0, rt = 0, mclk = 0, sclk = 0, bus = 0;
  CK(cudaDriverGetVersion(&drv));
  CK(cudaRuntimeGetVersion(&rt));
  CK(cudaDeviceGetAttribute(&mclk, cudaDevAttrMemoryClockRate, a.device));
  CK(cudaDeviceGetAttribute(&sclk, cudaDevAttrClockRate, a.device));
  CK(cudaDeviceGetAttribute(&bus, cudaDevAttrGlobalMemoryBusWidth, a.device));
  CK(cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerBlockOptin, a.device));
  g_dev.sm_count = p.multiProcessorCount;
  g_dev.l2_bytes = p.l2CacheSize;
  g_dev.total_mem = (long long)p.totalGlobalMem;
  g_dev.smem_optin = v;
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) strcpy(host, "unknown");
  char date[64];
  time_t now = time(nullptr);
  struct tm tmv;
  gmtime_r(&now, &tmv);
  strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tmv);
  const char* git = getenv("FS_GIT_COMMIT");
  char cc[16];
  snprintf(cc, sizeof(cc), "%d.%d", p.major, p.minor);
  JLine("provenance")
      .str("for", bench)
      .str("device", p.name)
      .i64("sm_count", p.multiProcessorCount)
      .str("cc", cc)
      .i64("driver_version", drv)
      .i64("runtime_version", rt)
      .i64("cublaslt_version", (long long)cublasLtGetVersion())
      .i64("mem_clock_khz", mclk)
      .i64("sm_clock_khz", sclk)
      .i64("mem_bus_width_bits", bus)
      .i64("l2_bytes", p.l2CacheSize)
      .i64("total_mem_bytes", (long long)p.totalGlobalMem)
      .i64("smem_per_block_optin", v)
      .str("hostname", host)
      .str("date_utc", date)
      .str("git_commit", git && *git ? git : "unknown")
      .boolean("graph_timing", a.graph)
      .boolean("quick", a.quick)
      .emit();
  if (p.major != 9) fprintf(stderr, "warning: device cc %s is not Hopper (9.x); this kit is tuned for sm_90\n", cc);
}

// ---------------------------------------------------------------- JSON
JLine::JLine(const char* bench) { s_ = std::string("{\"bench\":\"") + bench + "\""; }

void JLine::key(const char* k) {
  s_ += ",\"";
  s_ += k;
  s_ += "\":";
}

JLine& JLine::str(const char* k, const std::string& v) {
  key(k);
  s_ += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') {
      s_ += '\\';
      s_ += c;
    } else if ((unsigned char)c < 0x20) {
      char b[8];
      snprintf(b, sizeof(b), "\\u%04x", (unsigned)(unsigned char)c);
      s_ += b;
    } else {
      s_ += c;
    }
  }
  s_ += '"';
  return *this;
}

JLine& JLine::num(const char* k, double v) {
  key(k);
  if (!std::isfinite(v)) {
    s_ += "null";
  } else {
    char b[64];
    snprintf(b, sizeof(b), "%.9g", v);
    s_ += b;
  }
  return *this;
}

JLine& JLine::i64(const char* k, long long v) {
  key(k);
  s_ += std::to_string(v);
  return *this;
}

JLine& JLine::boolean(const char* k, bool v) {
  key(k);
  s_ += v ? "true" : "false";
  return *this;
}

JLine& JLine::timing(const Timing& t) {
  return num("time_s", t.median_s)
      .num("time_min_s", t.min_s)
      .i64("reps", t.reps)
      .i64("inner", t.inner)
      .str("timing", t.graph ? "graph" : "stream");
}

void JLine::emit() const { fs::emit(s_ + "}"); }

// ---------------------------------------------------------------- timing
static bool build_graph(const Op& op, cudaStream_t st, int inner, cudaGraphExec_t* exec) {
  cudaGraph_t g = nullptr;
  if (cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  for (int k = 0; k < inner; ++k)
    op(st, k);
  cudaError_t e = cudaStreamEndCapture(st, &g);
  if (e != cudaSuccess || g == nullptr) {
    (void)cudaGetLastError();
    if (g) cudaGraphDestroy(g);
    return false;
  }
  e = cudaGraphInstantiate(exec, g, 0);
  CK(cudaGraphDestroy(g));
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return true;
}

Timing time_op(const Op& op, cudaStream_t st, const Args& a, int min_inner, bool allow_graph) {
  const int kMaxInner = 4096;
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  auto run_stream = [&](int n) -> double { // seconds for n calls
    CK(cudaEventRecord(e0, st));
    for (int k = 0; k < n; ++k)
      op(st, k);
    CK(cudaEventRecord(e1, st));
    CK(cudaEventSynchronize(e1));
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, e0, e1));
    return ms * 1e-3;
  };
  CK(cudaDeviceSynchronize()); // setup work on the legacy default stream does not order with non-blocking streams
  // Warm-up (module load, heuristics, clocks), then a pilot to size one repetition.
  for (int k = 0; k < 3; ++k)
    op(st, k);
  CK(cudaStreamSynchronize(st));
  double t1 = run_stream(1);
  if (t1 < a.target_s) t1 = run_stream(8) / 8;
  int inner = (int)std::ceil(a.target_s / std::max(t1, 1e-9));
  inner = std::min(kMaxInner, std::max(std::max(1, min_inner), inner));

  Timing t;
  cudaGraphExec_t exec = nullptr;
  t.graph = allow_graph && a.graph && build_graph(op, st, inner, &exec);
  auto run_rep = [&]() -> double { // seconds for one repetition of `inner` calls
    if (!t.graph) return run_stream(inner);
    CK(cudaEventRecord(e0, st));
    CK(cudaGraphLaunch(exec, st));
    CK(cudaEventRecord(e1, st));
    CK(cudaEventSynchronize(e1));
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, e0, e1));
    return ms * 1e-3;
  };
  if (t.graph) {
    run_rep(); // upload + warm
    double r = run_rep();
    if (r < 0.7 * a.target_s && inner < kMaxInner) { // graph replays are denser than stream launches: grow
      int n2 = std::min(kMaxInner, (int)std::ceil(inner * a.target_s / std::max(r, 1e-9) * 1.1));
      cudaGraphExec_t exec2 = nullptr;
      if (n2 > inner && build_graph(op, st, n2, &exec2)) {
        CK(cudaGraphExecDestroy(exec));
        exec = exec2;
        inner = n2;
        run_rep();
      }
    }
  }
  std::vector<double> ts;
  double total = 0;
  while ((int)ts.size() < a.max_reps) {
    if ((int)ts.size() >= a.min_reps && total >= a.budget_s) break;
    double r = run_rep();
    total += r;
    ts.push_back(r / inner);
  }
  CK(cudaGetLastError());
  if (exec) CK(cudaGraphExecDestroy(exec));
  CK(cudaEventDestroy(e0));
  CK(cudaEventDestroy(e1));
  std::sort(ts.begin(), ts.end());
  size_t n = ts.size();
  t.median_s = n % 2 ? ts[n / 2] : 0.5 * (ts[n / 2 - 1] + ts[n / 2]);
  t.min_s = ts[0];
  t.reps = (int)n;
  t.inner = inner;
  return t;
}

int rotation_sets(size_t bytes_per_set, int cap) {
  double want = 4.0 * (double)std::max<long long>(g_dev.l2_bytes, 1 << 20);
  long long s = (long long)std::ceil(want / (double)std::max<size_t>(bytes_per_set, 1));
  return (int)std::max<long long>(1, std::min<long long>(cap, s));
}

// ---------------------------------------------------------------- fills
__device__ __forceinline__ float hash_unit(uint64_t i, uint64_t seed) { // uniform in [-1, 1)
  uint64_t z = i * 0x9E3779B97F4A7C15ull + seed * 0xD1B54A32D192ED03ull + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (float)(z >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

__global__ void k_fill_bf16(__nv_bfloat16* p, size_t n, uint64_t seed, float scale) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    p[i] = __float2bfloat16(scale * hash_unit(i, seed));
}

__global__ void k_fill_f32(float* p, size_t n, uint64_t seed, float scale) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    p[i] = scale * hash_unit(i, seed);
}

__global__ void k_fill_fp8(__nv_fp8_e4m3* p, size_t n, uint64_t seed, float scale) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    p[i] = __nv_fp8_e4m3(scale * hash_unit(i, seed));
}

static unsigned fill_grid(size_t n) { return (unsigned)std::min<size_t>((n + 255) / 256, 65536); }

void fill_bf16(__nv_bfloat16* p, size_t n, uint64_t seed, float scale, cudaStream_t st) {
  if (n == 0) return;
  k_fill_bf16<<<fill_grid(n), 256, 0, st>>>(p, n, seed, scale);
  CK_LAUNCH();
}

void fill_f32(float* p, size_t n, uint64_t seed, float scale, cudaStream_t st) {
  if (n == 0) return;
  k_fill_f32<<<fill_grid(n), 256, 0, st>>>(p, n, seed, scale);
  CK_LAUNCH();
}

void fill_fp8_e4m3(void* p, size_t n, uint64_t seed, float scale, cudaStream_t st) {
  if (n == 0) return;
  k_fill_fp8<<<fill_grid(n), 256, 0, st>>>((__nv_fp8_e4m3*)p, n, seed, scale);
  CK_LAUNCH();
}

void fill_u8(uint8_t* p, size_t n, uint8_t v, cudaStream_t st) { CK(cudaMemsetAsync(p, v, n, st)); }

std::vector<float> to_host_f32(const __nv_bfloat16* d, size_t n) {
  std::vector<__nv_bfloat16> h(n);
  CK(cudaDeviceSynchronize());
  CK(cudaMemcpy(h.data(), d, n * sizeof(__nv_bfloat16), cudaMemcpyDeviceToHost));
  std::vector<float> f(n);
  for (size_t i = 0; i < n; ++i)
    f[i] = __bfloat162float(h[i]);
  return f;
}

double rel_l2_err(const std::vector<float>& o, const std::vector<double>& r) {
  if (o.size() != r.size()) return INFINITY;
  double num = 0, den = 0;
  for (size_t i = 0; i < o.size(); ++i) {
    if (!std::isfinite(o[i])) return INFINITY;
    num += (o[i] - r[i]) * (o[i] - r[i]);
    den += r[i] * r[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

bool emit_selftest(const char* what, double err, double tol) {
  bool ok = std::isfinite(err) && err <= tol;
  JLine("selftest").str("what", what).num("rel_err", err).num("tol", tol).boolean("ok", ok).emit();
  if (!ok) fprintf(stderr, "SELFTEST FAILED: %s rel_err=%g tol=%g\n", what, err, tol);
  return ok;
}

size_t mem_free_bytes() {
  size_t f = 0, t = 0;
  CK(cudaMemGetInfo(&f, &t));
  return f;
}

} // namespace fs
