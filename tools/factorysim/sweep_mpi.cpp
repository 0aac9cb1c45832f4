#include "sweep_mpi.hpp"
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
    const int n = int(bytes.size());
    std::vector<int> sizes(size_t(w.size)), offsets(size_t(w.size));
    MPI_Gather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
    std::string all;
    if (w.rank == 0) {
      std::exclusive_scan(sizes.begin(), sizes.end(), offsets.begin(), 0);
      all.resize(size_t(offsets.back() + sizes.back()));
    }
    MPI_Gatherv(bytes.data(), n, MPI_CHAR, all.data(), sizes.data(), offsets.data(), MPI_CHAR, 0, MPI_COMM_WORLD);
    std::vector<std::string> out;
    if (w.rank == 0)
      for (int r = 0; r < w.size; ++r)
        out.push_back(all.substr(size_t(offsets[size_t(r)]), size_t(sizes[size_t(r)])));
    return out;
  }
#endif
  return {bytes};
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
