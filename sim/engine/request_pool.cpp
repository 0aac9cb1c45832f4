#include "request_pool.hpp"
#include <sys/mman.h>

namespace fs {

RequestPool::~RequestPool()
{
  for (size_t i = 0; i < made_; ++i)
    chunks_[i / per_chunk][i % per_chunk].~Request();
  for (Request* c : chunks_)
    ::operator delete (c, std::align_val_t{chunk_bytes});
}

Request* RequestPool::take()
{
  if (!free_.empty()) {
    Request* r = free_.back();
    free_.pop_back();
    *r = Request{};
    return r;
  }
  if (made_ % per_chunk == 0) {
    void* c = ::operator new (chunk_bytes, std::align_val_t{chunk_bytes});
#ifdef MADV_HUGEPAGE
    madvise(c, chunk_bytes, MADV_HUGEPAGE); // a hint: without huge pages the pool works the same
#endif
    chunks_.push_back(static_cast<Request*>(c));
  }
  Request* r = new (chunks_.back() + made_ % per_chunk) Request{};
  ++made_;
  return r;
}

void RequestPool::give(Request* r) { free_.push_back(r); }

} // namespace fs
