// `factorysim list`: catalogs and every registry, one line each.
#include "catalog.hpp"
#include "commands.hpp"
#include "durations.hpp"
#include "efficiency.hpp"
#include "placement.hpp"
#include "router.hpp"
#include "scheduler.hpp"
#include "step_time.hpp"
#include "workload.hpp"
#include <cstdio>
#include <iostream>

namespace fs::cli {

namespace {

template <class R> void print_registry(const char* title, const R& reg)
{
  std::printf("\n%s (JSON \"type\"):\n", title);
  for (auto const& [name, e] : reg.entries())
    std::printf("  %-20s %s\n", name.c_str(), e.description.c_str());
}

} // namespace

int cmd_list()
{
  const Catalog cat = load_catalog();
  std::printf("chips (scenarios/catalog/chips.json):\n");
  for (auto const& [name, c] : cat.chips)
    std::printf("  %-10s %-4s %-9s bf16 %6.0f TFLOP/s  %6.1f GiB @ %4.2f TB/s  %5.0f W  $%6.0f  %s\n", name.c_str(),
                c.kind.c_str(), c.step_time_model.c_str(), c.peak(Dtype::bf16) / 1e12,
                c.memory_capacity_bytes / (1024.0 * 1024 * 1024), c.memory_bandwidth / 1e12, c.power.tdp_w, c.price_usd,
                cat.descriptions.at("chips").at(name).c_str());
  std::printf("\nmodels (scenarios/catalog/models.json):\n");
  for (auto const& [name, m] : cat.models)
    std::printf("  %-16s %3d layers  hidden %5d  heads %3d/%-2d  %s\n", name.c_str(), m.num_layers, m.hidden_size,
                m.num_attention_heads, m.num_kv_heads, cat.descriptions.at("models").at(name).c_str());
  for (auto const& kind : {"servers", "nics", "cpus", "switches", "storage"}) {
    std::printf("\n%s (scenarios/catalog/%s.json):\n", kind, kind);
    for (auto const& [name, d] : cat.descriptions.at(kind))
      std::printf("  %-16s %s\n", name.c_str(), d.c_str());
  }
  print_registry("placements", placement_registry());
  print_registry("routers", router_registry());
  print_registry("schedulers", scheduler_registry());
  print_registry("workload generators", workload_registry());
  print_registry("length distributions", length_registry());
  print_registry("duration distributions", duration_registry());
  print_registry("step-time models", step_time_registry());
  print_registry("efficiency models", efficiency_registry());
  return 0;
}

} // namespace fs::cli
