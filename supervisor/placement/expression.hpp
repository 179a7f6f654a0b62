#pragma once
// Qube's requirements language (`--requirements`): a boolean expression over
// `host.*` and `job.*`, e.g.
//   host.os == linux && host.memory.avail >= 16000
//   not (job.id in host.duty.id)          one instance per host
//   host.name =~ "^render[0-9]+$"         a regular expression (ECMAScript)
// Operators and operands are listed in expression_lexer.hpp. Precedence, low
// to high: or, and, not, comparisons (== != < <= > >= in has =~), operands;
// parentheses group. Comparisons are numeric when both sides read as numbers,
// else textual. Lists (host.groups, host.jobtypes, host.duty.id) compare by
// membership: `host.groups == fx` and `fx in host.groups` and
// `host.groups has fx` all ask whether the host is in group fx; a quoted
// string on the right of `in` is a comma-separated list ("a,b,c").
//
// References (what a host reports, see host_facts.hpp):
//   host.name host.os host.cluster host.state(active|locked)
//   host.groups host.jobtypes host.duty (= host.duty.id)
//   host.processors host.memory host.gpu, each with .total (the default)
//     .avail (= .free) .used; memory in MB
//   host.<x>: the property x, else the host resource host.<x> (.total .avail .used)
//   job.id job.name job.user job.type (= job.prototype) job.label job.cluster
//   job.priority job.cpus job.pgrp job.pid
// A property a host does not have reads as the empty string (false).
//
// Parsed once, at submission, into a flat program; evaluation allocates nothing
// (but `=~`: std::regex may allocate while matching) and its recursion is
// bounded by kMaxDepth.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "placement/host_facts.hpp"
#include "placement/job_facts.hpp"

namespace qube::placement {

class Expression {
 public:
  static constexpr std::size_t kMaxLength = 4096;
  static constexpr int kMaxDepth = 32;  // nested parentheses and `not`s

  Expression() = default;  // no requirement: true everywhere
  // Throws PlacementError "<field>: unexpected ')' at column 17".
  static Expression parse(std::string_view text, std::string_view field = "requirements");

  bool empty() const { return program_ == nullptr; }
  bool evaluate(const HostFacts& host, const JobFacts& job) const;
  // Its value as a number (an expression that is one reference, such as a
  // --hostorder key: host.memory.avail); nullopt when it does not read as one.
  std::optional<double> number(const HostFacts& host, const JobFacts& job) const;
  // Whether it reads job.*: then two jobs with the same text may differ on one host.
  bool uses_job() const;
  const std::string& text() const;

  // The top-level `&&` parts (one when there is no top-level `&&`), as
  // written, so an explanation can name the part no host satisfies.
  std::size_t conjuncts() const;
  std::string_view conjunct_text(std::size_t i) const;
  bool evaluate_conjunct(std::size_t i, const HostFacts& host, const JobFacts& job) const;

  struct Program;  // defined in expression.cpp

 private:
  std::shared_ptr<const Program> program_;  // immutable, so copies share it
};

}  // namespace qube::placement
