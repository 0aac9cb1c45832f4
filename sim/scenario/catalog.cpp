#include "catalog.hpp"
#include "efficiency_measured.hpp"
#include "step_time.hpp"
#include <filesystem>

namespace fs {

namespace {

struct Doc {
  Json json;
  std::string file;
};

Doc read_catalog_file(const std::string& dir, const std::string& name)
{
  if (dir.empty()) {
    const std::string text = embedded_file("catalog/" + name);
    try {
      return {Json::parse(text), "(embedded) scenarios/catalog/" + name};
    } catch (const Json::parse_error& e) {
      throw InputError("(embedded) scenarios/catalog/" + name + ": malformed JSON: " + e.what());
    }
  }
  const std::string path = (std::filesystem::path(dir) / name).string();
  return {read_json_file(path), path};
}

double gb(double x) { return x * 1e9; }

// A calibration path in a catalog is relative to the project root (the embedded catalogs) or to the
// catalog directory that names it.
std::string resolve_catalog_path(const std::string& path, const std::string& catalog_dir)
{
  namespace stdfs = std::filesystem;
  if (stdfs::path(path).is_absolute() || catalog_dir.empty()) return project_file(path);
  const stdfs::path rel = stdfs::path(catalog_dir) / path;
  return stdfs::exists(rel) ? rel.string() : project_file(path);
}

void parse_nic(const JsonNode& n, NicSpec& nic)
{
  nic.bandwidth = n.sourced("bandwidth_gbps", &nic.sources["bandwidth_gbps"]) * 1e9 / 8;
  nic.latency_s = n.sourced("latency_us", &nic.sources["latency_us"]) * 1e-6;
  nic.power_w = n.sourced("power_w", &nic.sources["power_w"]);
  nic.price_usd = n.sourced("price_usd", &nic.sources["price_usd"]);
}

void parse_cpu(const JsonNode& n, CpuSpec& cpu)
{
  cpu.cores = n.sourced("cores", &cpu.sources["cores"]);
  cpu.memory_bandwidth = gb(n.sourced("memory_bandwidth_gb_per_s", &cpu.sources["memory_bandwidth_gb_per_s"]));
  cpu.tdp_w = n.sourced("tdp_w", &cpu.sources["tdp_w"]);
  cpu.price_usd = n.sourced("price_usd", &cpu.sources["price_usd"]);
}

void parse_model(const JsonNode& n, LlmSpec& m)
{
  m.source = n.string("source");
  m.num_layers = int(n.positive_int("num_layers"));
  m.hidden_size = int(n.positive_int("hidden_size"));
  m.num_attention_heads = int(n.positive_int("num_attention_heads"));
  m.num_kv_heads = int(n.positive_int("num_kv_heads"));
  m.head_dim = int(n.positive_int("head_dim"));
  m.intermediate_size = int(n.positive_int("intermediate_size"));
  m.vocab_size = int(n.positive_int("vocab_size"));
  m.tie_word_embeddings = n.boolean("tie_word_embeddings", false);
  m.max_context_tokens = n.positive_int("max_context_tokens");
  if (auto moe = n.get("moe")) {
    MoeSpec s;
    s.num_experts = int(moe->positive_int("num_experts"));
    s.experts_per_token = int(moe->positive_int("experts_per_token"));
    if (s.experts_per_token > s.num_experts) moe->fail("experts_per_token", "exceeds num_experts");
    moe->done();
    m.moe = s;
  }
  if (m.num_attention_heads % m.num_kv_heads != 0) n.fail("num_kv_heads", "must divide num_attention_heads");
}

template <class T, class F>
void parse_section(const std::string& dir, const std::string& file, const std::string& section,
                   std::map<std::string, T>& out, Catalog& cat, F&& parse)
{
  Doc doc = read_catalog_file(dir, file);
  JsonNode root(doc.json, doc.file);
  JsonNode entries = root.at(section);
  entries.expect_object();
  for (const std::string& name : entries.keys()) {
    JsonNode e = entries.at(name);
    e.expect_object();
    T spec;
    spec.name = name;
    cat.descriptions[section][name] = e.string("description");
    parse(e, spec);
    e.done();
    out[name] = spec;
  }
  root.done();
}

} // namespace

void apply_chip_fields(const JsonNode& n, ChipSpec& c, bool overriding, const std::string& catalog_dir)
{
  n.renamed("hbm_capacity_gb", "memory_capacity_mib", "MiB as the device reports its total, not decimal GB");
  n.renamed("hbm_bandwidth_tb_per_s", "memory_bandwidth_tb_per_s");
  n.renamed("scaleup_latency_us", "allreduce_ring_step_latency_us",
            "all-reduce latency is now per algorithm: allreduce_ring_*, allreduce_one_shot_*, allreduce_nvls_*");
  auto num = [&](const char* key, double scale, double& into, bool required = true) {
    if (n.has(key))
      into = n.sourced(key, &c.sources[key], overriding) * scale;
    else if (!overriding && required)
      n.fail(key, "missing required key");
    else
      n.get(key); // an explicit null reads as absent
  };
  if (!overriding || n.has("kind")) c.kind = n.string("kind");
  if (!overriding || n.has("step_time_model")) {
    c.step_time_model = n.string("step_time_model");
    if (!step_time_registry().has(c.step_time_model))
      n.fail("step_time_model",
             "unknown step-time model \"" + c.step_time_model + "\"; known: " + step_time_registry().known());
  }
  if (auto peaks = n.get("peak_tflops")) {
    for (const std::string& dt : peaks->keys()) {
      Dtype d;
      if (!parse_dtype(dt, d)) peaks->fail(dt, "unknown dtype; expected bf16, fp16, fp8, int8 or fp4");
      std::string src;
      c.peak_flops[d] = peaks->sourced(dt, &src, overriding) * 1e12;
      c.sources["peak_tflops." + dt] = src;
    }
  } else if (!overriding) {
    n.fail("peak_tflops", "missing required key");
  }
  constexpr double mib = 1024.0 * 1024.0;
  num("memory_capacity_mib", mib, c.memory_capacity_bytes);
  num("memory_bandwidth_tb_per_s", 1e12, c.memory_bandwidth);
  ScaleUpSpec& su = c.scaleup;
  num("scaleup_bandwidth_gb_per_s", 1e9, su.bandwidth);
  num("allreduce_ring_bus_bandwidth_gb_per_s", 1e9, su.ring_bus_bandwidth);
  num("allreduce_ring_base_latency_us", 1e-6, su.ring_base_latency_s);
  num("allreduce_ring_step_latency_us", 1e-6, su.ring_step_latency_s);
  num("allreduce_one_shot_latency_us", 1e-6, su.one_shot_latency_s, false);
  num("allreduce_one_shot_peer_latency_us", 1e-6, su.one_shot_peer_latency_s, false);
  num("allreduce_nvls_bus_bandwidth_gb_per_s", 1e9, su.nvls_bus_bandwidth, false);
  num("allreduce_nvls_latency_us", 1e-6, su.nvls_latency_s, false);
  PowerSpec& pw = c.power;
  num("idle_power_w", 1, pw.idle_w);
  num("tdp_w", 1, pw.tdp_w);
  num("power_compute_fraction", 1, pw.compute_fraction);
  num("power_memory_fraction", 1, pw.memory_fraction);
  num("power_comm_fraction", 1, pw.comm_fraction);
  num("price_usd", 1, c.price_usd);
  if (n.has("calibration")) {
    const std::string path = n.string("calibration");
    c.calibration = path;
    c.measured = std::make_shared<const MeasuredFit>(read_fitted_json(resolve_catalog_path(path, catalog_dir)));
  } else {
    n.get("calibration");
  }
  for (auto const& [d, f] : c.peak_flops)
    if (!(f > 0)) n.fail("peak_tflops", "expected peaks > 0");
  for (auto [key, v] : {std::pair{"memory_capacity_mib", c.memory_capacity_bytes},
                        {"memory_bandwidth_tb_per_s", c.memory_bandwidth},
                        {"scaleup_bandwidth_gb_per_s", su.bandwidth},
                        {"allreduce_ring_bus_bandwidth_gb_per_s", su.ring_bus_bandwidth},
                        {"tdp_w", pw.tdp_w}})
    if (!(v > 0)) n.fail(key, "expected a value > 0");
  for (auto [key, v] : {std::pair{"allreduce_ring_base_latency_us", su.ring_base_latency_s},
                        {"allreduce_ring_step_latency_us", su.ring_step_latency_s},
                        {"allreduce_one_shot_latency_us", su.one_shot_latency_s},
                        {"allreduce_one_shot_peer_latency_us", su.one_shot_peer_latency_s},
                        {"allreduce_nvls_bus_bandwidth_gb_per_s", su.nvls_bus_bandwidth},
                        {"allreduce_nvls_latency_us", su.nvls_latency_s},
                        {"idle_power_w", pw.idle_w},
                        {"price_usd", c.price_usd}})
    if (!(v >= 0)) n.fail(key, "expected a value >= 0");
  for (auto [key, v] : {std::pair{"power_compute_fraction", pw.compute_fraction},
                        {"power_memory_fraction", pw.memory_fraction},
                        {"power_comm_fraction", pw.comm_fraction}})
    if (!(v >= 0 && v <= 1)) n.fail(key, "expected a fraction of TDP in [0, 1]");
  if (pw.idle_w > pw.tdp_w) n.fail("idle_power_w", "exceeds tdp_w");
}

Catalog load_catalog(const std::string& dir)
{
  Catalog cat;
  cat.origin = dir.empty() ? "embedded" : dir;
  parse_section(dir, "chips.json", "chips", cat.chips, cat,
                [&dir](const JsonNode& n, ChipSpec& c) { apply_chip_fields(n, c, false, dir); });
  parse_section(dir, "models.json", "models", cat.models, cat, parse_model);
  parse_section(dir, "nics.json", "nics", cat.nics, cat, parse_nic);
  parse_section(dir, "cpus.json", "cpus", cat.cpus, cat, parse_cpu);
  parse_section(dir, "servers.json", "servers", cat.servers, cat, [&cat](const JsonNode& n, ServerSpec& s) {
    auto pick = [&n](const char* key, auto& map) {
      const std::string name = n.string(key);
      auto it = map.find(name);
      if (it == map.end()) n.fail(key, "unknown name \"" + name + "\"; known: " + known_names(map));
      return it->second;
    };
    s.chip = pick("chip", cat.chips);
    s.cpu = pick("cpu", cat.cpus);
    s.nic = pick("nic", cat.nics);
    n.renamed("gpus_per_server", "chips_per_server");
    s.chips_per_server = int(n.sourced("chips_per_server", &s.sources["chips_per_server"]));
    s.cpus_per_server = int(n.sourced("cpus_per_server", &s.sources["cpus_per_server"]));
    s.nics_per_server = int(n.sourced("nics_per_server", &s.sources["nics_per_server"]));
    s.base_power_w = n.sourced("base_power_w", &s.sources["base_power_w"]);
    s.other_capex_usd = n.sourced("other_capex_usd", &s.sources["other_capex_usd"]);
    if (s.chips_per_server <= 0 || s.nics_per_server <= 0)
      n.fail_here("chips_per_server and nics_per_server must be > 0");
    if (s.base_power_w < 0 || s.other_capex_usd < 0) n.fail_here("base_power_w and other_capex_usd must be >= 0");
  });
  return cat;
}

} // namespace fs
