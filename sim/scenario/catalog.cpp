#include "catalog.hpp"
#include "efficiency_measured.hpp"
#include "schema.hpp"
#include "step_time.hpp"
#include <filesystem>
#include <type_traits>

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

// A catalog file: {"<section>": {name: entry, ...}}.
const ObjectSpec& catalog_file_spec(const std::string& section)
{
  static std::map<std::string, ObjectSpec> files;
  auto it = files.find(section);
  if (it == files.end())
    it = files
             .emplace(section, ObjectSpec{section + "_file",
                                          "a catalog file",
                                          {required(object(section, catalog_spec(section), "entries by name"))}})
             .first;
  return it->second;
}

// A calibration path in a catalog is relative to the project root (the embedded catalogs) or to the
// catalog directory that names it.
std::string resolve_catalog_path(const std::string& path, const std::string& catalog_dir)
{
  namespace stdfs = std::filesystem;
  if (stdfs::path(path).is_absolute() || catalog_dir.empty()) return project_file(path);
  const stdfs::path rel = stdfs::path(catalog_dir) / path;
  return stdfs::exists(rel) ? rel.string() : project_file(path);
}

// The catalog's tables (schema.hpp): every number a sourced {"value", "source"}, with plausible bounds.
const ObjectSpec& nic_spec()
{
  static const ObjectSpec o{
      "nic",
      "a NIC preset",
      {required(text("description", "one line")), required(sourced("bandwidth_gbps", 0, 1e5, "line rate, Gb/s", true)),
       required(sourced("latency_us", 0, 1e6, "one-way NIC-to-NIC latency, us")),
       required(sourced("power_w", 0, 1e4, "power, W")), required(sourced("price_usd", 0, 1e8, "price, USD"))}};
  return o;
}

const ObjectSpec& cpu_spec()
{
  static const ObjectSpec o{
      "cpu",
      "a CPU preset",
      {required(text("description", "one line")), required(sourced_count("cores", 1, 1e5, "cores")),
       required(sourced("memory_bandwidth_gb_per_s", 0, 1e6, "memory bandwidth, GB/s", true)),
       required(sourced("tdp_w", 0, 1e5, "TDP, W", true)),
       required(sourced("serving_power_fraction", 0, 1, "average draw while the server serves, fraction of TDP")),
       required(sourced("price_usd", 0, 1e8, "price, USD"))}};
  return o;
}

const ObjectSpec& switch_spec()
{
  static const ObjectSpec o{
      "switch",
      "a scale-out network switch and the optic of each of its ports in use",
      {required(text("description", "one line")),
       required(sourced_count("ports", 1, 1e5, "ports at port_bandwidth_gbps (a twin-port cage counts as two)")),
       required(sourced("port_bandwidth_gbps", 0, 1e5, "line rate of one port, Gb/s", true)),
       required(sourced("power_w", 0, 1e6, "power without optics, W")),
       required(sourced("price_usd", 0, 1e8, "price without optics, USD")),
       required(sourced("optic_power_w", 0, 1e4, "power of the optic of one port in use, W")),
       required(sourced("optic_price_usd", 0, 1e7, "price of the optic of one port in use, USD"))}};
  return o;
}

const ObjectSpec& storage_spec()
{
  static const ObjectSpec o{
      "storage_device",
      "a storage device of a KV-cache tier: a DRAM module (host_dram) or an NVMe drive (nvme, remote)",
      {required(text("description", "one line")), required(text("kind", "dram or nvme", {"dram", "nvme"})),
       required(sourced("capacity_gb", 0, 1e9, "capacity, GB")),
       required(sourced("read_gb_per_s", 0, 1e6, "read bandwidth, GB/s (0 for DRAM: the host's memory bandwidth)")),
       required(sourced("write_gb_per_s", 0, 1e6, "write bandwidth, GB/s (0 for DRAM: the host's memory bandwidth)")),
       required(sourced("power_w", 0, 1e5, "average power, W")), required(sourced("price_usd", 0, 1e8, "price, USD"))}};
  return o;
}

void parse_storage(const JsonNode& n, StorageSpec& d)
{
  d.kind = n.string("kind");
  d.capacity_bytes = n.sourced("capacity_gb", &d.sources["capacity_gb"]) * 1e9;
  d.read_bandwidth = n.sourced("read_gb_per_s", &d.sources["read_gb_per_s"]) * 1e9;
  d.write_bandwidth = n.sourced("write_gb_per_s", &d.sources["write_gb_per_s"]) * 1e9;
  d.power_w = n.sourced("power_w", &d.sources["power_w"]);
  d.price_usd = n.sourced("price_usd", &d.sources["price_usd"]);
  if (d.kind == "nvme" && d.read_bandwidth <= 0) n.fail("read_gb_per_s", "an NVMe drive needs a read bandwidth > 0");
  if (d.kind == "nvme" && d.write_bandwidth <= 0) n.fail("write_gb_per_s", "an NVMe drive needs a write bandwidth > 0");
}

const ObjectSpec& moe_spec()
{
  static const ObjectSpec o{"moe",
                            "mixture of experts",
                            {required(integer("num_experts", 1, 1e5, "experts per layer")),
                             required(integer("experts_per_token", 1, 1e5, "experts each token uses")),
                             integer("shared_experts", 0, 1e3, "always-active experts (DeepSeek), default 0")}};
  return o;
}

const ObjectSpec& mla_spec()
{
  static const ObjectSpec o{"mla",
                            "multi-head latent attention (DeepSeek-V2/V3 config.json fields)",
                            {required(integer("q_lora_rank", 1, 1e6, "query down-projection rank")),
                             required(integer("kv_lora_rank", 1, 1e6, "cached latent rank")),
                             required(integer("qk_nope_head_dim", 1, 1e5, "per-head q/k width without RoPE")),
                             required(integer("qk_rope_head_dim", 0, 1e5, "per-head RoPE width (cached)")),
                             required(integer("v_head_dim", 1, 1e5, "per-head value width"))}};
  return o;
}

const ObjectSpec& model_spec()
{
  static const ObjectSpec o{"model",
                            "an LLM architecture (Hugging Face config.json fields)",
                            {required(text("description", "one line")),
                             required(text("source", "where the numbers come from")),
                             required(integer("num_layers", 1, 1e4, "transformer layers")),
                             required(integer("hidden_size", 1, 1e6, "model width")),
                             required(integer("num_attention_heads", 1, 1e5, "query heads")),
                             required(integer("num_kv_heads", 1, 1e5, "key/value heads (GQA)")),
                             required(integer("head_dim", 1, 1e5, "per-head width")),
                             required(integer("intermediate_size", 1, 1e7, "MLP width (per expert for MoE)")),
                             required(integer("vocab_size", 1, 1e8, "vocabulary")),
                             flag("tie_word_embeddings", "LM head shares the embedding matrix"),
                             required(integer("max_context_tokens", 1, 1e9, "longest context")),
                             object("moe", moe_spec(), "mixture-of-experts layers"),
                             object("mla", mla_spec(), "multi-head latent attention")}};
  return o;
}

const ObjectSpec& server_spec()
{
  static const ObjectSpec o{
      "server",
      "a server preset: chips, CPUs and NICs by catalog name",
      {required(text("description", "one line")), text("chip", "chip preset (none: a CPU server)"),
       required(text("cpu", "CPU preset")), required(text("nic", "NIC preset")),
       required(sourced_count("chips_per_server", 0, 1024, "accelerators per server (0: a CPU server, no chip)")),
       required(sourced_count("cpus_per_server", 0, 1024, "CPU sockets (a rack-scale server counts all of its hosts)")),
       required(sourced_count("nics_per_server", 1, 1024, "NICs (one per chip on HGX-class servers)")),
       required(
           sourced("base_power_w", 0, 1e6, "power of the chassis: everything but the accelerators, NICs and CPUs, W")),
       required(sourced("other_capex_usd", 0, 1e9,
                        "price of the chassis: everything but the accelerators, NICs and CPUs, USD"))},
      {{"gpus_per_server", renamed_to("chips_per_server")}}};
  return o;
}

const ObjectSpec& peaks_spec()
{
  static const ObjectSpec o = [] {
    ObjectSpec p{"peak_tflops", "dense peak TFLOP/s per dtype", {}};
    for (const std::string& d : dtype_names())
      p.fields.push_back(sourced(d, 0, 1e6, d + " dense TFLOP/s", true));
    return p;
  }();
  return o;
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
  cpu.serving_power_fraction = n.sourced("serving_power_fraction", &cpu.sources["serving_power_fraction"]);
  cpu.price_usd = n.sourced("price_usd", &cpu.sources["price_usd"]);
}

void parse_switch(const JsonNode& n, SwitchSpec& sw)
{
  sw.ports = int(n.sourced("ports", &sw.sources["ports"]));
  sw.port_bandwidth = n.sourced("port_bandwidth_gbps", &sw.sources["port_bandwidth_gbps"]) * 1e9 / 8;
  sw.power_w = n.sourced("power_w", &sw.sources["power_w"]);
  sw.price_usd = n.sourced("price_usd", &sw.sources["price_usd"]);
  sw.optic_power_w = n.sourced("optic_power_w", &sw.sources["optic_power_w"]);
  sw.optic_price_usd = n.sourced("optic_price_usd", &sw.sources["optic_price_usd"]);
}

void parse_model(const JsonNode& n, LlmSpec& m)
{
  m.source = n.string("source");
  m.num_layers = int(n.integer("num_layers"));
  m.hidden_size = int(n.integer("hidden_size"));
  m.num_attention_heads = int(n.integer("num_attention_heads"));
  m.num_kv_heads = int(n.integer("num_kv_heads"));
  m.head_dim = int(n.integer("head_dim"));
  m.intermediate_size = int(n.integer("intermediate_size"));
  m.vocab_size = int(n.integer("vocab_size"));
  m.tie_word_embeddings = n.boolean("tie_word_embeddings", false);
  m.max_context_tokens = n.integer("max_context_tokens");
  if (auto moe = n.get("moe")) {
    moe->expect_object();
    MoeSpec s;
    s.num_experts = int(moe->integer("num_experts"));
    s.experts_per_token = int(moe->integer("experts_per_token"));
    s.shared_experts = int(moe->integer("shared_experts", 0));
    if (s.experts_per_token > s.num_experts) moe->fail("experts_per_token", "exceeds num_experts");
    moe->done();
    m.moe = s;
  }
  if (auto mla = n.get("mla")) {
    mla->expect_object();
    MlaSpec a;
    a.q_lora_rank = int(mla->integer("q_lora_rank"));
    a.kv_lora_rank = int(mla->integer("kv_lora_rank"));
    a.qk_nope_head_dim = int(mla->integer("qk_nope_head_dim"));
    a.qk_rope_head_dim = int(mla->integer("qk_rope_head_dim"));
    a.v_head_dim = int(mla->integer("v_head_dim"));
    mla->done();
    m.mla = a;
  }
  if (m.num_attention_heads % m.num_kv_heads != 0) n.fail("num_kv_heads", "must divide num_attention_heads");
}

// Reads the entries of one section object (a file's, or a scenario's inline one) into `out`.
template <class T, class F>
void parse_entries(const JsonNode& entries, const std::string& section, std::map<std::string, T>& out, Catalog& cat,
                   F&& parse)
{
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
    Json raw = e.raw();
    if constexpr (std::is_same_v<T, ChipSpec>)
      if (!spec.calibration.empty()) raw["calibration"] = spec.calibration; // absolute, for a scenario that carries it
    cat.entries[section][name] = raw;
  }
}

template <class T, class F>
void parse_section(const std::string& dir, const std::string& file, const std::string& section,
                   std::map<std::string, T>& out, Catalog& cat, F&& parse)
{
  Doc doc = read_catalog_file(dir, file);
  check_keys(doc.json, catalog_file_spec(section), doc.file);
  JsonNode root(doc.json, doc.file, "", &catalog_file_spec(section));
  root.expect_object();
  parse_entries(root.at(section), section, out, cat, parse);
  root.done();
}

} // namespace

const ObjectSpec& chip_fields_spec()
{
  static const ObjectSpec o{
      "chip",
      "a chip preset; in pools[].chip_overrides any of its numbers, plain or sourced",
      {text("description", "one line"),
       text("kind", "what sort of chip (gpu, lpu, ...): a label; step_time_model decides the timing"),
       text("step_time_model", "the step-time model variant that times it (factorysim list)"),
       object("peak_tflops", peaks_spec(), "dense peaks per dtype"),
       sourced("memory_capacity_mib", 0, 1e8, "device memory as the runtime reports it, MiB", true),
       sourced("memory_bandwidth_tb_per_s", 0, 1e4, "memory bandwidth, TB/s", true),
       sourced("scaleup_bandwidth_gb_per_s", 0, 1e6, "scale-up link bandwidth per direction per chip, GB/s", true),
       sourced("allreduce_ring_bus_bandwidth_gb_per_s", 0, 1e6, "ring all-reduce bus bandwidth, GB/s", true),
       sourced("allreduce_ring_base_latency_us", 0, 1e6, "ring all-reduce fixed latency, us"),
       sourced("allreduce_ring_step_latency_us", 0, 1e6, "per ring step, us"),
       sourced("allreduce_one_shot_latency_us", 0, 1e6, "one-shot all-reduce fixed latency, us (0: none)"),
       sourced("allreduce_one_shot_peer_latency_us", 0, 1e6, "one-shot latency per peer, us"),
       sourced("allreduce_nvls_bus_bandwidth_gb_per_s", 0, 1e6, "NVLS all-reduce bus bandwidth, GB/s (0: none)"),
       sourced("allreduce_nvls_latency_us", 0, 1e6, "NVLS all-reduce fixed latency, us"),
       sourced("pipeline_hop_latency_us", 0, 1e6,
               "one chip-to-chip pipeline hop, us (sram_pipeline chips: required; others: unused)"),
       sourced("idle_power_w", 0, 1e5, "idle power, W"),
       sourced("tdp_w", 0, 1e5, "TDP, W", true),
       sourced("power_compute_fraction", 0, 1, "share of TDP while compute-bound ops run"),
       sourced("power_memory_fraction", 0, 1, "share of TDP while memory-bound ops run"),
       sourced("power_comm_fraction", 0, 1, "share of TDP during collectives and launch gaps"),
       sourced("price_usd", 0, 1e8, "price, USD"),
       text("calibration", "path of a fitted.json (calibration/<device>/fitted.json)")},
      {{"hbm_capacity_gb", renamed_to("memory_capacity_mib", "MiB as the device reports its total, not decimal GB")},
       {"hbm_bandwidth_tb_per_s", renamed_to("memory_bandwidth_tb_per_s")},
       {"scaleup_latency_us",
        renamed_to("allreduce_ring_step_latency_us", "all-reduce latency is now per algorithm: allreduce_ring_*, "
                                                     "allreduce_one_shot_*, allreduce_nvls_*")}}};
  return o;
}

const ObjectSpec& catalog_spec(const std::string& section)
{
  static const std::map<std::string, ObjectSpec> sections = [] {
    std::map<std::string, ObjectSpec> m;
    m["chips"] = ObjectSpec::map_of("chips", "chip presets by name", chip_fields_spec());
    m["models"] = ObjectSpec::map_of("models", "model presets by name", model_spec());
    m["nics"] = ObjectSpec::map_of("nics", "NIC presets by name", nic_spec());
    m["cpus"] = ObjectSpec::map_of("cpus", "CPU presets by name", cpu_spec());
    m["servers"] = ObjectSpec::map_of("servers", "server presets by name", server_spec());
    m["switches"] = ObjectSpec::map_of("switches", "network switch presets by name", switch_spec());
    m["storage"] = ObjectSpec::map_of("storage", "KV-cache storage devices by name", storage_spec());
    return m;
  }();
  return sections.at(section);
}

const ObjectSpec& inline_catalog_spec()
{
  static const ObjectSpec o{"catalog",
                            "catalog entries carried by the scenario (resolved_scenario.json carries every one it "
                            "uses); they replace or add to the catalog files' entries of the same name",
                            {object("chips", catalog_spec("chips"), "chip presets"),
                             object("models", catalog_spec("models"), "model presets"),
                             object("nics", catalog_spec("nics"), "NIC presets"),
                             object("cpus", catalog_spec("cpus"), "CPU presets"),
                             object("servers", catalog_spec("servers"), "server presets"),
                             object("switches", catalog_spec("switches"), "network switch presets"),
                             object("storage", catalog_spec("storage"), "KV-cache storage devices")}};
  return o;
}

void apply_chip_fields(const JsonNode& n, ChipSpec& c, bool overriding, const std::string& catalog_dir)
{
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
  num("pipeline_hop_latency_us", 1e-6, su.hop_latency_s, !overriding && c.step_time_model == "sram_pipeline");
  PowerSpec& pw = c.power;
  num("idle_power_w", 1, pw.idle_w);
  num("tdp_w", 1, pw.tdp_w);
  num("power_compute_fraction", 1, pw.compute_fraction);
  num("power_memory_fraction", 1, pw.memory_fraction);
  num("power_comm_fraction", 1, pw.comm_fraction);
  num("price_usd", 1, c.price_usd);
  if (n.has("calibration")) {
    const std::string path = resolve_catalog_path(n.string("calibration"), catalog_dir);
    c.calibration = std::filesystem::absolute(path).string();
    c.measured = std::make_shared<const MeasuredFit>(read_fitted_json(path));
  } else {
    n.get("calibration");
  }
  if (pw.idle_w > pw.tdp_w) n.fail("idle_power_w", "exceeds tdp_w");
}

namespace {

void parse_server(const JsonNode& n, ServerSpec& s, const Catalog& cat)
{
  auto pick = [&n](const char* key, auto& map) {
    const std::string name = n.string(key);
    auto it = map.find(name);
    if (it == map.end()) n.fail(key, "unknown name \"" + name + "\"; known: " + known_names(map));
    return it->second;
  };
  if (n.has("chip")) s.chip = pick("chip", cat.chips);
  s.cpu = pick("cpu", cat.cpus);
  s.nic = pick("nic", cat.nics);
  s.chips_per_server = int(n.sourced("chips_per_server", &s.sources["chips_per_server"]));
  if (n.has("chip") != (s.chips_per_server > 0))
    n.fail(n.has("chip") ? "chips_per_server" : "chip",
           n.has("chip") ? "a server with a chip has at least one (chips_per_server 0 is a CPU server: no chip)"
                         : "a server with chips names their chip preset (a CPU server has chips_per_server 0)");
  s.cpus_per_server = int(n.sourced("cpus_per_server", &s.sources["cpus_per_server"]));
  if (s.chips_per_server == 0 && s.cpus_per_server == 0) n.fail("cpus_per_server", "a CPU server needs CPUs");

  s.nics_per_server = int(n.sourced("nics_per_server", &s.sources["nics_per_server"]));
  s.base_power_w = n.sourced("base_power_w", &s.sources["base_power_w"]);
  s.other_capex_usd = n.sourced("other_capex_usd", &s.sources["other_capex_usd"]);
}

// The catalog files of `dir` (the embedded ones when empty), in dependency order: servers name the others.
Catalog load_files(const std::string& dir)
{
  Catalog cat;
  cat.origin = dir.empty() ? "embedded" : dir;
  parse_section(dir, "chips.json", "chips", cat.chips, cat,
                [&dir](const JsonNode& n, ChipSpec& c) { apply_chip_fields(n, c, false, dir); });
  parse_section(dir, "models.json", "models", cat.models, cat, parse_model);
  parse_section(dir, "nics.json", "nics", cat.nics, cat, parse_nic);
  parse_section(dir, "cpus.json", "cpus", cat.cpus, cat, parse_cpu);
  parse_section(dir, "servers.json", "servers", cat.servers, cat,
                [&cat](const JsonNode& n, ServerSpec& s) { parse_server(n, s, cat); });
  // Switches came later: a catalog_dir without switches.json keeps the built-in ones.
  const bool own_switches = dir.empty() || std::filesystem::exists(std::filesystem::path(dir) / "switches.json");
  parse_section(own_switches ? dir : "", "switches.json", "switches", cat.switches, cat, parse_switch);
  const bool own_storage = dir.empty() || std::filesystem::exists(std::filesystem::path(dir) / "storage.json");
  parse_section(own_storage ? dir : "", "storage.json", "storage", cat.storage, cat, parse_storage);
  return cat;
}

} // namespace

Catalog load_catalog(const std::string& dir, const JsonNode* inline_catalog)
{
  Catalog cat;
  if (dir.empty()) {
    static const Catalog embedded = load_files(""); // parsed once per process
    cat = embedded;
  } else {
    cat = load_files(dir);
  }
  if (!inline_catalog) return cat;
  const JsonNode& in = *inline_catalog;
  auto section = [&](const char* name, auto& out, auto&& parse) {
    if (auto entries = in.get(name)) parse_entries(*entries, name, out, cat, parse);
  };
  section("chips", cat.chips, [&dir](const JsonNode& n, ChipSpec& c) { apply_chip_fields(n, c, false, dir); });
  section("models", cat.models, parse_model);
  section("nics", cat.nics, parse_nic);
  section("cpus", cat.cpus, parse_cpu);
  section("servers", cat.servers, [&cat](const JsonNode& n, ServerSpec& s) { parse_server(n, s, cat); });
  section("switches", cat.switches, parse_switch);
  section("storage", cat.storage, parse_storage);
  in.done();
  // A server names its parts: the ones it names now, after the scenario's entries replaced any of them.
  for (auto& [name, sv] : cat.servers) {
    const Json& e = cat.entries.at("servers").at(name);
    if (e.contains("chip")) sv.chip = cat.chips.at(e.at("chip").get<std::string>());
    sv.cpu = cat.cpus.at(e.at("cpu").get<std::string>());
    sv.nic = cat.nics.at(e.at("nic").get<std::string>());
  }
  return cat;
}

} // namespace fs
