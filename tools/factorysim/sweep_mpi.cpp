#include "sweep_mpi.hpp"
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#ifdef FS_WITH_MPI
#include <mpi.h>
#endif

namespace fs::cli {

MpiWorld mpi_start()
{
  MpiWorld w;
#ifdef FS_WITH_MPI
  if (!mpi_launched()) return w;
  MPI_Init(nullptr, nullptr);
  MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &w.size);
  w.active = true;
#endif
  return w;
}

void mpi_barrier([[maybe_unused]] const MpiWorld& w)
{
#ifdef FS_WITH_MPI
  if (w.active) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

int mpi_max([[maybe_unused]] const MpiWorld& w, int v)
{
#ifdef FS_WITH_MPI
  if (w.active) {
    int out = v;
    MPI_Allreduce(&v, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return out;
  }
#endif
  return v;
}

bool mpi_launched()
{
#ifdef FS_WITH_MPI
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
#else
  return false;
#endif
}

void mpi_sum([[maybe_unused]] const MpiWorld& w, [[maybe_unused]] std::vector<double>& v)
{
#ifdef FS_WITH_MPI
  if (w.active) MPI_Allreduce(MPI_IN_PLACE, v.data(), int(v.size()), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
#endif
}

bool mpi_all([[maybe_unused]] const MpiWorld& w, bool v)
{
#ifdef FS_WITH_MPI
  if (w.active) {
    int in = v ? 1 : 0, out = in;
    MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return out == 1;
  }
#endif
  return v;
}

std::vector<std::string> mpi_gather([[maybe_unused]] const MpiWorld& w, const std::string& bytes)
{
#ifdef FS_WITH_MPI
  if (w.active) {
    // Point to point, in pieces under MPI's int counts: a rank's part can pass 2 GB (exact percentiles of a long run).
    constexpr size_t piece = size_t(1) << 30;
    std::vector<std::string> out;
    if (w.rank != 0) {
      const uint64_t n = bytes.size();
      MPI_Send(&n, 1, MPI_UINT64_T, 0, 0, MPI_COMM_WORLD);
      for (size_t at = 0; at < bytes.size(); at += piece)
        MPI_Send(bytes.data() + at, int(std::min(piece, bytes.size() - at)), MPI_CHAR, 0, 1, MPI_COMM_WORLD);
      return out;
    }
    out.push_back(bytes);
    for (int r = 1; r < w.size; ++r) {
      uint64_t n = 0;
      MPI_Recv(&n, 1, MPI_UINT64_T, r, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      std::string part(size_t(n), '\0');
      for (size_t at = 0; at < part.size(); at += piece)
        MPI_Recv(part.data() + at, int(std::min(piece, part.size() - at)), MPI_CHAR, r, 1, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
      out.push_back(std::move(part));
    }
    return out;
  }
#endif
  return {bytes};
}

int mpi_launched_size()
{
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS"})
    if (const char* s = std::getenv(v)) return std::max(1, std::atoi(s));
  return 1;
}

void mpi_abort([[maybe_unused]] const MpiWorld& w, int code)
{
#ifdef FS_WITH_MPI
  if (w.active) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::exit(code);
}

void mpi_stop(MpiWorld& w)
{
#ifdef FS_WITH_MPI
  if (w.active) MPI_Finalize();
#endif
  w.active = false;
}

} // namespace fs::cli
