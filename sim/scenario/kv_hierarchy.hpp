// The scenario's "kv_cache" section: prefix caching and the tiers under accelerator memory (docs/model.md,
// "KV-cache hierarchy").
#pragma once
#include "catalog.hpp"
#include "scenario.hpp"
#include "schema.hpp"

namespace fs {

const ObjectSpec& kv_cache_spec();
KvCacheConfig parse_kv_cache(const JsonNode& n, const Scenario& s, const Catalog& cat);
Json kv_cache_json(const KvCacheConfig& c);
// Once the workload is generated: its requests carry prefix hashes, and their chunks are whole KV blocks of every
// stage that caches them.
void check_kv_cache(const Scenario& s, const JsonNode& root);
// Storage devices of each pool's servers (pool name -> device, count per server): the host DRAM modules and NVMe
// drives of every accelerator server, the remote store's drives.
std::vector<std::tuple<std::string, const StorageSpec*, int>> kv_storage(const Scenario& s);

} // namespace fs
