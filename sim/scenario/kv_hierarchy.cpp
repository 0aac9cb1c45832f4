#include "kv_hierarchy.hpp"
#include "placement.hpp"

namespace fs {

namespace {

constexpr double HOST_LINK_GB_S = 57;
constexpr const char* HOST_LINK_SRC =
    "measured H100 host-to-device copy over PCIe Gen5 x16, ~57 GB/s (nvbandwidth, NVIDIA/nvbandwidth issue #6) "
    "[S144]; Grace-coupled chips (GH200/GB200, NVLink-C2C) measure ~346 GB/s (nvbandwidth issue #23) [S145]: set "
    "host_link_gb_per_s for them";

const ObjectSpec& tier_spec(const char* name, const char* device, const char* doc, bool pool)
{
  static std::map<std::string, ObjectSpec> specs;
  auto it = specs.find(name);
  if (it != specs.end()) return it->second;
  std::vector<FieldSpec> f{required(text(device, "storage preset (catalog storage.json)")),
                           required(integer("per_server", 0, 1e4, "devices in each server"))};
  if (pool) f.insert(f.begin(), required(text("pool", "the pool whose servers hold the store")));
  return specs.emplace(name, ObjectSpec{name, doc, f}).first->second;
}

const StorageSpec& storage_of(const JsonNode& t, const char* key, const char* kind, const Catalog& cat)
{
  const std::string name = t.string(key);
  auto it = cat.storage.find(name);
  if (it == cat.storage.end()) t.fail(key, "unknown storage \"" + name + "\"; known: " + known_names(cat.storage));
  if (it->second.kind != kind)
    t.fail(key, "\"" + name + "\" is a " + it->second.kind + " device; this tier takes " + kind);
  return it->second;
}

} // namespace

const ObjectSpec& kv_cache_spec()
{
  static const ObjectSpec o{
      "kv_cache",
      "prefix caching over a KV-cache hierarchy: accelerator memory, host DRAM, local NVMe, a remote store",
      {flag("prefix_caching", "reuse prompt chunks by the workload's prefix hashes (default false)"),
       flag("offload_preempted", "a preempted sequence's KV moves to the first tier under accelerator memory (when "
                                 "it has room) and comes back, instead of being recomputed (default false)"),
       num("host_link_gb_per_s", 0, 1e5, "host memory <-> accelerator per chip, GB/s (PCIe / C2C)", true),
       object("host_dram",
              tier_spec("host_dram", "module", "DRAM modules added to every accelerator server for KV", false),
              "host DRAM tier"),
       object("nvme", tier_spec("nvme", "drive", "NVMe drives in every accelerator server for KV", false),
              "local NVMe tier"),
       object("remote", tier_spec("remote", "drive", "a KV store on a pool's servers, reached over the fabric", true),
              "remote store tier"),
       free_form("sources", "where the numbers come from (written by factorysim; ignored)")}};
  return o;
}

KvCacheConfig parse_kv_cache(const JsonNode& n, const Scenario& s, const Catalog& cat)
{
  KvCacheConfig c;
  c.prefix_caching = n.boolean("prefix_caching", false);
  c.offload_preempted = n.boolean("offload_preempted", false);
  c.host_link_gb_per_s = sourced_default(n, c.sources)("host_link_gb_per_s", HOST_LINK_GB_S, HOST_LINK_SRC);
  if (auto t = n.get("host_dram")) {
    t->expect_object();
    c.dram = storage_of(*t, "module", "dram", cat);
    c.dram_per_server = int(t->integer("per_server"));
    t->done();
  }
  if (auto t = n.get("nvme")) {
    t->expect_object();
    c.nvme = storage_of(*t, "drive", "nvme", cat);
    c.nvme_per_server = int(t->integer("per_server"));
    t->done();
  }
  if (auto t = n.get("remote")) {
    t->expect_object();
    c.remote_pool = pool_named(s, t->string("pool"), *t, "pool").name;
    c.remote = storage_of(*t, "drive", "nvme", cat);
    c.remote_per_server = int(t->integer("per_server"));
    if (c.remote_per_server == 0) t->fail("per_server", "a remote store needs drives");
    t->done();
  }
  if (c.offload_preempted && !c.dram_per_server && !c.nvme_per_server && c.remote_pool.empty())
    n.fail("offload_preempted", "needs a tier under accelerator memory (host_dram, nvme or remote)");
  if (!c.prefix_caching && (c.dram_per_server || c.nvme_per_server || !c.remote_pool.empty()))
    n.fail("prefix_caching", "the tiers hold prompt chunks found by their prefix hashes: set prefix_caching");
  n.done();
  return c;
}

Json kv_cache_json(const KvCacheConfig& c)
{
  Json j = {{"prefix_caching", c.prefix_caching},
            {"offload_preempted", c.offload_preempted},
            {"host_link_gb_per_s", c.host_link_gb_per_s},
            {"sources", c.sources}};
  if (c.dram_per_server) j["host_dram"] = {{"module", c.dram.name}, {"per_server", c.dram_per_server}};
  if (c.nvme_per_server) j["nvme"] = {{"drive", c.nvme.name}, {"per_server", c.nvme_per_server}};
  if (!c.remote_pool.empty())
    j["remote"] = {{"pool", c.remote_pool}, {"drive", c.remote.name}, {"per_server", c.remote_per_server}};
  return j;
}

void check_kv_cache(const Scenario& s, const JsonNode& root)
{
  if (!s.kv_cache.prefix_caching) return;
  const long chunk = s.prefix_block_tokens;
  if (chunk <= 0)
    root.fail("kv_cache.prefix_caching", "the workload's requests carry no prefix hashes (a Mooncake trace or "
                                         "sessions do): nothing could be reused");
  for (const PlacementConfig& pc : s.placements)
    for (const StageConfig& st : pc.stages)
      if (chunk % st.scheduler.block_size_tokens != 0)
        root.fail("kv_cache.prefix_caching", "prefix chunks of " + std::to_string(chunk) +
                                                 " tokens are not whole KV blocks of stage \"" + st.name + "\" (" +
                                                 std::to_string(st.scheduler.block_size_tokens) + " tokens)");
}

std::vector<std::tuple<std::string, const StorageSpec*, int>> kv_storage(const Scenario& s)
{
  std::vector<std::tuple<std::string, const StorageSpec*, int>> out;
  const KvCacheConfig& c = s.kv_cache;
  for (const ServerPool& p : s.pools) {
    if (!p.cpu_only() && c.dram_per_server) out.emplace_back(p.name, &c.dram, c.dram_per_server);
    if (!p.cpu_only() && c.nvme_per_server) out.emplace_back(p.name, &c.nvme, c.nvme_per_server);
    if (p.name == c.remote_pool) out.emplace_back(p.name, &c.remote, c.remote_per_server);
  }
  return out;
}

} // namespace fs
