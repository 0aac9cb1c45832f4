// Reading JSON input with errors that name the file, the JSON path and what was expected (docs/design.md,
// "One parser"). Every object node remembers which keys were read; done() rejects the rest. A node may carry
// the spec of its object (schema.hpp): then every key it reads must be in the spec, and numbers are checked
// against the spec's type and bounds before they are converted, so nothing wraps or truncates silently.
#pragma once
#include <initializer_list>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs {

// Bad user input: the CLI prints the message and exits with code 2.
class InputError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

using Json = nlohmann::json;

struct ObjectSpec;
struct FieldSpec;

// Parses a JSON file; throws InputError naming the file and the position of a syntax error.
Json read_json_file(const std::string& path);
// Parses JSON text; `what` names it in errors.
Json parse_json_text(const std::string& text, const std::string& what);

class JsonNode {
public:
  JsonNode(const Json& j, std::string file, std::string path = "", const ObjectSpec* spec = nullptr);

  const Json& raw() const { return *j_; }
  const std::string& file() const { return file_; }
  const std::string& path() const { return path_; }
  const ObjectSpec* spec() const { return spec_; }
  std::string child_path(const std::string& key) const;
  // The keys of the variant named `type` (the object's "type") are valid from now on.
  void use_variant(const std::string& type) const;

  bool has(const std::string& key) const;
  JsonNode at(const std::string& key) const; // required child object/array/value
  std::optional<JsonNode> get(const std::string& key) const;
  size_t size() const;
  JsonNode operator[](size_t i) const;
  std::vector<std::string> keys() const; // marks all keys as read

  double number(const std::string& key) const;
  double number(const std::string& key, double def) const;
  double positive(const std::string& key) const;
  double positive(const std::string& key, double def) const;
  double non_negative(const std::string& key, double def) const;
  double fraction(const std::string& key, double def) const; // in [0, 1]
  long integer(const std::string& key) const;
  long integer(const std::string& key, long def) const;
  long positive_int(const std::string& key) const;
  long positive_int(const std::string& key, long def) const;
  std::string string(const std::string& key) const;
  std::string string(const std::string& key, const std::string& def) const;
  std::string choice(const std::string& key, std::initializer_list<const char*> options, const std::string& def) const;
  // A required array of numbers, each finite and within the field's bounds (errors name key[i]).
  std::vector<double> numbers(const std::string& key) const;
  bool boolean(const std::string& key, bool def) const;
  // A catalog number: {"value": x, "source": "..."}; a plain number is accepted when allow_plain.
  double sourced(const std::string& key, std::string* source, bool allow_plain = false) const;

  void expect_object() const;
  void expect_array() const;
  // Every key of this object must have been read; else InputError naming the first unknown key.
  void done() const;
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;
  [[noreturn]] void fail_here(const std::string& what) const;

private:
  struct State {
    std::set<std::string> read;
    const ObjectSpec* variant = nullptr;
  };
  const Json& value_of(const std::string& key) const;
  void mark(const std::string& key) const { st_->read.insert(key); }
  const FieldSpec* field(const std::string& key) const; // nullptr without a spec; throws if the spec lacks it
  double checked_number(const std::string& key, const Json& v) const;

  const Json* j_;
  std::string file_;
  std::string path_;
  const ObjectSpec* spec_ = nullptr; // of this object, or of this array's elements
  std::shared_ptr<State> st_;
};

std::string json_type_name(const Json& j);
// A number as a person writes it: 8, 0.5, 1e+12.
std::string format_number(double x);

// A number with a sourced default: the default's source when absent; when given, the source a resolved scenario
// carries for it in "sources", else "scenario".
inline auto sourced_default(const JsonNode& n, std::map<std::string, std::string>& src)
{
  Json given = Json::object();
  if (auto g = n.get("sources"); g && g->raw().is_object()) given = g->raw();
  return [&n, &src, given](const char* key, double def, const char* source) {
    double v = n.number(key, def);
    src[key] = !n.has(key)                                      ? source
               : given.value(key, Json("scenario")).is_string() ? given.value(key, "scenario")
                                                                : "scenario";
    return v;
  };
}

} // namespace fs
