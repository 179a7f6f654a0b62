#pragma once
// Tokens of Qube's requirements language. Operators have a symbol and a word
// form (Qube accepts both so shell users can avoid '>' and '&'):
//   ==  =  eq    !=  <>  ne    <  lt   <=  le   >  gt   >=  ge
//   &&  and      ||  or        !  not  in   has  =~ (regular expression)
// Operands: numbers (-12, 1.5), quoted strings ('a b' or "a b", \ escapes the
// quote), and words: host.* / job.* references or bare words read as strings
// (linux, render01, /show/seq). Columns count bytes from 1.
#include <cstddef>
#include <string>
#include <string_view>

namespace qube::placement::expr {

enum class Op : unsigned char { Or, And, Not, Eq, Ne, Lt, Le, Gt, Ge, In, Has, Match };

enum class TokenKind : unsigned char { End, Number, String, Word, LParen, RParen, Operator };

struct Token {
  TokenKind kind = TokenKind::End;
  Op op = Op::Eq;            // for Operator
  std::size_t column = 1;    // where it starts
  std::string_view source;   // its text as written
  std::string text;          // String: unescaped contents; Word: the word
  double number = 0;         // Number
};

// Cuts `source` into tokens one at a time. Errors throw PlacementError naming `field`.
class Lexer {
 public:
  Lexer(std::string_view source, std::string_view field) : src_(source), field_(field) {}
  Token next();

 private:
  Token lex_string(std::size_t start);
  Token lex_number(std::size_t start);
  Token lex_word(std::size_t start);
  std::string_view src_;
  std::string_view field_;
  std::size_t pos_ = 0;
};

// The text a person would recognise for an operator: "==", "&&", "in".
std::string_view op_name(Op op);

}  // namespace qube::placement::expr
