// Parsing Qube trigger expressions into an Expr (evaluation: trigger_eval.cpp).
// A hand-written recursive-descent parser: it recurses only at '(' and stops at
// kMaxTriggerDepth, so hostile input cannot exhaust the stack.
#include "qube/trigger.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace qube {

namespace {

constexpr std::array<std::string_view, 10> kNames = {
    "submit", "running", "complete", "failed", "killed",
    "done",   "blocked", "unblocked", "modified", "retried"};
constexpr std::array<std::string_view, 3> kTypes = {"job", "work", "subjob"};
constexpr const char* kNameList =
    "submit, running, complete, failed, killed, done, blocked, unblocked, modified or retried";

[[noreturn]] void fail(std::string_view what, std::string_view whole, const std::string& detail,
                       std::size_t pos, std::string_view expected = {}) {
  std::string msg = std::string(what) + " '" + std::string(whole) + "': " + detail +
                    " at position " + std::to_string(pos);
  if (!expected.empty()) msg += "; expected " + std::string(expected);
  throw TriggerError(msg, pos);
}

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '.';
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Parses decimal digits into T; nullopt if not all digits or out of range.
template <typename T>
std::optional<T> parse_number(std::string_view s) {
  if (!all_digits(s)) return std::nullopt;
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

JobRef parse_context(std::string_view ctx, std::string_view what, std::string_view whole,
                     std::size_t pos) {
  constexpr const char* expected = "self, a job id or a label";
  if (ctx.empty()) fail(what, whole, "missing context", pos, expected);
  JobRef ref;
  if (ctx == "self") return ref;
  if (all_digits(ctx)) {
    auto id = parse_number<JobId>(ctx);
    if (!id || *id == 0) fail(what, whole, "job id '" + std::string(ctx) + "' out of range", pos);
    ref.kind = JobRef::Kind::id;
    ref.id = *id;
    return ref;
  }
  if (!is_valid_label(ctx))
    fail(what, whole, "invalid context '" + std::string(ctx) + "'", pos,
         "self, a job id or a label (letters, digits, '_' and '.')");
  ref.kind = JobRef::Kind::label;
  ref.label = std::string(ctx);
  return ref;
}

// The extra field of a work or subjob atom; `pos` is where it starts.
std::string parse_extra(const Atom& a, std::string_view extra, std::string_view what,
                        std::string_view whole, std::size_t pos) {
  if (a.type == EventType::work) {
    if (extra.empty())
      fail(what, whole, "missing work item", pos, "'*' or an item name such as 5 or 1-10");
    return std::string(extra);
  }
  if (extra.empty()) fail(what, whole, "missing subjob", pos, "'*' or a subjob id");
  if (extra != "*" && !parse_number<std::int32_t>(extra))
    fail(what, whole, "invalid subjob '" + std::string(extra) + "'", pos,
         "'*' or a subjob id (digits)");
  return std::string(extra);
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Expr parse() {
    skip_space();
    if (at_end()) fail("empty expression", pos_, "an atom such as complete-job-self");
    Expr e = parse_or(0);
    skip_space();
    if (!at_end()) {
      if (text_[pos_] == ')') fail("unmatched ')'", pos_);
      fail("unexpected " + token_at(pos_), pos_, "'&&', '||' or the end");
    }
    return e;
  }

 private:
  [[noreturn]] void fail(const std::string& detail, std::size_t pos, std::string_view expected = {}) {
    qube::fail("trigger", text_, detail, pos, expected);
  }

  bool at_end() const { return pos_ >= text_.size(); }
  void skip_space() {
    while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
                         text_[pos_] == '\r'))
      ++pos_;
  }
  static bool is_atom_char(char c) {
    return !(c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == ')' ||
             c == '&' || c == '|');
  }
  // The token at `p` quoted, for error messages: an operator, a parenthesis, an atom
  // or "the end".
  std::string token_at(std::size_t p) const {
    if (p >= text_.size()) return "the end";
    std::size_t n = 1;
    if (text_.compare(p, 2, "&&") == 0 || text_.compare(p, 2, "||") == 0) n = 2;
    else if (is_atom_char(text_[p]))
      while (p + n < text_.size() && is_atom_char(text_[p + n])) ++n;
    return std::string("'").append(text_.substr(p, n)).append("'");
  }

  // Consumes `op` ("&&" or "||") if it comes next; a lone '&' or '|' is an error.
  bool accept(std::string_view op) {
    skip_space();
    if (at_end() || text_[pos_] != op[0]) return false;
    if (text_.compare(pos_, 2, op) != 0) fail("lone '" + std::string(1, op[0]) + "'", pos_, "'" + std::string(op) + "'");
    pos_ += 2;
    return true;
  }

  // Joins operands under `op`, flattening nested operands of the same op.
  static Expr join(Expr::Op op, std::vector<Expr> parts) {
    if (parts.size() == 1) return std::move(parts.front());
    Expr e;
    e.op = op;
    for (auto& p : parts) {
      if (p.op == op) {
        for (auto& q : p.operands) e.operands.push_back(std::move(q));
      } else {
        e.operands.push_back(std::move(p));
      }
    }
    return e;
  }

  Expr parse_or(int depth) {
    std::vector<Expr> parts;
    parts.push_back(parse_and(depth));
    while (accept("||")) parts.push_back(parse_and(depth));
    return join(Expr::Op::any, std::move(parts));
  }

  Expr parse_and(int depth) {
    std::vector<Expr> parts;
    parts.push_back(parse_unit(depth));
    while (accept("&&")) parts.push_back(parse_unit(depth));
    return join(Expr::Op::all, std::move(parts));
  }

  Expr parse_unit(int depth) {
    skip_space();
    if (at_end() || !(text_[pos_] == '(' || is_atom_char(text_[pos_])))
      fail("found " + token_at(pos_), pos_, "an atom or '('");
    if (text_[pos_] == '(') {
      if (depth >= kMaxTriggerDepth)
        fail("parentheses nested deeper than " + std::to_string(kMaxTriggerDepth), pos_);
      const std::size_t open = pos_++;
      Expr inner = parse_or(depth + 1);
      skip_space();
      // Only the end can be here: anything else stopped parse_or with an error.
      if (at_end() || text_[pos_] != ')') fail("unclosed '('", open, "a matching ')'");
      ++pos_;
      return inner;
    }
    const std::size_t start = pos_;
    while (!at_end() && is_atom_char(text_[pos_])) ++pos_;
    Expr e;
    e.atom = parse_atom(text_.substr(start, pos_ - start), "trigger", text_, start);
    // Two atoms side by side: the user forgot an operator.
    skip_space();
    if (!at_end() && (is_atom_char(text_[pos_]) || text_[pos_] == '('))
      fail("unexpected " + token_at(pos_), pos_,
           depth > 0 ? "'&&', '||' or ')'" : "'&&', '||' or the end");
    return e;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string_view to_string(EventName n) { return kNames[static_cast<std::size_t>(n)]; }
std::string_view to_string(EventType t) { return kTypes[static_cast<std::size_t>(t)]; }

std::optional<EventName> parse_event_name(std::string_view s) {
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == s) return static_cast<EventName>(i);
  return std::nullopt;
}

std::optional<EventType> parse_event_type(std::string_view s) {
  for (std::size_t i = 0; i < kTypes.size(); ++i)
    if (kTypes[i] == s) return static_cast<EventType>(i);
  return std::nullopt;
}

bool is_valid_label(std::string_view label) {
  if (label.empty() || label.size() > 255 || label == "self" || all_digits(label)) return false;
  return std::all_of(label.begin(), label.end(), is_label_char);
}

std::string JobRef::text() const {
  switch (kind) {
    case Kind::self: return "self";
    case Kind::id: return std::to_string(id);
    case Kind::label: return label;
  }
  return {};
}

std::string Atom::text() const {
  std::string s = std::string(to_string(name)) + "-" + std::string(to_string(type)) + "-" + job.text();
  if (!extra.empty()) s += "-" + extra;
  return s;
}

std::string Expr::text() const {
  if (op == Op::atom) return atom.text();
  std::string s;
  for (const auto& o : operands) {
    if (!s.empty()) s += op == Op::all ? " && " : " || ";
    // An || inside an && needs its parentheses; && inside || does not.
    const bool paren = op == Op::all && o.op == Op::any;
    if (paren) s.append("(").append(o.text()).append(")");
    else s += o.text();
  }
  return s;
}

Atom parse_atom(std::string_view atom, std::string_view what, std::string_view whole,
                std::size_t offset, bool with_extra) {
  // Fields are split at the first three '-'; the rest (which may hold '-') is the extra.
  std::array<std::size_t, 3> dash{};
  std::size_t found = 0;
  for (std::size_t i = 0; i < atom.size() && found < 3; ++i)
    if (atom[i] == '-') dash[found++] = i;
  const std::string_view shape = with_extra ? "name-type-context such as complete-job-self"
                                            : "name-type-context such as complete-job-12";
  if (found < 2) fail(what, whole, "incomplete atom '" + std::string(atom) + "'", offset, shape);

  Atom a;
  const std::string_view name = atom.substr(0, dash[0]);
  auto n = parse_event_name(name);
  if (!n) fail(what, whole, "unknown event '" + std::string(name) + "'", offset, kNameList);
  a.name = *n;

  const std::string_view type = atom.substr(dash[0] + 1, dash[1] - dash[0] - 1);
  auto t = parse_event_type(type);
  if (!t)
    fail(what, whole, "unknown type '" + std::string(type) + "'", offset + dash[0] + 1,
         "job, work or subjob");
  a.type = *t;

  const std::size_t ctx_end = found == 3 ? dash[2] : atom.size();
  a.job = parse_context(atom.substr(dash[1] + 1, ctx_end - dash[1] - 1), what, whole,
                        offset + dash[1] + 1);

  if (found < 3) {
    if (with_extra && a.type != EventType::job)
      parse_extra(a, {}, what, whole, offset + atom.size());  // throws: item or subid missing
    return a;
  }
  const std::size_t extra_pos = offset + dash[2];
  if (!with_extra)
    fail(what, whole, "unexpected '" + std::string(atom.substr(dash[2])) + "'", extra_pos,
         "the end of the dependency after its job id or label (labels cannot hold '-')");
  if (a.type == EventType::job)
    fail(what, whole, "unexpected '" + std::string(atom.substr(dash[2])) + "'", extra_pos,
         "nothing after a job atom's context (labels cannot hold '-')");
  a.extra = parse_extra(a, atom.substr(dash[2] + 1), what, whole, extra_pos + 1);
  return a;
}

Expr parse_trigger(std::string_view text) {
  if (text.size() > kMaxTriggerLength)
    throw TriggerError("trigger is longer than " + std::to_string(kMaxTriggerLength) + " characters",
                       kMaxTriggerLength);
  return Parser(text).parse();
}

std::vector<const Atom*> atoms_of(const Expr& e) {
  std::vector<const Atom*> out;
  // Iterative walk: depth is bounded by the parser, but no need to rely on it.
  std::vector<const Expr*> stack{&e};
  while (!stack.empty()) {
    const Expr* x = stack.back();
    stack.pop_back();
    if (x->op == Expr::Op::atom) {
      out.push_back(&x->atom);
    } else {
      for (auto it = x->operands.rbegin(); it != x->operands.rend(); ++it) stack.push_back(&*it);
    }
  }
  return out;
}

std::vector<std::string> labels_of(const Expr& e) {
  std::vector<std::string> out;
  for (const Atom* a : atoms_of(e))
    if (a->job.kind == JobRef::Kind::label &&
        std::find(out.begin(), out.end(), a->job.label) == out.end())
      out.push_back(a->job.label);
  return out;
}

}  // namespace qube
