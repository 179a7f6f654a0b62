#include "placement/expression_lexer.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <utility>

#include "placement/error.hpp"

namespace qube::placement::expr {

namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool word_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '/'; }
bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '/' || c == '-' || c == ':';
}

// Symbolic operators, longest first so "<=" wins over "<".
constexpr std::array<std::pair<std::string_view, Op>, 12> kSymbols{{
    {"==", Op::Eq}, {"!=", Op::Ne}, {"<>", Op::Ne}, {"<=", Op::Le}, {">=", Op::Ge}, {"&&", Op::And},
    {"||", Op::Or}, {"=~", Op::Match}, {"=", Op::Eq}, {"<", Op::Lt}, {">", Op::Gt}, {"!", Op::Not},
}};

constexpr std::array<std::pair<std::string_view, Op>, 11> kWords{{
    {"eq", Op::Eq}, {"ne", Op::Ne}, {"lt", Op::Lt}, {"le", Op::Le}, {"gt", Op::Gt}, {"ge", Op::Ge},
    {"and", Op::And}, {"or", Op::Or}, {"not", Op::Not}, {"in", Op::In}, {"has", Op::Has},
}};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  return true;
}

}  // namespace

std::string_view op_name(Op op) {
  switch (op) {
    case Op::Or: return "||";
    case Op::And: return "&&";
    case Op::Not: return "not";
    case Op::Eq: return "==";
    case Op::Ne: return "!=";
    case Op::Lt: return "<";
    case Op::Le: return "<=";
    case Op::Gt: return ">";
    case Op::Ge: return ">=";
    case Op::In: return "in";
    case Op::Has: return "has";
    case Op::Match: return "=~";
  }
  return "?";
}

Token Lexer::next() {
  while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
  Token t;
  t.column = pos_ + 1;
  if (pos_ == src_.size()) return t;
  const std::size_t start = pos_;
  const char c = src_[pos_];
  if (c == '(' || c == ')') {
    t.kind = c == '(' ? TokenKind::LParen : TokenKind::RParen;
    t.source = src_.substr(pos_++, 1);
    return t;
  }
  if (c == '"' || c == '\'') return lex_string(start);
  if (is_digit(c) || ((c == '-' || c == '.') && pos_ + 1 < src_.size() && is_digit(src_[pos_ + 1])))
    return lex_number(start);
  if (word_start(c)) return lex_word(start);
  for (const auto& [sym, op] : kSymbols) {
    if (src_.substr(pos_, sym.size()) == sym) {
      t.kind = TokenKind::Operator;
      t.op = op;
      t.source = src_.substr(pos_, sym.size());
      pos_ += sym.size();
      return t;
    }
  }
  if (c == '&' || c == '|')
    fail_at(field_, std::string("unexpected '") + c + "' (write " + c + c + ")", t.column);
  fail_at(field_, std::string("unexpected character '") + c + "'", t.column);
}

Token Lexer::lex_string(std::size_t start) {
  const char quote = src_[pos_++];
  Token t;
  t.kind = TokenKind::String;
  t.column = start + 1;
  while (pos_ < src_.size() && src_[pos_] != quote) {
    if (src_[pos_] == '\\' && pos_ + 1 < src_.size()) ++pos_;
    t.text += src_[pos_++];
  }
  if (pos_ == src_.size()) fail_at(field_, "unterminated string", t.column);
  ++pos_;
  t.source = src_.substr(start, pos_ - start);
  return t;
}

Token Lexer::lex_number(std::size_t start) {
  // Take the whole run a person would see as one word, so "16000MB" is one bad
  // number rather than a number followed by a surprising word.
  if (src_[pos_] == '-') ++pos_;
  while (pos_ < src_.size() && word_char(src_[pos_])) ++pos_;
  Token t;
  t.kind = TokenKind::Number;
  t.column = start + 1;
  t.source = src_.substr(start, pos_ - start);
  const char* first = t.source.data();
  const char* last = first + t.source.size();
  auto [end, ec] = std::from_chars(first, last, t.number);
  if (ec != std::errc() || end != last) fail_at(field_, "invalid number '" + std::string(t.source) + "'", t.column);
  return t;
}

Token Lexer::lex_word(std::size_t start) {
  while (pos_ < src_.size() && word_char(src_[pos_])) ++pos_;
  Token t;
  t.column = start + 1;
  t.source = src_.substr(start, pos_ - start);
  for (const auto& [word, op] : kWords) {
    if (iequals(t.source, word)) {
      t.kind = TokenKind::Operator;
      t.op = op;
      return t;
    }
  }
  t.kind = TokenKind::Word;
  t.text = std::string(t.source);
  return t;
}

}  // namespace qube::placement::expr
