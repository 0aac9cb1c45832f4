#include "sweep_expr.hpp"
#include "scenario.hpp"
#include <cctype>
#include <cmath>

namespace fs {

namespace {

struct Value {
  bool is_text = false;
  double num = 0;
  std::string text;
};

// Recursive descent over the expression text; every operand is read from `doc` as it is met.
class Parser {
public:
  Parser(const std::string& e, const Json& doc, const std::string& what) : e_(e), doc_(doc), what_(what) {}

  bool run()
  {
    const Value v = disjunction();
    skip();
    if (i_ < e_.size()) fail("unexpected \"" + e_.substr(i_) + "\"");
    return truth(v);
  }

private:
  [[noreturn]] void fail(const std::string& why) const { throw InputError(what_ + ": " + why + " in \"" + e_ + "\""); }
  void skip()
  {
    while (i_ < e_.size() && std::isspace(static_cast<unsigned char>(e_[i_])))
      ++i_;
  }
  bool eat(const char* op)
  {
    skip();
    const size_t n = std::char_traits<char>::length(op);
    if (e_.compare(i_, n, op) != 0) return false;
    // "<" must not take the first character of "<=", nor "!" that of "!="
    if (n == 1 && i_ + 1 < e_.size() && e_[i_ + 1] == '=' && std::string("<>!=").find(op[0]) != std::string::npos)
      return false;
    i_ += n;
    return true;
  }
  bool truth(const Value& v) const
  {
    if (v.is_text) fail("a string is not a condition");
    return v.num != 0;
  }
  double number(const Value& v, const char* op) const
  {
    if (v.is_text) fail(std::string("'") + op + "' needs numbers, got the string \"" + v.text + "\"");
    return v.num;
  }
  static Value num(double x) { return Value{false, x, {}}; }

  Value disjunction()
  {
    Value v = conjunction();
    while (eat("||")) {
      const Value r = conjunction();
      v = num(truth(v) || truth(r));
    }
    return v;
  }
  Value conjunction()
  {
    Value v = negation();
    while (eat("&&")) {
      const Value r = negation();
      v = num(truth(v) && truth(r));
    }
    return v;
  }
  Value negation()
  {
    if (eat("!")) return num(!truth(negation()));
    return comparison();
  }
  Value comparison()
  {
    Value l = sum();
    for (const char* op : {"==", "!=", "<=", ">=", "<", ">"}) {
      if (!eat(op)) continue;
      const Value r = sum();
      const std::string o = op;
      if (l.is_text != r.is_text) fail("'" + o + "' compares a string with a number");
      const int c = l.is_text ? l.text.compare(r.text) : (l.num < r.num ? -1 : l.num > r.num ? 1 : 0);
      const bool t = o == "=="   ? c == 0
                     : o == "!=" ? c != 0
                     : o == "<=" ? c <= 0
                     : o == ">=" ? c >= 0
                     : o == "<"  ? c < 0
                                 : c > 0;
      return num(t);
    }
    return l;
  }
  Value sum()
  {
    Value v = product();
    for (;;) {
      if (eat("+"))
        v = num(number(v, "+") + number(product(), "+"));
      else if (eat("-"))
        v = num(number(v, "-") - number(product(), "-"));
      else
        return v;
    }
  }
  Value product()
  {
    Value v = unary();
    for (;;) {
      if (eat("*"))
        v = num(number(v, "*") * number(unary(), "*"));
      else if (eat("/"))
        v = num(number(v, "/") / number(unary(), "/"));
      else
        return v;
    }
  }
  Value unary()
  {
    if (eat("-")) return num(-number(unary(), "-"));
    return operand();
  }
  Value operand()
  {
    skip();
    if (i_ >= e_.size()) fail("expected an operand at the end");
    const char c = e_[i_];
    if (eat("(")) {
      Value v = disjunction();
      if (!eat(")")) fail("missing ')'");
      return v;
    }
    if (c == '"') {
      const size_t j = e_.find('"', i_ + 1);
      if (j == std::string::npos) fail("unterminated string");
      Value v{true, 0, e_.substr(i_ + 1, j - i_ - 1)};
      i_ = j + 1;
      return v;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      size_t used = 0;
      double x = 0;
      try {
        x = std::stod(e_.substr(i_), &used);
      } catch (const std::exception&) {
        fail("bad number at \"" + e_.substr(i_) + "\"");
      }
      i_ += used;
      return num(x);
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i_;
      while (j < e_.size() &&
             (std::isalnum(static_cast<unsigned char>(e_[j])) || std::string("_.[]").find(e_[j]) != std::string::npos))
        ++j;
      const std::string path = e_.substr(i_, j - i_);
      i_ = j;
      if (path == "true" || path == "false") return num(path == "true");
      const Json* v = json_at_path(doc_, path);
      if (!v) fail("the scenario has no value at " + path);
      if (v->is_number() || v->is_boolean()) return num(v->is_boolean() ? double(v->get<bool>()) : v->get<double>());
      if (v->is_string()) return Value{true, 0, v->get<std::string>()};
      fail(path + " is " + json_type_name(*v) + ", not a number or a string");
    }
    fail("unexpected \"" + e_.substr(i_) + "\"");
  }

  const std::string& e_;
  const Json& doc_;
  const std::string& what_;
  size_t i_ = 0;
};

} // namespace

bool eval_where(const std::string& expr, const Json& doc, const std::string& what)
{
  return Parser(expr, doc, what).run();
}

} // namespace fs
