#include "schema.hpp"
#include <cmath>
#include <set>

namespace fs {

const FieldSpec* ObjectSpec::find(const std::string& key) const
{
  for (const FieldSpec& f : fields)
    if (f.key == key) return &f;
  return nullptr;
}

std::string FieldSpec::bounds_text() const
{
  auto n = [](double x) { return std::isinf(x) ? std::string(x < 0 ? "-inf" : "inf") : format_number(x); };
  return std::string(lo_open ? "(" : "[") + n(lo) + ", " + n(hi) + "]";
}

namespace {
FieldSpec field(std::string key, FieldType type, std::string doc)
{
  FieldSpec f;
  f.key = std::move(key);
  f.type = type;
  f.doc = std::move(doc);
  return f;
}
} // namespace

FieldSpec num(std::string key, double lo, double hi, std::string doc, bool lo_open)
{
  FieldSpec f = field(std::move(key), FieldType::number, std::move(doc));
  f.lo = lo;
  f.hi = hi;
  f.lo_open = lo_open;
  return f;
}

FieldSpec positive(std::string key, double hi, std::string doc)
{
  return num(std::move(key), 0, hi, std::move(doc), true);
}

FieldSpec integer(std::string key, double lo, double hi, std::string doc)
{
  FieldSpec f = num(std::move(key), lo, hi, std::move(doc));
  f.type = FieldType::integer;
  return f;
}

FieldSpec text(std::string key, std::string doc, std::vector<std::string> choices)
{
  FieldSpec f = field(std::move(key), FieldType::string, std::move(doc));
  f.choices = std::move(choices);
  return f;
}

FieldSpec flag(std::string key, std::string doc) { return field(std::move(key), FieldType::boolean, std::move(doc)); }

FieldSpec sourced(std::string key, double lo, double hi, std::string doc, bool lo_open)
{
  FieldSpec f = num(std::move(key), lo, hi, std::move(doc), lo_open);
  f.type = FieldType::sourced;
  return f;
}

FieldSpec sourced_count(std::string key, double lo, double hi, std::string doc)
{
  FieldSpec f = sourced(std::move(key), lo, hi, std::move(doc), false);
  f.integral = true;
  return f;
}

FieldSpec object(std::string key, const ObjectSpec& spec, std::string doc)
{
  FieldSpec f = field(std::move(key), FieldType::object, std::move(doc));
  f.object = &spec;
  return f;
}

FieldSpec array_of(std::string key, const ObjectSpec& spec, std::string doc)
{
  FieldSpec f = object(std::move(key), spec, std::move(doc));
  f.type = FieldType::array;
  f.items = FieldType::object;
  return f;
}

FieldSpec array_of(std::string key, FieldType items, std::string doc)
{
  FieldSpec f = field(std::move(key), FieldType::array, std::move(doc));
  f.items = items;
  return f;
}

FieldSpec array_of_numbers(std::string key, double lo, double hi, std::string doc)
{
  FieldSpec f = num(std::move(key), lo, hi, std::move(doc));
  f.type = FieldType::array;
  f.items = FieldType::number;
  return f;
}

FieldSpec free_form(std::string key, std::string doc) { return field(std::move(key), FieldType::any, std::move(doc)); }

FieldSpec required(FieldSpec f)
{
  f.required = true;
  return f;
}

std::string renamed_to(const std::string& new_key, const std::string& why)
{
  return "renamed to \"" + new_key + "\"" + (why.empty() ? "" : " (" + why + ")");
}

void check_keys(const Json& j, const ObjectSpec& spec, const std::string& file, const std::string& path)
{
  if (!j.is_object()) return;
  auto at = [&](const std::string& k) { return path.empty() ? k : path + "." + k; };
  if (spec.entries) {
    for (auto it = j.begin(); it != j.end(); ++it)
      check_keys(it.value(), *spec.entries, file, at(it.key()));
    return;
  }
  const ObjectSpec* variant = nullptr;
  if (!spec.variants.empty()) {
    auto t = j.find("type");
    if (t == j.end() || !t->is_string() || !spec.variants.count(t->get<std::string>()))
      return; // the parser says what is wrong with the type
    variant = spec.variants.at(t->get<std::string>());
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const FieldSpec* f = spec.find(it.key());
    if (!f && variant) f = variant->find(it.key());
    if (!f) {
      auto r = spec.retired.find(it.key());
      throw InputError(file + ": " + at(it.key()) + ": " + (r != spec.retired.end() ? r->second : "unknown key"));
    }
    if (f->type == FieldType::object && f->object) check_keys(it.value(), *f->object, file, at(it.key()));
    if (f->type == FieldType::array && f->items == FieldType::object && f->object && it.value().is_array())
      for (size_t i = 0; i < it.value().size(); ++i)
        check_keys(it.value()[i], *f->object, file, at(it.key()) + "[" + std::to_string(i) + "]");
  }
}

namespace {

Json number_schema(const FieldSpec& f, bool integral)
{
  integral = integral || f.integral;
  Json j = {{"type", integral ? "integer" : "number"}};
  if (std::isfinite(f.lo)) j[f.lo_open ? "exclusiveMinimum" : "minimum"] = f.lo;
  if (std::isfinite(f.hi)) j["maximum"] = f.hi;
  return j;
}

class SchemaWriter {
public:
  Json ref(const ObjectSpec& o)
  {
    if (!done_.count(o.name)) {
      done_.insert(o.name);
      defs_[o.name] = Json(); // placeholder against cycles
      defs_[o.name] = object_schema(o);
    }
    return {{"$ref", "#/$defs/" + o.name}};
  }
  Json defs() const { return defs_; }

private:
  Json field_schema(const FieldSpec& f)
  {
    Json j;
    switch (f.type) {
    case FieldType::number:
      j = number_schema(f, false);
      break;
    case FieldType::integer:
      j = number_schema(f, true);
      break;
    case FieldType::string:
      j = {{"type", "string"}};
      if (!f.choices.empty()) j["enum"] = f.choices;
      break;
    case FieldType::boolean:
      j = {{"type", "boolean"}};
      break;
    case FieldType::sourced:
      j = {{"oneOf",
            {number_schema(f, false),
             {{"type", "object"},
              {"properties", {{"value", number_schema(f, false)}, {"source", {{"type", "string"}, {"minLength", 1}}}}},
              {"required", {"value", "source"}},
              {"additionalProperties", false}}}}};
      break;
    case FieldType::object:
      j = ref(*f.object);
      break;
    case FieldType::array:
      j = {{"type", "array"}};
      if (f.items == FieldType::object)
        j["items"] = ref(*f.object);
      else if (f.items == FieldType::string)
        j["items"] = {{"type", "string"}};
      else if (f.items == FieldType::number)
        j["items"] = number_schema(f, false);
      break;
    case FieldType::any:
      j = Json::object();
      break;
    }
    if (!f.doc.empty()) j["description"] = f.doc;
    return j;
  }

  Json properties(const ObjectSpec& o, std::vector<std::string>& req)
  {
    Json props = Json::object();
    for (const FieldSpec& f : o.fields) {
      props[f.key] = field_schema(f);
      if (f.required) req.push_back(f.key);
      // The parser reads an optional key given as null as absent.
      if (!f.required && f.type != FieldType::any) {
        Json doc = props[f.key].value("description", "");
        props[f.key].erase("description");
        props[f.key] = {{"anyOf", {props[f.key], {{"type", "null"}}}}, {"description", doc}};
      }
    }
    return props;
  }

  Json object_schema(const ObjectSpec& o)
  {
    Json j = {{"type", "object"}, {"title", o.name}};
    if (!o.doc.empty()) j["description"] = o.doc;
    if (o.entries) {
      j["additionalProperties"] = ref(*o.entries);
      return j;
    }
    std::vector<std::string> req;
    j["properties"] = properties(o, req);
    if (!req.empty()) j["required"] = req;
    if (o.variants.empty()) {
      j["additionalProperties"] = false;
      return j;
    }
    // One branch per "type": the common keys plus the variant's, nothing else.
    Json branches = Json::array();
    for (auto const& [type, v] : o.variants) {
      std::vector<std::string> vreq;
      Json props = properties(o, vreq);
      const Json own = properties(*v, vreq);
      for (auto it = own.begin(); it != own.end(); ++it)
        props[it.key()] = it.value();
      props["type"] = {{"const", type}};
      Json b = {{"properties", props}, {"additionalProperties", false}};
      if (!vreq.empty()) b["required"] = vreq;
      branches.push_back(b);
    }
    j["oneOf"] = branches;
    return j;
  }

  Json defs_ = Json::object();
  std::set<std::string> done_;
};

} // namespace

Json json_schema(const ObjectSpec& root)
{
  // The root object's own schema at the top (editors read "properties" there), the rest under $defs.
  SchemaWriter w;
  w.ref(root);
  Json defs = w.defs();
  Json top = defs[root.name];
  defs.erase(root.name);
  top["$schema"] = "https://json-schema.org/draft/2020-12/schema";
  top["title"] = "factorysim " + root.name;
  top["$defs"] = defs;
  return top;
}

} // namespace fs
