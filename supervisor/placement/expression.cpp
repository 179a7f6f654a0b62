// GCC 12 warns falsely inside std::regex's own code (std::function in its
// NFA states) when building with sanitizers; -Werror would stop the build.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "placement/expression.hpp"

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace {
// A pattern comes from any user and is matched at every scheduling pass, so it
// must not be able to stall the scheduler. libstdc++'s default (backtracking)
// executor takes exponential time on patterns such as '^(a*)*$' or '^^***...$'
// (found by fuzz_requirements); __polynomial selects its Thompson-NFA executor,
// polynomial in pattern and text, which refuses back-references instead.
#if defined(__GLIBCXX__)
constexpr auto kLinearTime = std::regex_constants::__polynomial;
#else
constexpr auto kLinearTime = std::regex_constants::syntax_option_type{};
#endif

// libstdc++'s regex compiler reads the number of a back-reference ("\\123")
// or a repeat count ("{123}") into an int without checking for overflow
// (found by fuzz_requirements: undefined behaviour on a run of digits). Such
// patterns are refused here, before std::regex sees them, with a message that
// says why. Returns an empty string when the pattern is acceptable.
constexpr std::size_t kMaxRepeatDigits = 5;  // the NFA's own state limit is 100,000

std::size_t digit_run(const std::string& s, std::size_t i) {
  std::size_t n = 0;
  while (i + n < s.size() && s[i + n] >= '0' && s[i + n] <= '9') ++n;
  return n;
}

std::string unsafe_pattern_reason(const std::string& pattern) {
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      if (pattern[i + 1] >= '1' && pattern[i + 1] <= '9') return "back-references such as \\1 are not supported";
      ++i;  // an escaped character, whatever it is, is not an operator
    } else if (pattern[i] == '{') {
      const std::size_t lo = digit_run(pattern, i + 1);
      const std::size_t comma = i + 1 + lo;
      const std::size_t hi = comma < pattern.size() && pattern[comma] == ',' ? digit_run(pattern, comma + 1) : 0;
      if (lo > kMaxRepeatDigits || hi > kMaxRepeatDigits) return "repeat count over 99999";
    }
  }
  return {};
}
}  // namespace

#include "placement/error.hpp"
#include "placement/expression_lexer.hpp"

namespace qube::placement {

using expr::Op;
using expr::Token;
using expr::TokenKind;

// Named, not anonymous: Expression::Program, a type of the header's, holds them.
namespace program {

enum class NodeKind : std::uint8_t { Or, And, Not, Compare, Literal, Ref };

enum class RefKind : std::uint8_t {
  HostName, HostOs, HostCluster, HostState, HostGroups, HostJobTypes, HostDuty,
  HostSlots, HostMemory, HostGpus, HostProperty,
  JobId, JobName, JobUser, JobType, JobLabel, JobCluster, JobPriority, JobCpus, JobPgrp, JobPid,
};
enum class Field : std::uint8_t { None, Total, Avail, Used };

struct Node {
  NodeKind kind = NodeKind::Literal;
  Op op = Op::Eq;
  std::uint32_t a = 0, b = 0;        // children, or first kid + count, or table index
  std::uint32_t begin = 0, end = 0;  // source bytes it was parsed from
};

struct Literal {
  bool is_number = false;
  double number = 0;
  std::string text;
};

struct Ref {
  RefKind kind = RefKind::HostName;
  Field field = Field::None;
  std::string property;  // HostProperty: key in HostFacts::properties
  std::string resource;  // HostProperty: key in HostFacts::resources ("host.<x>")
};

}  // namespace program

struct Expression::Program {
  std::string text;
  std::vector<program::Node> nodes;
  std::vector<std::uint32_t> kids;  // children of Or / And nodes
  std::vector<program::Literal> literals;
  std::vector<program::Ref> refs;
  std::vector<std::regex> regexes;
  std::uint32_t root = 0;
  bool uses_job = false;
};

// ------------------------------------------------------------------ parsing

namespace program {
namespace {

struct NamedRef {
  std::string_view name;
  RefKind kind;
};
constexpr NamedRef kJobRefs[] = {
    {"id", RefKind::JobId},         {"name", RefKind::JobName},         {"user", RefKind::JobUser},
    {"type", RefKind::JobType},     {"prototype", RefKind::JobType},    {"label", RefKind::JobLabel},
    {"cluster", RefKind::JobCluster}, {"priority", RefKind::JobPriority}, {"cpus", RefKind::JobCpus},
    {"pgrp", RefKind::JobPgrp},     {"pid", RefKind::JobPid},
};
constexpr NamedRef kHostRefs[] = {
    {"name", RefKind::HostName},   {"os", RefKind::HostOs},         {"cluster", RefKind::HostCluster},
    {"state", RefKind::HostState}, {"groups", RefKind::HostGroups}, {"jobtypes", RefKind::HostJobTypes},
    {"duty", RefKind::HostDuty},   {"duty.id", RefKind::HostDuty},
};
constexpr NamedRef kHostCounted[] = {
    {"processors", RefKind::HostSlots}, {"memory", RefKind::HostMemory},
    {"gpu", RefKind::HostGpus},         {"gpus", RefKind::HostGpus},
};

Field field_of(std::string_view suffix) {
  if (suffix == "total") return Field::Total;
  if (suffix == "avail" || suffix == "free") return Field::Avail;
  if (suffix == "used") return Field::Used;
  return Field::None;
}

bool is_comparison(Op op) { return op != Op::Or && op != Op::And && op != Op::Not; }

class Parser {
 public:
  Parser(Expression::Program& p, std::string_view field) : p_(p), field_(field), lexer_(p.text, field) {
    advance();
  }

  std::uint32_t parse_all() {
    const std::uint32_t root = parse_or(0);
    if (tok_.kind != TokenKind::End) unexpected();
    return root;
  }

 private:
  void advance() { tok_ = lexer_.next(); }

  [[noreturn]] void unexpected() const {
    if (tok_.kind == TokenKind::End) fail_at(field_, "unexpected end of expression", tok_.column);
    fail_at(field_, "unexpected '" + std::string(tok_.source) + "'", tok_.column);
  }

  std::uint32_t add(Node n) {
    p_.nodes.push_back(n);
    return static_cast<std::uint32_t>(p_.nodes.size() - 1);
  }

  // Or and And chains become one node with n children, so a long chain of
  // `||` costs no recursion depth when evaluated.
  std::uint32_t parse_chain(Op op, int depth) {
    std::vector<std::uint32_t> parts{op == Op::Or ? parse_chain(Op::And, depth) : parse_not(depth)};
    while (tok_.kind == TokenKind::Operator && tok_.op == op) {
      advance();
      parts.push_back(op == Op::Or ? parse_chain(Op::And, depth) : parse_not(depth));
    }
    if (parts.size() == 1) return parts.front();
    Node n{op == Op::Or ? NodeKind::Or : NodeKind::And, op, static_cast<std::uint32_t>(p_.kids.size()),
           static_cast<std::uint32_t>(parts.size()), p_.nodes[parts.front()].begin, p_.nodes[parts.back()].end};
    p_.kids.insert(p_.kids.end(), parts.begin(), parts.end());
    return add(n);
  }
  std::uint32_t parse_or(int depth) { return parse_chain(Op::Or, depth); }

  void check_depth(int depth) const {
    if (depth >= Expression::kMaxDepth)
      fail_at(field_, "nested deeper than " + std::to_string(Expression::kMaxDepth) + " levels", tok_.column);
  }

  std::uint32_t parse_not(int depth) {
    if (tok_.kind == TokenKind::Operator && tok_.op == Op::Not) {
      check_depth(depth);
      const auto begin = static_cast<std::uint32_t>(tok_.column - 1);
      advance();
      const std::uint32_t child = parse_not(depth + 1);
      return add(Node{NodeKind::Not, Op::Not, child, 0, begin, p_.nodes[child].end});
    }
    return parse_compare(depth);
  }

  std::uint32_t parse_compare(int depth) {
    const std::uint32_t left = parse_operand(depth);
    if (tok_.kind != TokenKind::Operator || !is_comparison(tok_.op)) return left;
    const Op op = tok_.op;
    advance();
    const Token right_tok = tok_;
    const std::uint32_t right = parse_operand(depth);
    Node n{NodeKind::Compare, op, left, right, p_.nodes[left].begin, p_.nodes[right].end};
    if (op == Op::Match) {
      if (right_tok.kind != TokenKind::String)
        fail_at(field_, "'=~' needs a quoted pattern on its right", right_tok.column);
      if (const std::string why = unsafe_pattern_reason(right_tok.text); !why.empty())
        fail_at(field_, "invalid regular expression (" + why + ")", right_tok.column);
      try {
        p_.regexes.emplace_back(right_tok.text, std::regex::ECMAScript | std::regex::optimize | kLinearTime);
      } catch (const std::regex_error& e) {
        fail_at(field_, std::string("invalid regular expression (") + e.what() + ")", right_tok.column);
      }
      n.b = static_cast<std::uint32_t>(p_.regexes.size() - 1);
    }
    return add(n);
  }

  std::uint32_t literal(const Token& t, bool is_number, double number, std::string text) {
    p_.literals.push_back(Literal{is_number, number, std::move(text)});
    return add(Node{NodeKind::Literal, Op::Eq, static_cast<std::uint32_t>(p_.literals.size() - 1), 0,
                    static_cast<std::uint32_t>(t.column - 1),
                    static_cast<std::uint32_t>(t.column - 1 + t.source.size())});
  }

  std::uint32_t parse_operand(int depth) {
    const Token t = tok_;
    switch (t.kind) {
      case TokenKind::Number:
        advance();
        return literal(t, true, t.number, std::string(t.source));
      case TokenKind::String:
        advance();
        return literal(t, false, 0, t.text);
      case TokenKind::Word:
        advance();
        return word(t);
      case TokenKind::LParen: {
        check_depth(depth);
        advance();
        const std::uint32_t inner = parse_or(depth + 1);
        if (tok_.kind == TokenKind::End) fail_at(field_, "missing ')'", tok_.column);
        if (tok_.kind != TokenKind::RParen) unexpected();
        // The group's text includes its parentheses, for explanations.
        p_.nodes[inner].begin = static_cast<std::uint32_t>(t.column - 1);
        p_.nodes[inner].end = static_cast<std::uint32_t>(tok_.column);
        advance();
        return inner;
      }
      default:
        unexpected();
    }
  }

  std::uint32_t word(const Token& t) {
    const std::string_view w = t.source;
    if (w == "true" || w == "false") return literal(t, true, w == "true" ? 1 : 0, std::string(w));
    Ref ref;
    if (w.starts_with("job.")) {
      ref.kind = lookup(kJobRefs, w.substr(4), t);
      p_.uses_job = true;
    } else if (w.starts_with("host.")) {
      ref = host_ref(w.substr(5), t);
    } else {
      return literal(t, false, 0, std::string(w));  // a bare word is a string: linux, render01
    }
    p_.refs.push_back(std::move(ref));
    return add(Node{NodeKind::Ref, Op::Eq, static_cast<std::uint32_t>(p_.refs.size() - 1), 0,
                    static_cast<std::uint32_t>(t.column - 1), static_cast<std::uint32_t>(t.column - 1 + w.size())});
  }

  template <std::size_t N>
  RefKind lookup(const NamedRef (&table)[N], std::string_view name, const Token& t) const {
    for (const auto& r : table)
      if (r.name == name) return r.kind;
    fail_at(field_, "unknown name '" + std::string(t.source) + "'", t.column);
  }

  Ref host_ref(std::string_view rest, const Token& t) const {
    Ref ref;
    for (const auto& r : kHostRefs)
      if (r.name == rest) {
        ref.kind = r.kind;
        return ref;
      }
    const auto dot = rest.find('.');
    const std::string_view base = rest.substr(0, dot);
    const Field suffix = dot == std::string_view::npos ? Field::Total : field_of(rest.substr(dot + 1));
    for (const auto& r : kHostCounted)
      if (r.name == base) {
        if (suffix == Field::None) fail_at(field_, "unknown name '" + std::string(t.source) + "' (use .total .avail or .used)", t.column);
        ref.kind = r.kind;
        ref.field = suffix;
        return ref;
      }
    if (rest.empty()) fail_at(field_, "unknown name '" + std::string(t.source) + "'", t.column);
    // A property, or a host resource: host.<x> or host.<x>.avail.
    ref.kind = RefKind::HostProperty;
    ref.property = std::string(rest);
    ref.field = dot == std::string_view::npos ? Field::None : field_of(rest.substr(dot + 1));
    ref.resource = "host." + std::string(ref.field == Field::None ? rest : base);
    return ref;
  }

  Expression::Program& p_;
  std::string_view field_;
  expr::Lexer lexer_;
  Token tok_;
};

}  // namespace
}  // namespace program

Expression Expression::parse(std::string_view text, std::string_view field) {
  if (text.size() > kMaxLength)
    fail(field, "longer than " + std::to_string(kMaxLength) + " characters");
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return Expression();
  auto program = std::make_shared<Program>();
  program->text = std::string(text);
  program::Parser parser(*program, field);
  program->root = parser.parse_all();
  Expression e;
  e.program_ = std::move(program);
  return e;
}

// ---------------------------------------------------------------- evaluation

namespace program {
namespace {

// A value during evaluation: it points into the program or the facts, so
// evaluating allocates nothing.
struct Value {
  enum class Kind : std::uint8_t { Number, Text, Texts, Ids } kind = Kind::Text;
  double number = 0;
  std::string_view text;
  const std::vector<std::string>* texts = nullptr;
  const std::vector<JobId>* ids = nullptr;

  static Value num(double d) { return Value{Kind::Number, d, {}, nullptr, nullptr}; }
  static Value str(std::string_view s) { return Value{Kind::Text, 0, s, nullptr, nullptr}; }
  bool is_list() const { return kind == Kind::Texts || kind == Kind::Ids; }
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<double> as_number(const Value& v) {
  if (v.kind == Value::Kind::Number) return v.number;
  if (v.kind != Value::Kind::Text) return std::nullopt;
  const std::string_view s = trim(v.text);
  if (s.empty()) return std::nullopt;
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return d;
}

bool truth(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Number: return v.number != 0;
    case Value::Kind::Text: return truthy(v.text);
    case Value::Kind::Texts: return !v.texts->empty();
    case Value::Kind::Ids: return !v.ids->empty();
  }
  return false;
}

// Calls f(element) for each element of a list value until f returns true.
template <typename F>
bool any_element(const Value& v, F&& f) {
  if (v.kind == Value::Kind::Texts) {
    for (const auto& s : *v.texts)
      if (f(Value::str(s))) return true;
    return false;
  }
  if (v.kind == Value::Kind::Ids) {
    for (JobId id : *v.ids)
      if (f(Value::num(static_cast<double>(id)))) return true;
    return false;
  }
  return f(v);
}

bool scalar_equal(const Value& a, const Value& b) {
  const auto x = as_number(a), y = as_number(b);
  if (x && y) return *x == *y;
  if (a.kind == Value::Kind::Text && b.kind == Value::Kind::Text) return trim(a.text) == trim(b.text);
  return false;
}

// Equality of lists is membership: `host.groups == fx` asks for group fx.
bool equal(const Value& a, const Value& b) {
  return any_element(a, [&](const Value& x) { return any_element(b, [&](const Value& y) { return scalar_equal(x, y); }); });
}

bool ordered(const Value& a, const Value& b, Op op) {
  if (a.is_list() || b.is_list()) return false;
  int c = 0;
  const auto x = as_number(a), y = as_number(b);
  if (x && y) {
    c = *x < *y ? -1 : *x > *y ? 1 : 0;
  } else if (a.kind == Value::Kind::Text && b.kind == Value::Kind::Text) {
    c = trim(a.text).compare(trim(b.text));
  } else {
    return false;
  }
  switch (op) {
    case Op::Lt: return c < 0;
    case Op::Le: return c <= 0;
    case Op::Gt: return c > 0;
    case Op::Ge: return c >= 0;
    default: return false;
  }
}

// `needle in haystack`: a list haystack by membership, a text one as a
// comma-separated list (Qube's), anything else by equality.
bool contained(const Value& needle, const Value& haystack) {
  if (haystack.kind != Value::Kind::Text) return equal(needle, haystack);
  std::string_view rest = haystack.text;
  while (true) {
    const auto comma = rest.find(',');
    if (equal(needle, Value::str(trim(rest.substr(0, comma))))) return true;
    if (comma == std::string_view::npos) return false;
    rest.remove_prefix(comma + 1);
  }
}

bool matches(const Value& v, const std::regex& re) {
  return any_element(v, [&](const Value& x) {
    if (x.kind == Value::Kind::Text) return std::regex_search(x.text.begin(), x.text.end(), re);
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x.number);
    return ec == std::errc() && std::regex_search(buf, end, re);
  });
}

Value counted(Field f, double total, double free) {
  switch (f) {
    case Field::Avail: return Value::num(free);
    case Field::Used: return Value::num(total - free);
    default: return Value::num(total);
  }
}

Value resolve(const Ref& r, const HostFacts& h, const JobFacts& j) {
  switch (r.kind) {
    case RefKind::HostName: return Value::str(h.name);
    case RefKind::HostOs: return Value::str(h.os);
    case RefKind::HostCluster: return Value::str(h.cluster);
    case RefKind::HostState: return Value::str(h.locked ? "locked" : "active");
    case RefKind::HostGroups: return Value{Value::Kind::Texts, 0, {}, &h.groups, nullptr};
    case RefKind::HostJobTypes: return Value{Value::Kind::Texts, 0, {}, &h.jobtypes, nullptr};
    case RefKind::HostDuty: return Value{Value::Kind::Ids, 0, {}, nullptr, &h.duty};
    case RefKind::HostSlots: return counted(r.field, h.slots_total, h.slots_free);
    case RefKind::HostMemory:
      return counted(r.field, static_cast<double>(h.memory_total_mb), static_cast<double>(h.memory_free_mb));
    case RefKind::HostGpus: return counted(r.field, h.gpus_total, h.gpus_free);
    case RefKind::HostProperty: {
      if (r.field == Field::None)
        if (auto p = h.properties.find(r.property); p != h.properties.end()) return Value::str(p->second);
      if (auto res = h.resources.find(r.resource); res != h.resources.end())
        return counted(r.field, static_cast<double>(res->second.total), static_cast<double>(res->second.free()));
      if (auto p = h.properties.find(r.property); p != h.properties.end()) return Value::str(p->second);
      return Value::str({});
    }
    case RefKind::JobId: return Value::num(static_cast<double>(j.id));
    case RefKind::JobName: return Value::str(j.name);
    case RefKind::JobUser: return Value::str(j.user);
    case RefKind::JobType: return Value::str(j.type);
    case RefKind::JobLabel: return Value::str(j.label);
    case RefKind::JobCluster: return Value::str(j.cluster);
    case RefKind::JobPriority: return Value::num(j.priority);
    case RefKind::JobCpus: return Value::num(j.cpus);
    case RefKind::JobPgrp: return Value::num(static_cast<double>(j.pgrp));
    case RefKind::JobPid: return Value::num(static_cast<double>(j.pid));
  }
  return Value::str({});
}

struct Evaluator {
  const Expression::Program& p;
  const HostFacts& host;
  const JobFacts& job;

  Value eval(std::uint32_t i) const {
    const Node& n = p.nodes[i];
    switch (n.kind) {
      case NodeKind::Literal: {
        const Literal& l = p.literals[n.a];
        return l.is_number ? Value::num(l.number) : Value::str(l.text);
      }
      case NodeKind::Ref: return resolve(p.refs[n.a], host, job);
      case NodeKind::Not: return Value::num(!truth(eval(n.a)));
      case NodeKind::Or:
        for (std::uint32_t k = 0; k < n.b; ++k)
          if (truth(eval(p.kids[n.a + k]))) return Value::num(1);
        return Value::num(0);
      case NodeKind::And:
        for (std::uint32_t k = 0; k < n.b; ++k)
          if (!truth(eval(p.kids[n.a + k]))) return Value::num(0);
        return Value::num(1);
      case NodeKind::Compare: return Value::num(compare(n));
    }
    return Value::num(0);
  }

  bool compare(const Node& n) const {
    const Value a = eval(n.a);
    if (n.op == Op::Match) return matches(a, p.regexes[n.b]);
    const Value b = eval(n.b);
    switch (n.op) {
      case Op::Eq: return equal(a, b);
      case Op::Ne: return !equal(a, b);
      case Op::In: return contained(a, b);
      case Op::Has: return contained(b, a);
      default: return ordered(a, b, n.op);
    }
  }
};

}  // namespace
}  // namespace program

bool Expression::evaluate(const HostFacts& host, const JobFacts& job) const {
  if (!program_) return true;
  return program::truth(program::Evaluator{*program_, host, job}.eval(program_->root));
}

std::optional<double> Expression::number(const HostFacts& host, const JobFacts& job) const {
  if (!program_) return std::nullopt;
  return program::as_number(program::Evaluator{*program_, host, job}.eval(program_->root));
}

bool Expression::uses_job() const { return program_ && program_->uses_job; }

const std::string& Expression::text() const {
  static const std::string kEmpty;
  return program_ ? program_->text : kEmpty;
}

std::size_t Expression::conjuncts() const {
  if (!program_) return 0;
  const program::Node& root = program_->nodes[program_->root];
  return root.kind == program::NodeKind::And ? root.b : 1;
}

namespace program {
namespace {
std::uint32_t conjunct_node(const Expression::Program& p, std::size_t i) {
  const Node& root = p.nodes[p.root];
  return root.kind == NodeKind::And ? p.kids[root.a + i] : p.root;
}
}  // namespace
}  // namespace program

std::string_view Expression::conjunct_text(std::size_t i) const {
  const program::Node& n = program_->nodes[program::conjunct_node(*program_, i)];
  return std::string_view(program_->text).substr(n.begin, n.end - n.begin);
}

bool Expression::evaluate_conjunct(std::size_t i, const HostFacts& host, const JobFacts& job) const {
  return program::truth(program::Evaluator{*program_, host, job}.eval(program::conjunct_node(*program_, i)));
}

}  // namespace qube::placement
