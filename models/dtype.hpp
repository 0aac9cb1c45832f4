#pragma once
#include <string>
#include <vector>

namespace fs {

enum class Dtype { fp32, bf16, fp16, fp8, int8, fp4 };

inline double dtype_bytes(Dtype d)
{
  switch (d) {
  case Dtype::fp32:
    return 4;
  case Dtype::bf16:
  case Dtype::fp16:
    return 2;
  case Dtype::fp8:
  case Dtype::int8:
    return 1;
  case Dtype::fp4:
    return 0.5;
  }
  return 2;
}

inline const char* dtype_name(Dtype d)
{
  switch (d) {
  case Dtype::fp32:
    return "fp32";
  case Dtype::bf16:
    return "bf16";
  case Dtype::fp16:
    return "fp16";
  case Dtype::fp8:
    return "fp8";
  case Dtype::int8:
    return "int8";
  case Dtype::fp4:
    return "fp4";
  }
  return "?";
}

inline const std::vector<std::string>& dtype_names()
{
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (Dtype d : {Dtype::fp32, Dtype::bf16, Dtype::fp16, Dtype::fp8, Dtype::int8, Dtype::fp4})
      v.push_back(dtype_name(d));
    return v;
  }();
  return names;
}

// Returns false when the name is not a known dtype.
inline bool parse_dtype(const std::string& s, Dtype& out)
{
  for (Dtype d : {Dtype::fp32, Dtype::bf16, Dtype::fp16, Dtype::fp8, Dtype::int8, Dtype::fp4})
    if (s == dtype_name(d)) {
      out = d;
      return true;
    }
  return false;
}

} // namespace fs
