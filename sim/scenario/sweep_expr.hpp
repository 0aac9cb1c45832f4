// The `where` filters of a sweep (docs/metrics.md, "Sweeps"): a small expression language over a point's scenario
// document. Operands are numbers, "strings", true/false and --set paths (pools[0].servers, workload.qps) read from
// the document; operators, loosest first: || && ! == != < <= > >= + - * / and parentheses.
#pragma once
#include "json_input.hpp"
#include <string>

namespace fs {

// Whether `expr` holds for `doc`. Throws InputError prefixed by `what` on a syntax error, a path the document does
// not have, or a type mismatch (a string compared with a number, arithmetic on strings).
bool eval_where(const std::string& expr, const Json& doc, const std::string& what);

} // namespace fs
