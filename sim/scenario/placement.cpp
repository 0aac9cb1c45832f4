#include "placement.hpp"
#include "scheduler.hpp"
#include "schema.hpp"
#include <algorithm>
#include <set>

namespace fs {

const char* role_name(Role r)
{
  switch (r) {
  case Role::mixed:
    return "mixed";
  case Role::prefill:
    return "prefill";
  case Role::decode:
    return "decode";
  }
  return "?";
}

const StageConfig& PlacementConfig::stage(const std::string& n) const
{
  for (auto const& s : stages)
    if (s.name == n) return s;
  throw std::out_of_range("no stage named \"" + n + "\" in placement \"" + name + "\"");
}

double sram_activation_bytes(const Scenario& s, const StageConfig& st)
{
  return 2.0 * double(st.scheduler.max_num_batched_tokens) * s.model.hidden_size * dtype_bytes(Dtype::bf16);
}

MemoryPlan stage_memory(const Scenario& s, const StageConfig& st)
{
  const ChipSpec& chip = s.pool(st.pool).server.chip;
  const double reserve = st.par.pipeline_chips > 0 ? sram_activation_bytes(s, st)
                                                   : st.scheduler.activation_reserve_gib * 1024.0 * 1024 * 1024;
  return plan_memory(s.model, chip, st.par, st.dtypes, st.scheduler.gpu_memory_utilization, reserve);
}

ChipAllocator::ChipAllocator(int servers, int per_server) : free_(servers, per_server), per_server_(per_server) {}

int ChipAllocator::take(int chips)
{
  if (chips <= per_server_) {
    for (size_t i = 0; i < free_.size(); ++i)
      if (free_[i] >= chips) {
        free_[i] -= chips;
        return int(i);
      }
    return -1;
  }
  const size_t whole = size_t((chips + per_server_ - 1) / per_server_);
  for (size_t i = 0; i + whole <= free_.size(); ++i) {
    if (std::all_of(free_.begin() + i, free_.begin() + i + whole, [&](int f) { return f == per_server_; })) {
      std::fill(free_.begin() + i, free_.begin() + i + whole, 0);
      return int(i);
    }
  }
  return -1;
}

namespace {

const ObjectSpec& ffn_spec()
{
  static const ObjectSpec o{"ffn",
                            "attention/FFN disaggregation: the MLP or experts of every layer on other chips",
                            {required(text("pool", "the pool of the FFN chips")),
                             required(integer("chips", 1, 1e5, "FFN chips per instance (experts spread over them)")),
                             integer("micro_batches", 1, 64, "ping-pong micro-batches per step (default 2)")}};
  return o;
}

std::vector<FieldSpec> group_fields()
{
  return {required(text("pool", "the pool its instances run on")),
          required(integer("instances", 1, 1e6, "replicas")),
          integer("tp", 1, 1024, "tensor-parallel chips per stage (within one server)"),
          integer("pp", 1, 1024,
                  "pipeline stages per instance (SRAM-pipeline chips: segments, default min(chips, layers))"),
          integer("ep", 1, 1024,
                  "MoE models: expert parallelism over the instance's tp chips (ep = tp; attention "
                  "data-parallel, experts whole, all-to-all dispatch/combine)"),
          num("moe_imbalance", 1, 64, "with ep: tokens of the busiest expert-parallel rank / the mean (routing skew)"),
          text("dtype", "this stage's weight dtype (default: the scenario's)", dtype_names()),
          text("kv_dtype", "this stage's KV-cache dtype (default: the scenario's); a hand-off moves the sender's bytes",
               dtype_names()),
          object("ffn", ffn_spec(), "decode stages: run the MLP/experts on another pool (attention/FFN split)"),
          integer("chips", 1, 1e6,
                  "SRAM-pipeline chips only: chips per instance (default: the fewest that hold the "
                  "weights, kv_tokens of KV cache and the activations)"),
          integer("kv_tokens", 1, 1e12,
                  "SRAM-pipeline chips only: KV-cache tokens an instance is sized for (default: "
                  "max_num_seqs x the workload's 99th-percentile request length)"),
          object("scheduler", scheduler_spec(), "overrides of the scenario's scheduler for this stage")};
}

const ObjectSpec& group_spec()
{
  static const ObjectSpec o{"stage_group", "instances of one role on one pool", group_fields()};
  return o;
}

const ObjectSpec& stage_spec()
{
  static const ObjectSpec o = [] {
    ObjectSpec st{"stage", "one stage of a \"stages\" placement", group_fields()};
    st.fields.push_back(required(text("name", "unique in the placement; instances are <name><index>")));
    st.fields.push_back(text("role", "what its instances do (default mixed)", {"mixed", "prefill", "decode"}));
    st.fields.push_back(array_of("to", FieldType::string, "prefill stages: the decode stages that take hand-offs"));
    return st;
  }();
  return o;
}

// The keys every stage (or colocated/disaggregated group) has: pool, instances, tp, pp, scheduler overrides.
StageConfig parse_stage(const JsonNode& n, std::string name, Role role, const SchedulerConfig& defaults)
{
  n.expect_object();
  StageConfig s;
  s.name = std::move(name);
  s.role = role;
  s.pool = n.string("pool");
  s.instances = int(n.positive_int("instances"));
  s.par.tp = int(n.positive_int("tp", 1));
  s.par.pp = int(n.has("pp") ? n.positive_int("pp") : 0); // 0: chosen once the pool's chip is known
  s.par.pipeline_chips = int(n.has("chips") ? n.positive_int("chips") : 0);
  s.kv_tokens = n.has("kv_tokens") ? n.positive_int("kv_tokens") : 0;
  if (n.has("dtype")) s.dtype = dtype_of(n, "dtype", "bf16");
  if (n.has("kv_dtype")) s.kv_dtype = dtype_of(n, "kv_dtype", "bf16");
  s.par.ep = int(n.positive_int("ep", 1));
  s.par.moe_imbalance = n.number("moe_imbalance", 1.0);
  if (auto f = n.get("ffn")) {
    f->expect_object();
    s.ffn.pool = f->string("pool");
    s.ffn.chips = int(f->positive_int("chips"));
    s.ffn.micro_batches = int(f->positive_int("micro_batches", 2));
    f->done();
    s.par.ffn_offloaded = true;
  }
  s.scheduler = defaults;
  if (auto sc = n.get("scheduler")) s.scheduler = parse_scheduler_config(*sc, defaults);
  return s;
}

Json stage_json(const StageConfig& s, const SchedulerConfig& defaults)
{
  Json j = {{"pool", s.pool}, {"instances", s.instances}, {"tp", s.par.tp}, {"pp", s.par.pp}};
  if (s.par.pipeline_chips > 0) j["chips"] = s.par.pipeline_chips;
  if (s.kv_tokens > 0) j["kv_tokens"] = s.kv_tokens;
  if (s.par.ep > 1) j["ep"] = s.par.ep;
  if (s.dtype) j["dtype"] = dtype_name(*s.dtype);
  if (s.kv_dtype) j["kv_dtype"] = dtype_name(*s.kv_dtype);
  if (s.par.moe_imbalance != 1) j["moe_imbalance"] = s.par.moe_imbalance;
  if (!s.ffn.pool.empty())
    j["ffn"] = {{"pool", s.ffn.pool}, {"chips", s.ffn.chips}, {"micro_batches", s.ffn.micro_batches}};
  if (!(s.scheduler == defaults)) j["scheduler"] = scheduler_config_json(s.scheduler);
  return j;
}

class Colocated : public Placement {
public:
  std::vector<StageConfig> parse(const JsonNode& n, const SchedulerConfig& d) const override
  {
    auto s = parse_stage(n, "mixed", Role::mixed, d);
    n.done();
    return {s};
  }
  Json to_json(const PlacementConfig& pc, const SchedulerConfig& d) const override
  {
    return stage_json(pc.stages.at(0), d);
  }
  const ObjectSpec& spec() const override { return group_spec(); }
};

class Disaggregated : public Placement {
public:
  std::vector<StageConfig> parse(const JsonNode& n, const SchedulerConfig& d) const override
  {
    JsonNode p = n.at("prefill"), q = n.at("decode");
    std::vector<StageConfig> ss{parse_stage(p, "prefill", Role::prefill, d), parse_stage(q, "decode", Role::decode, d)};
    ss[0].to = {"decode"};
    p.done();
    q.done();
    n.done();
    return ss;
  }
  Json to_json(const PlacementConfig& pc, const SchedulerConfig& d) const override
  {
    return {{"prefill", stage_json(pc.stage("prefill"), d)}, {"decode", stage_json(pc.stage("decode"), d)}};
  }
  const ObjectSpec& spec() const override
  {
    static const ObjectSpec o{"disaggregated",
                              "a prefill stage handing off to a decode stage",
                              {required(object("prefill", group_spec(), "the prefill instances")),
                               required(object("decode", group_spec(), "the decode instances"))}};
    return o;
  }
};

// Disaggregated with an attention/FFN split on the decode side: its "ffn" is required.
class Afd : public Disaggregated {
public:
  std::vector<StageConfig> parse(const JsonNode& n, const SchedulerConfig& d) const override
  {
    if (!n.at("decode").has("ffn"))
      n.at("decode").fail("ffn",
                          "missing required key: an afd placement runs the decode MLP/experts on an \"ffn\" pool");
    return Disaggregated::parse(n, d);
  }
};

// Any list of stages with explicit roles and hand-off edges.
class Stages : public Placement {
public:
  std::vector<StageConfig> parse(const JsonNode& n, const SchedulerConfig& d) const override
  {
    JsonNode list = n.at("stages");
    std::vector<StageConfig> ss;
    for (size_t i = 0; i < list.size(); ++i) {
      JsonNode e = list[i];
      e.expect_object();
      const std::string role = e.choice("role", {"mixed", "prefill", "decode"}, "mixed");
      const Role r = role == "prefill" ? Role::prefill : role == "decode" ? Role::decode : Role::mixed;
      StageConfig s = parse_stage(e, e.string("name"), r, d);
      if (auto to = e.get("to")) {
        for (size_t k = 0; k < to->size(); ++k) {
          if (!(*to)[k].raw().is_string()) (*to)[k].fail_here("expected a stage name");
          s.to.push_back((*to)[k].raw().get<std::string>());
        }
      }
      e.done();
      ss.push_back(std::move(s));
    }
    n.done();
    return ss;
  }
  Json to_json(const PlacementConfig& pc, const SchedulerConfig& d) const override
  {
    Json list = Json::array();
    for (const StageConfig& s : pc.stages) {
      Json j = stage_json(s, d);
      j["name"] = s.name;
      j["role"] = role_name(s.role);
      if (!s.to.empty()) j["to"] = s.to;
      list.push_back(j);
    }
    return {{"stages", list}};
  }
  const ObjectSpec& spec() const override
  {
    static const ObjectSpec o{
        "stages", "any list of stages", {required(array_of("stages", stage_spec(), "the stages, in any order"))}};
    return o;
  }
};

} // namespace

void validate_stages(const std::vector<StageConfig>& ss, const JsonNode& n)
{
  // Errors name the stage's path in the "stages" form; the colocated and disaggregated forms cannot break these.
  auto where = [&](size_t i, const std::string& key) { return "stages[" + std::to_string(i) + "]." + key; };
  if (ss.empty()) n.fail("stages", "expected at least one stage");
  std::set<std::string> names, fed;
  for (size_t i = 0; i < ss.size(); ++i) {
    const std::string& nm = ss[i].name;
    if (nm.empty() || nm.size() > 64 || !std::all_of(nm.begin(), nm.end(), [](char c) {
          return std::isalnum((unsigned char)c) || c == '_' || c == '-';
        }))
      n.fail(where(i, "name"), "expected 1-64 letters, digits, '_' or '-', got \"" + nm + "\"");
    if (!names.insert(nm).second) n.fail(where(i, "name"), "duplicate stage name \"" + nm + "\"");
  }
  bool entry = false;
  for (size_t i = 0; i < ss.size(); ++i) {
    const StageConfig& s = ss[i];
    entry = entry || s.role != Role::decode;
    if (s.role != Role::prefill && !s.to.empty())
      n.fail(where(i, "to"),
             std::string("a ") + role_name(s.role) + " stage hands nothing on; only prefill stages have \"to\"");
    if (s.role == Role::prefill && s.to.empty())
      n.fail(where(i, "to"), "a prefill stage must name the decode stage(s) that take its requests");
    for (const std::string& t : s.to) {
      auto it = std::find_if(ss.begin(), ss.end(), [&](const StageConfig& o) { return o.name == t; });
      if (it == ss.end()) n.fail(where(i, "to"), "unknown stage \"" + t + "\"");
      if (it->role != Role::decode)
        n.fail(where(i, "to"), "stage \"" + t + "\" is " + role_name(it->role) + "; hand-offs go to decode stages");
      fed.insert(t);
    }
  }
  for (size_t i = 0; i < ss.size(); ++i)
    if (ss[i].role == Role::decode && !fed.count(ss[i].name))
      n.fail(where(i, "name"), "decode stage \"" + ss[i].name + "\" is fed by no prefill stage");
  if (!entry) n.fail("stages", "no stage takes new requests (a mixed or prefill stage)");
}

const ObjectSpec& placement_spec()
{
  static const ObjectSpec o = [] {
    ObjectSpec p{"placement",
                 "how instances are laid out on the pools: a list of stages",
                 {text("name", "unique; the result folder is named after it (default: the type)"),
                  required(text("type", "the placement variant"))}};
    for (auto const& [k, e] : placement_registry().entries()) {
      p.fields[1].choices.push_back(k);
      static std::vector<std::unique_ptr<Placement>> keep; // the variants' tables live in them
      keep.push_back(e.make());
      p.variants[k] = &keep.back()->spec();
    }
    return p;
  }();
  return o;
}

const PlacementRegistry& placement_registry()
{
  static const PlacementRegistry reg = [] {
    PlacementRegistry r("placement");
    r.add("colocated", "one mixed stage: every instance runs prefill and decode (continuous batching)",
          [] { return std::make_unique<Colocated>(); });
    r.add("disaggregated",
          "a prefill stage hands each request's KV cache over the fabric to a decode stage (pools and TP per phase)",
          [] { return std::make_unique<Disaggregated>(); });
    r.add("afd",
          "disaggregated, and the decode stage's MLP/experts run on another pool (\"ffn\": attention/FFN split, "
          "hidden states over the fabric every layer, ping-pong micro-batches)",
          [] { return std::make_unique<Afd>(); });
    r.add("stages", "any list of stages (role mixed, prefill or decode; pool; tp/pp) with hand-off edges \"to\"",
          [] { return std::make_unique<Stages>(); });
    return r;
  }();
  return reg;
}

} // namespace fs
