// A registry of model variants keyed by their JSON "type" string (docs/design.md, "Variants").
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs {

template <class Interface, class... Args> class Registry {
public:
  using Factory = std::function<std::unique_ptr<Interface>(Args...)>;
  struct Entry {
    std::string description;
    Factory make;
  };

  explicit Registry(std::string family) : family_(std::move(family)) {}
  void add(const std::string& type, std::string description, Factory make)
  {
    entries_[type] = Entry{std::move(description), std::move(make)};
  }
  bool has(const std::string& type) const { return entries_.count(type) != 0; }
  const Entry* find(const std::string& type) const
  {
    auto it = entries_.find(type);
    return it == entries_.end() ? nullptr : &it->second;
  }
  std::unique_ptr<Interface> make(const std::string& type, Args... args) const
  {
    const Entry* e = find(type);
    if (!e) throw std::invalid_argument("unknown " + family_ + " type \"" + type + "\"; known: " + known());
    return e->make(std::forward<Args>(args)...);
  }
  std::string known() const
  {
    std::string s;
    for (auto const& [k, v] : entries_)
      s += (s.empty() ? "" : ", ") + k;
    return s;
  }
  const std::string& family() const { return family_; }
  const std::map<std::string, Entry>& entries() const { return entries_; }

private:
  std::string family_;
  std::map<std::string, Entry> entries_;
};

} // namespace fs
