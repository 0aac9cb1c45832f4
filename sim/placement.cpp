#include "placement.hpp"

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

namespace {

InstanceGroup parse_group(const JsonNode& n, Role role)
{
  InstanceGroup g;
  g.role = role;
  g.pool = n.string("pool");
  g.instances = int(n.positive_int("instances"));
  g.par.tp = int(n.positive_int("tp", 1));
  g.par.pp = int(n.positive_int("pp", 1));
  return g;
}

class Colocated : public Placement {
public:
  std::vector<InstanceGroup> parse(const JsonNode& n) const override
  {
    auto g = parse_group(n, Role::mixed);
    n.done();
    return {g};
  }
};

class Disaggregated : public Placement {
public:
  std::vector<InstanceGroup> parse(const JsonNode& n) const override
  {
    JsonNode p = n.at("prefill"), d = n.at("decode");
    std::vector<InstanceGroup> gs{parse_group(p, Role::prefill), parse_group(d, Role::decode)};
    p.done();
    d.done();
    n.done();
    return gs;
  }
};

} // namespace

const PlacementRegistry& placement_registry()
{
  static const PlacementRegistry reg = [] {
    PlacementRegistry r("placement");
    r.add("colocated", "every instance runs prefill and decode (continuous batching, chunked prefill)",
          [] { return std::make_unique<Colocated>(); });
    r.add("disaggregated",
          "prefill instances hand the KV cache over the fabric to decode instances (pools and TP per phase)",
          [] { return std::make_unique<Disaggregated>(); });
    return r;
  }();
  return reg;
}

} // namespace fs
