// Routers pick the instance of a group that gets a request, registered by JSON "type".
#pragma once
#include "registry.hpp"
#include "request.hpp"
#include <cstdint>
#include <vector>

namespace fs {

class Router {
public:
  virtual ~Router() = default;
  // `outstanding[i]`: tokens of work instance i still owes (queued prefill + remaining decode).
  virtual size_t pick(const std::vector<long>& outstanding, const Request& r) = 0;
};

using RouterRegistry = Registry<Router, uint64_t>;
const RouterRegistry& router_registry();

} // namespace fs
