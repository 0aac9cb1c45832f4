#include "sweep_spec.hpp"
#include "scenario.hpp"
#include "sweep_expr.hpp"
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

namespace fs {

namespace {

constexpr size_t kMaxPoints = 100000;

// A range's value, rounded to 3 significant digits (a log range from 1 to 64 reads 1, 1.81, 3.29, ...), or to a
// whole number with "integer": true; whole numbers become JSON integers.
Json range_value(double x, bool integer)
{
  if (integer)
    x = std::round(x);
  else if (x != 0) {
    const double scale = std::pow(10.0, 2 - std::floor(std::log10(std::fabs(x))));
    x = std::round(x * scale) / scale;
  }
  if (std::fabs(x) < 9e15 && x == std::floor(x)) return Json(static_cast<long long>(x));
  return Json(x);
}

SweepAxis parse_axis(const JsonNode& n)
{
  n.expect_object();
  SweepAxis a;
  a.path = n.string("path");
  try {
    (void)set_path_elements(a.path, "path");
  } catch (const InputError& e) {
    n.fail("path", e.what());
  }
  if (n.has("values") == n.has("range")) n.fail_here("expected exactly one of \"values\" (a list) or \"range\"");
  if (n.has("values")) {
    const JsonNode v = n.at("values");
    v.expect_array();
    if (v.size() == 0) n.fail("values", "expected at least one value");
    for (size_t i = 0; i < v.size(); ++i)
      a.values.push_back(v[i].raw());
  } else {
    const JsonNode r = n.at("range");
    r.expect_object();
    const double from = r.number("from"), to = r.number("to");
    const std::string scale = r.choice("scale", {"linear", "log"}, "linear");
    const long points = r.positive_int("points");
    const bool integer = r.boolean("integer", false);
    r.done();
    if (points > 10000) r.fail("points", "at most 10000");
    if (scale == "log" && !(from > 0 && to > 0)) r.fail_here("a log range needs \"from\" and \"to\" above 0");
    if (points == 1 && from != to) r.fail("points", "a range from one value to another needs at least 2 points");
    for (long i = 0; i < points; ++i) {
      const double t = points == 1 ? 0.0 : double(i) / double(points - 1);
      const double x = scale == "log" ? from * std::pow(to / from, t) : from + (to - from) * t;
      const Json v = range_value(x, integer);
      if (std::find(a.values.begin(), a.values.end(), v) == a.values.end()) a.values.push_back(v);
    }
  }
  if (auto l = n.get("labels")) {
    l->expect_array();
    if (l->size() != a.values.size())
      n.fail("labels", "expected one label per value (" + std::to_string(a.values.size()) + "), got " +
                           std::to_string(l->size()));
    std::set<std::string> seen;
    for (size_t i = 0; i < l->size(); ++i) {
      if (!(*l)[i].raw().is_string()) (*l)[i].fail_here("expected a string");
      a.labels.push_back((*l)[i].raw().get<std::string>());
      if (!seen.insert(a.labels.back()).second) (*l)[i].fail_here("duplicate label \"" + a.labels.back() + "\"");
    }
  }
  n.done();
  return a;
}

void parse_zip(SweepSpec& sw, const JsonNode& root)
{
  std::vector<int> group_of(sw.axes.size(), -1);
  std::vector<std::vector<size_t>> groups;
  if (auto z = root.get("zip")) {
    z->expect_array();
    for (size_t g = 0; g < z->size(); ++g) {
      const JsonNode grp = (*z)[g];
      grp.expect_array();
      if (grp.size() < 2) grp.fail_here("a zip group names at least 2 axis paths");
      std::vector<size_t> members;
      for (size_t k = 0; k < grp.size(); ++k) {
        const JsonNode e = grp[k];
        if (!e.raw().is_string()) e.fail_here("expected an axis path (a string)");
        const std::string p = e.raw().get<std::string>();
        auto it = std::find_if(sw.axes.begin(), sw.axes.end(), [&](const SweepAxis& a) { return a.path == p; });
        if (it == sw.axes.end()) e.fail_here("\"" + p + "\" is not the path of an axis");
        const size_t ax = size_t(it - sw.axes.begin());
        if (group_of[ax] >= 0) e.fail_here("axis \"" + p + "\" is already in a zip group");
        if (sw.axes[ax].values.size() != sw.axes[members.empty() ? ax : members[0]].values.size())
          e.fail_here("axis \"" + p + "\" has " + std::to_string(sw.axes[ax].values.size()) + " values, axis \"" +
                      sw.axes[members[0]].path + "\" " + std::to_string(sw.axes[members[0]].values.size()) +
                      ": zipped axes need as many values each");
        group_of[ax] = int(groups.size());
        members.push_back(ax);
      }
      groups.push_back(members);
    }
  }
  std::set<int> emitted;
  for (size_t a = 0; a < sw.axes.size(); ++a) {
    if (group_of[a] < 0)
      sw.dims.push_back({a});
    else if (emitted.insert(group_of[a]).second)
      sw.dims.push_back(groups[size_t(group_of[a])]);
  }
}

void parse_filters(SweepSpec& sw, const JsonNode& root)
{
  auto f = root.get("filters");
  if (!f) return;
  f->expect_object();
  if (f->has("max_chips")) sw.max_chips = double(f->positive_int("max_chips"));
  if (f->has("max_it_power_kw")) sw.max_it_power_kw = f->positive("max_it_power_kw");
  if (auto w = f->get("where")) {
    w->expect_array();
    for (size_t i = 0; i < w->size(); ++i) {
      if (!(*w)[i].raw().is_string()) (*w)[i].fail_here("expected an expression (a string)");
      sw.where.push_back((*w)[i].raw().get<std::string>());
      // Syntax errors surface now, on the base document (a path the base lacks is checked per point).
      try {
        (void)eval_where(sw.where.back(), sw.base, "");
      } catch (const InputError& e) {
        const std::string msg = e.what();
        if (msg.find("the scenario has no value at") == std::string::npos) (*w)[i].fail_here(msg.substr(2));
      }
    }
  }
  f->done();
}

// Chips a placement uses, and their power at TDP.
void size_point(SweepPoint& p, const Scenario& s, const std::vector<std::string>& chosen)
{
  for (const PlacementConfig& pc : s.placements) {
    if (!chosen.empty() && std::find(chosen.begin(), chosen.end(), pc.name) == chosen.end()) continue;
    long chips = 0;
    double watts = 0;
    for (const StageConfig& st : pc.stages) {
      const long per = st.par.pipeline_chips > 0 ? st.par.pipeline_chips : long(st.par.tp) * st.par.pp;
      chips += per * st.instances;
      watts += double(per * st.instances) * s.pool(st.pool).server.chip.power.tdp_w;
      if (!st.ffn.pool.empty()) {
        chips += long(st.ffn.chips) * st.instances;
        watts += double(st.ffn.chips) * st.instances * s.pool(st.ffn.pool).server.chip.power.tdp_w;
      }
    }
    p.chips = std::max(p.chips, chips);
    p.it_power_kw = std::max(p.it_power_kw, watts / 1000);
  }
}

} // namespace

std::string set_assignment(const std::string& path, const Json& value) { return path + "=" + value.dump(); }

std::string short_hash(const std::string& text)
{
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf).substr(0, 12);
}

SweepSpec parse_sweep(const Json& doc, const std::string& file, const std::vector<std::string>& cli_sets)
{
  SweepSpec sw;
  sw.file = file;
  sw.definition = doc;
  const JsonNode root(doc, file);
  root.expect_object();
  sw.name = root.string("name", std::filesystem::path(file).stem().string());
  sw.description = root.string("description", "");
  const JsonNode base = root.at("base");
  if (base.raw().is_string()) {
    const std::filesystem::path p = base.raw().get<std::string>();
    sw.base_file = (p.is_absolute() ? p : std::filesystem::path(file).parent_path() / p).lexically_normal().string();
    try {
      sw.base = read_json_file(sw.base_file);
    } catch (const InputError& e) {
      root.fail("base", e.what());
    }
  } else if (base.raw().is_object()) {
    sw.base = base.raw();
  } else {
    root.fail("base", "expected a scenario path (relative to the sweep file) or an inline scenario object, got " +
                          json_type_name(base.raw()));
  }
  if (auto s = root.get("set")) {
    s->expect_object();
    for (auto it = s->raw().begin(); it != s->raw().end(); ++it) {
      sw.sets.push_back(set_assignment(it.key(), it.value()));
      try {
        apply_set(sw.base, sw.sets.back());
      } catch (const InputError& e) {
        s->fail(it.key(), e.what());
      }
    }
    s->keys();
  }
  for (const std::string& a : cli_sets) {
    apply_set(sw.base, a); // its error names the --set
    sw.sets.push_back(a);
  }
  if (auto p = root.get("placements")) {
    p->expect_array();
    for (size_t i = 0; i < p->size(); ++i) {
      if (!(*p)[i].raw().is_string()) (*p)[i].fail_here("expected a placement name");
      sw.placements.push_back((*p)[i].raw().get<std::string>());
    }
  }
  const JsonNode axes = root.at("axes");
  axes.expect_array();
  if (axes.size() == 0) root.fail("axes", "expected at least one axis");
  for (size_t i = 0; i < axes.size(); ++i) {
    sw.axes.push_back(parse_axis(axes[i]));
    for (size_t j = 0; j + 1 < sw.axes.size(); ++j)
      if (sw.axes[j].path == sw.axes.back().path) axes[i].fail("path", "axis \"" + sw.axes[j].path + "\" repeats");
  }
  parse_zip(sw, root);
  parse_filters(sw, root);
  root.done();
  return sw;
}

SweepSpec load_sweep(const std::string& file, const std::vector<std::string>& cli_sets)
{
  return parse_sweep(read_json_file(file), file, cli_sets);
}

SweepExpansion expand_sweep(const SweepSpec& sw)
{
  SweepExpansion out;
  out.product = 1;
  for (const auto& d : sw.dims) {
    out.product *= sw.axes[d[0]].values.size();
    if (out.product > kMaxPoints)
      throw InputError(sw.file + ": axes: more than " + std::to_string(kMaxPoints) + " points");
  }
  const std::string scenario_file = sw.base_file.empty() ? sw.file : sw.base_file;
  std::string chosen;
  for (const std::string& p : sw.placements)
    chosen += p + ",";
  std::map<std::string, size_t> ids;
  std::vector<size_t> digit(sw.dims.size(), 0);
  std::string first_error;
  for (size_t index = 0; index < out.product; ++index) {
    SweepPoint p;
    p.index = index;
    p.pick.assign(sw.axes.size(), 0);
    for (size_t d = 0; d < sw.dims.size(); ++d)
      for (size_t a : sw.dims[d])
        p.pick[a] = digit[d];
    p.doc = sw.base;
    p.sets = sw.sets;
    for (size_t a = 0; a < sw.axes.size(); ++a) {
      p.sets.push_back(set_assignment(sw.axes[a].path, sw.axes[a].values[p.pick[a]]));
      try {
        apply_set(p.doc, p.sets.back());
      } catch (const InputError& e) {
        throw InputError(sw.file + ": axes[" + std::to_string(a) + "].path: " + e.what());
      }
    }
    for (size_t d = sw.dims.size(); d-- > 0;) // odometer, the last dimension fastest
      if (++digit[d] < sw.axes[sw.dims[d][0]].values.size())
        break;
      else
        digit[d] = 0;

    bool keep = true;
    for (size_t w = 0; w < sw.where.size() && keep; ++w)
      keep = eval_where(sw.where[w], p.doc, sw.file + ": filters.where[" + std::to_string(w) + "]");
    if (!keep) {
      ++out.filtered;
      continue;
    }
    std::optional<Scenario> s;
    try {
      s = parse_scenario(p.doc, scenario_file);
    } catch (const InputError& e) {
      p.status = "infeasible";
      p.error = e.what();
      if (first_error.empty()) first_error = p.error;
    }
    if (s) {
      for (size_t k = 0; k < sw.placements.size(); ++k)
        if (std::none_of(s->placements.begin(), s->placements.end(),
                         [&](const PlacementConfig& pc) { return pc.name == sw.placements[k]; }))
          throw InputError(sw.file + ": placements[" + std::to_string(k) + "]: no placement \"" + sw.placements[k] +
                           "\" in the scenario of point " + std::to_string(index));
      size_point(p, *s, sw.placements);
    }
    if (p.status != "infeasible" && ((sw.max_chips && double(p.chips) > *sw.max_chips) ||
                                     (sw.max_it_power_kw && p.it_power_kw > *sw.max_it_power_kw))) {
      ++out.filtered;
      continue;
    }
    p.id = short_hash(p.doc.dump() + "\n" + chosen);
    auto [it, fresh] = ids.emplace(p.id, index);
    if (!fresh)
      throw InputError(sw.file + ": axes: points " + std::to_string(it->second) + " and " + std::to_string(index) +
                       " are the same scenario (an axis value that changes nothing?)");
    out.points.push_back(std::move(p));
  }
  if (out.points.empty())
    throw InputError(sw.file + ": filters: every one of the " + std::to_string(out.product) +
                     " points is filtered out");
  if (std::all_of(out.points.begin(), out.points.end(), [](const SweepPoint& p) { return p.status == "infeasible"; }))
    throw InputError(sw.file + ": no point of the sweep is a valid scenario; the first: " + first_error);
  return out;
}

} // namespace fs
