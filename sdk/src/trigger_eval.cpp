// Evaluating parsed trigger expressions against events and the farm's state
// (level-triggered; see trigger.hpp for the contract).
#include <cstdlib>
#include <numeric>

#include "qube/range.hpp"
#include "qube/trigger.hpp"

namespace qube {

namespace {

// A run as an ascending arithmetic set {lo, lo+step, ..., hi}.
struct Span {
  Frame lo, hi, step;
};

Span span_of(const FrameRun& r) {
  const Frame end = r.at(r.count() - 1);
  return Span{std::min(r.first, end), std::max(r.first, end), std::llabs(r.step)};
}

// Do two arithmetic sets share a frame? Walks the one with the larger step through
// the common window; its residues modulo the smaller step repeat within that many
// steps, so the walk is bounded by the smaller step (and by the window).
bool spans_overlap(Span a, Span b) {
  if (a.step < b.step) std::swap(a, b);
  const Frame lo = std::max(a.lo, b.lo), hi = std::min(a.hi, b.hi);
  if (lo > hi) return false;
  Frame f = a.lo + (lo - a.lo + a.step - 1) / a.step * a.step;  // a's first frame >= lo
  for (Frame n = 0; n < b.step && f <= hi; ++n, f += a.step)
    if ((f - b.lo) % b.step == 0) return true;
  return false;
}

std::optional<std::vector<FrameRun>> runs_of(std::string_view name) {
  try {
    return parse_range(name);
  } catch (const RangeError&) {
    return std::nullopt;
  }
}

bool name_matches(EventName atom, EventName event) {
  if (atom == event) return true;
  return atom == EventName::done &&
         (event == EventName::complete || event == EventName::failed || event == EventName::killed);
}

std::int32_t subid_of(const Atom& a) { return a.any() ? -1 : std::atoi(a.extra.c_str()); }

// The one evaluator behind holds() and fires(): `leaf` decides each atom.
template <typename Leaf>
bool eval(const Expr& e, const Leaf& leaf) {
  switch (e.op) {
    case Expr::Op::atom: return leaf(e.atom);
    case Expr::Op::all:
      for (const auto& o : e.operands)
        if (!eval(o, leaf)) return false;
      return true;
    case Expr::Op::any:
      for (const auto& o : e.operands)
        if (eval(o, leaf)) return true;
      return false;
  }
  return false;
}

bool atom_holds(const Atom& a, const TriggerContext& ctx, const StateQuery& state) {
  const auto job = ctx.job_of(a.job);
  if (!job) return false;
  switch (a.type) {
    case EventType::job: return state.job(*job, a.name);
    case EventType::work: return state.work(*job, a.extra, a.name);
    case EventType::subjob: return state.subjob(*job, subid_of(a), a.name);
  }
  return false;
}

}  // namespace

std::optional<JobId> TriggerContext::job_of(const JobRef& ref) const {
  switch (ref.kind) {
    case JobRef::Kind::self: return self;
    case JobRef::Kind::id: return ref.id;
    case JobRef::Kind::label: return resolve ? resolve(ref.label) : std::nullopt;
  }
  return std::nullopt;
}

bool status_matches(EventName name, JobStatus s) {
  switch (name) {
    case EventName::submit: return true;
    case EventName::running: return s == JobStatus::running;
    case EventName::complete: return s == JobStatus::complete;
    case EventName::failed: return s == JobStatus::failed;
    case EventName::killed: return s == JobStatus::killed;
    case EventName::done: return is_terminal(s);
    case EventName::blocked: return s == JobStatus::blocked;
    case EventName::unblocked:
    case EventName::modified:
    case EventName::retried: return false;
  }
  return false;
}

bool status_matches(EventName name, WorkStatus s) {
  switch (name) {
    case EventName::submit: return true;
    case EventName::running: return s == WorkStatus::running;
    case EventName::complete: return s == WorkStatus::complete || s == WorkStatus::skipped;
    case EventName::failed: return s == WorkStatus::failed;
    case EventName::killed: return s == WorkStatus::killed;
    case EventName::done: return is_terminal(s);
    case EventName::blocked: return s == WorkStatus::blocked;
    case EventName::unblocked:
    case EventName::modified:
    case EventName::retried: return false;
  }
  return false;
}

bool items_overlap(std::string_view a, std::string_view b) {
  if (a == b || a == "*" || b == "*") return true;
  const auto ra = runs_of(a), rb = runs_of(b);
  if (!ra || !rb) return false;
  for (const auto& x : *ra)
    for (const auto& y : *rb)
      if (spans_overlap(span_of(x), span_of(y))) return true;
  return false;
}

bool matches(const Atom& a, const Event& ev, const TriggerContext& ctx) {
  if (a.type != ev.type || !name_matches(a.name, ev.name)) return false;
  const auto job = ctx.job_of(a.job);
  if (!job || *job != ev.job) return false;
  switch (a.type) {
    case EventType::job: return true;
    case EventType::work: return items_overlap(a.extra, ev.work);
    case EventType::subjob: return a.any() || subid_of(a) == ev.subid;
  }
  return false;
}

bool mentions(const Expr& e, const Event& ev, const TriggerContext& ctx) {
  for (const Atom* a : atoms_of(e))
    if (matches(*a, ev, ctx)) return true;
  return false;
}

bool holds(const Expr& e, const TriggerContext& ctx, const StateQuery& state) {
  return eval(e, [&](const Atom& a) { return atom_holds(a, ctx, state); });
}

bool fires(const Expr& e, const Event& ev, const TriggerContext& ctx, const StateQuery& state) {
  if (!mentions(e, ev, ctx)) return false;
  return eval(e, [&](const Atom& a) { return matches(a, ev, ctx) || atom_holds(a, ctx, state); });
}

}  // namespace qube
