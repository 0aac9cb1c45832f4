// Shared helpers for the factorysim CUDA calibration kit: error checks, CLI, JSON lines, timing, fills.
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#define CK(call)                                                                                                       \
  do {                                                                                                                 \
    cudaError_t err_ = (call);                                                                                         \
    if (err_ != cudaSuccess) {                                                                                         \
      fprintf(stderr, "%s:%d: CUDA error %s (%s) in %s\n", __FILE__, __LINE__, cudaGetErrorName(err_),                 \
              cudaGetErrorString(err_), #call);                                                                        \
      exit(1);                                                                                                         \
    }                                                                                                                  \
  } while (0)

#define CKBLAS(call)                                                                                                   \
  do {                                                                                                                 \
    cublasStatus_t st_ = (call);                                                                                       \
    if (st_ != CUBLAS_STATUS_SUCCESS) {                                                                                \
      fprintf(stderr, "%s:%d: cuBLAS error %d (%s) in %s\n", __FILE__, __LINE__, (int)st_, cublasGetStatusString(st_), \
              #call);                                                                                                  \
      exit(1);                                                                                                         \
    }                                                                                                                  \
  } while (0)

// Check for launch errors right after a kernel launch.
#define CK_LAUNCH() CK(cudaGetLastError())

namespace fs {

struct Args {
  std::string out;         // --out FILE (default stdout)
  bool quick = false;      // --quick: reduced grid for smoke tests
  double budget_s = 0.2;   // --budget S: stop timing a point after this much measured time (once min_reps done)
  int min_reps = 10;       // --min-reps N
  int max_reps = 50;       // --max-reps N
  double target_s = 50e-6; // --target S: minimum device time per timed repetition (launches batched to reach it)
  bool graph = true;       // --no-graph: time with plain stream launches instead of CUDA graph replays
  int device = 0;          // --device N
};

// Parses the common options; prints usage and exits on unknown ones. `extra` names bench-specific flags that are
// accepted without a value (returned in `flags`).
Args parse_args(int argc, char** argv, const char* bench, const std::vector<std::string>& extra = {},
                std::vector<std::string>* flags = nullptr);

// Opens the output (file or stdout), selects the device and writes the provenance line first.
void init(const Args& a, const char* bench);
FILE* out();
void emit(const std::string& line); // writes one JSON line and flushes

struct Timing {
  double median_s = 0, min_s = 0;
  int reps = 0, inner = 0;
  bool graph = false;
};

// Minimal JSON object builder for one line.
class JLine {
public:
  explicit JLine(const char* bench);
  JLine& str(const char* k, const std::string& v);
  JLine& num(const char* k, double v);
  JLine& i64(const char* k, long long v);
  JLine& boolean(const char* k, bool v);
  JLine& timing(const Timing& t); // time_s, time_min_s, reps, inner, timing mode
  void emit() const;
  const std::string& text() const { return s_; }

private:
  void key(const char* k);
  std::string s_;
};

struct DeviceInfo {
  int sm_count = 0;
  long long l2_bytes = 0;
  long long total_mem = 0;
  int smem_optin = 0;
};
const DeviceInfo& dev();

// Times op(stream, i): warm-up, then repetitions of `inner` back-to-back calls (inner chosen so that one repetition
// takes >= target_s, and >= min_inner), captured in a CUDA graph unless a.graph is false or capture fails. Stops at
// max_reps, or at budget_s of measured time once min_reps are done. Returned times are per single call.
using Op = std::function<void(cudaStream_t, int)>;
Timing time_op(const Op& op, cudaStream_t st, const Args& a, int min_inner = 1, bool allow_graph = true);

// Number of buffer sets to rotate through so that the sets together exceed ~4x the L2 cache (cold-cache timing).
int rotation_sets(size_t bytes_per_set, int cap = 256);

// Deterministic pseudo-random fills in [-scale, scale).
void fill_bf16(__nv_bfloat16* p, size_t n, uint64_t seed, float scale = 1.0f, cudaStream_t st = 0);
void fill_f32(float* p, size_t n, uint64_t seed, float scale = 1.0f, cudaStream_t st = 0);
void fill_fp8_e4m3(void* p, size_t n, uint64_t seed, float scale = 1.0f, cudaStream_t st = 0);
void fill_u8(uint8_t* p, size_t n, uint8_t v, cudaStream_t st = 0);

// Copies a device bf16 array to host floats.
std::vector<float> to_host_f32(const __nv_bfloat16* d, size_t n);

// ||out - ref|| / ||ref||; returns +inf if out has non-finite values.
double rel_l2_err(const std::vector<float>& out, const std::vector<double>& ref);

// Emits {"bench":"selftest","what":what,"rel_err":..,"tol":..,"ok":..}; returns ok.
bool emit_selftest(const char* what, double rel_err, double tol);

size_t mem_free_bytes();

} // namespace fs
