#include "sweep_mpi.hpp"
#include <cstdlib>
#ifdef FS_WITH_MPI
#include <mpi.h>
#endif

namespace fs::cli {

MpiWorld mpi_start()
{
  MpiWorld w;
#ifdef FS_WITH_MPI
  if (!std::getenv("OMPI_COMM_WORLD_SIZE") && !std::getenv("PMI_SIZE") && !std::getenv("PMIX_RANK")) return w;
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

void mpi_stop(MpiWorld& w)
{
#ifdef FS_WITH_MPI
  if (w.active) MPI_Finalize();
#endif
  w.active = false;
}

} // namespace fs::cli
