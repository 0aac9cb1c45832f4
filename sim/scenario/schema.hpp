// The scenario format as data: every object the parser reads, its keys, their types and physically plausible
// bounds. The parser enforces these tables (JsonNode looks up the spec of each key it reads, and a key the code
// reads but the table lacks is a programming error), and `factorysim schema` prints them as a JSON Schema.
#pragma once
#include "json_input.hpp"
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fs {

enum class FieldType {
  number,  // finite, within [lo, hi] (lo exclusive when lo_open)
  integer, // integral, within [lo, hi]: never wrapped or truncated
  string,  // one of `choices` when given
  boolean,
  sourced, // a catalog number {"value": number, "source": string}, or a plain number in overrides
  object,  // described by `object`
  array,   // of `items` (objects described by `object` when items == object)
  any,     // free-form documentation (e.g. "sources")
};

struct ObjectSpec;

struct FieldSpec {
  std::string key;
  FieldType type = FieldType::number;
  std::string doc;
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false;
  std::vector<std::string> choices;
  const ObjectSpec* object = nullptr; // object fields, or array elements
  FieldType items = FieldType::any;   // array element type (number elements are held to lo, hi)
  bool required = false;
  bool integral = false; // a sourced number that must be whole (counts)

  bool in_bounds(double x) const { return (lo_open ? x > lo : x >= lo) && x <= hi; }
  std::string bounds_text() const; // e.g. "(0, 1e+06]"
};

struct ObjectSpec {
  ObjectSpec() = default;
  ObjectSpec(std::string n, std::string d, std::vector<FieldSpec> f, std::map<std::string, std::string> r = {})
      : name(std::move(n)), doc(std::move(d)), fields(std::move(f)), retired(std::move(r))
  {
  }
  // An object whose keys are free names, each value an `e` object (a catalog section).
  static ObjectSpec map_of(std::string n, std::string d, const ObjectSpec& e)
  {
    ObjectSpec o(std::move(n), std::move(d), {});
    o.entries = &e;
    return o;
  }

  std::string name; // a short title, also the JSON Schema $defs key
  std::string doc;
  std::vector<FieldSpec> fields;
  // Objects whose keys depend on their "type": type value -> the extra keys of that variant.
  std::map<std::string, const ObjectSpec*> variants;
  // Objects whose keys are free names (catalog sections): every value is an `entries` object.
  const ObjectSpec* entries = nullptr;
  // Keys that were renamed or removed: key -> what to tell the user.
  std::map<std::string, std::string> retired;

  const FieldSpec* find(const std::string& key) const;
};

// Shorthands for the tables.
FieldSpec num(std::string key, double lo, double hi, std::string doc, bool lo_open = false);
FieldSpec positive(std::string key, double hi, std::string doc); // (0, hi]
FieldSpec integer(std::string key, double lo, double hi, std::string doc);
FieldSpec text(std::string key, std::string doc, std::vector<std::string> choices = {});
FieldSpec flag(std::string key, std::string doc);
FieldSpec sourced(std::string key, double lo, double hi, std::string doc, bool lo_open = false);
FieldSpec sourced_count(std::string key, double lo, double hi, std::string doc);
FieldSpec object(std::string key, const ObjectSpec& spec, std::string doc);
FieldSpec array_of(std::string key, const ObjectSpec& spec, std::string doc);
FieldSpec array_of(std::string key, FieldType items, std::string doc);
FieldSpec array_of_numbers(std::string key, double lo, double hi, std::string doc); // each element in [lo, hi]
FieldSpec free_form(std::string key, std::string doc);
FieldSpec required(FieldSpec f);

// The scenario's root object, and the catalog files' (scenario_schema.cpp).
const ObjectSpec& scenario_spec();
const ObjectSpec& catalog_spec(const std::string& section); // "chips", "models", "nics", "cpus", "servers", "switches"
const ObjectSpec& chip_fields_spec();                       // a chip entry's numbers (also chip_overrides)
const ObjectSpec& inline_catalog_spec();                    // a scenario's "catalog" object

// Rejects, before anything is read, every key of `j` (at any depth) that `spec` does not know, naming the file and
// the JSON path; retired keys say what replaced them. Values of the wrong type are left to the parser.
void check_keys(const Json& j, const ObjectSpec& spec, const std::string& file, const std::string& path = "");
// What renaming `old_key` to `new_key` tells the user.
std::string renamed_to(const std::string& new_key, const std::string& why = "");

// A JSON Schema (draft 2020-12) of `root` and everything it references.
Json json_schema(const ObjectSpec& root);

// The keys each variant of a registry adds (its JSON "type" -> its spec), kept alive with the objects that own
// them; and the registry's type names (the choices of a "type" key).
template <class R> std::map<std::string, const ObjectSpec*> variant_specs(const R& reg)
{
  static std::vector<std::shared_ptr<void>> keep;
  std::map<std::string, const ObjectSpec*> m;
  for (auto const& [k, e] : reg.entries()) {
    std::shared_ptr<typename decltype(e.make())::element_type> v = e.make();
    m[k] = &v->spec();
    keep.push_back(v);
  }
  return m;
}
template <class R> std::vector<std::string> type_names(const R& reg)
{
  std::vector<std::string> v;
  for (auto const& [k, e] : reg.entries())
    v.push_back(k);
  return v;
}

} // namespace fs
