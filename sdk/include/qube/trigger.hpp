#pragma once
// Qube trigger expressions: the `triggers` of a callback.
//
//   expr  := and ( "||" and )*          && binds tighter than ||
//   and   := unit ( "&&" unit )*
//   unit  := atom | "(" expr ")"
//   atom  := NAME "-" TYPE "-" CONTEXT [ "-" EXTRA ]
//
// NAME    submit running complete failed killed done blocked unblocked modified retried
// TYPE    job | work | subjob
// CONTEXT self | a job id (digits) | a label of a job in the same process group
// EXTRA   job: none; work: "*" or an item name ("5", "1-10", "-3"); subjob: "*" or a subid.
//         Everything after the third '-' is the extra, so item names may hold '-';
//         labels therefore cannot (see is_valid_label).
//
// An expression is parsed once (parse_trigger) into an Expr and evaluated many times.
// Evaluation is level-triggered and has two halves:
//   mentions(expr, event, ctx)  the event matches at least one atom: it can change the
//                               outcome, so the callback is a candidate for this event;
//   holds(expr, ctx, state)     the expression is true of the farm as it is now.
// fires() combines them the way the supervisor should: a callback runs for an event when
// the event matches one of its atoms and the expression holds with the atoms the event
// matches counted as true. So `complete-job-12 && complete-job-13` fires on whichever of
// the two completions comes second, exactly once.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "qube/model.hpp"

namespace qube {

// A bad trigger or dependency string. what() is the whole message, e.g.
// "trigger 'complete-jobb-self': unknown type 'jobb' at position 9; expected job, work or subjob";
// position is the 0-based offset of the fault in the text.
struct TriggerError : std::runtime_error {
  TriggerError(const std::string& msg, std::size_t position)
      : std::runtime_error(msg), position(position) {}
  std::size_t position;
};

// Bounds on untrusted input: the text's length and how deeply parentheses nest.
inline constexpr std::size_t kMaxTriggerLength = 1 << 20;  // HQueue parents with many children
inline constexpr int kMaxTriggerDepth = 32;

enum class EventName : std::uint8_t {
  submit, running, complete, failed, killed, done, blocked, unblocked, modified, retried
};
enum class EventType : std::uint8_t { job, work, subjob };

std::string_view to_string(EventName n);
std::string_view to_string(EventType t);
std::optional<EventName> parse_event_name(std::string_view s);
std::optional<EventType> parse_event_type(std::string_view s);

// A label usable in triggers and dependencies: 1 to 255 of [A-Za-z0-9_.], not all
// digits (that would read as a job id), and not "self".
bool is_valid_label(std::string_view label);

// The job an atom names: the callback's own job, a job id, or a label.
struct JobRef {
  enum class Kind : std::uint8_t { self, id, label };
  Kind kind = Kind::self;
  JobId id = 0;        // Kind::id
  std::string label;   // Kind::label
  std::string text() const;  // as written: "self", "12", "render"
  bool operator==(const JobRef&) const = default;
};

struct Atom {
  EventName name = EventName::complete;
  EventType type = EventType::job;
  JobRef job;
  // work: "*" or an item name; subjob: "*" or the subid in decimal; job: empty.
  std::string extra;
  bool any() const { return extra == "*"; }
  std::string text() const;  // canonical form: "complete-work-render-5"
  bool operator==(const Atom&) const = default;
};

// The parsed expression: an atom, or an n-ary && / || over sub-expressions.
struct Expr {
  enum class Op : std::uint8_t { atom, all, any };  // all: &&, any: ||
  Op op = Op::atom;
  Atom atom;                  // Op::atom
  std::vector<Expr> operands; // Op::all, Op::any (two or more)
  std::string text() const;   // canonical form, fully parenthesised where needed
};

// Parses a trigger expression. Throws TriggerError naming the text, what is wrong
// and where, and what was expected.
Expr parse_trigger(std::string_view text);

// Parses one atom alone (no operators), for the dependency parser too. Errors quote
// `whole` as `what` ("trigger '...'", "dependency '...'") with positions counted from
// `offset`, the atom's place in `whole`. With with_extra false the atom is exactly
// name-type-context (dependencies name no item or subid).
Atom parse_atom(std::string_view atom, std::string_view what, std::string_view whole,
                std::size_t offset, bool with_extra = true);

// All atoms of an expression, left to right.
std::vector<const Atom*> atoms_of(const Expr& e);

// Every label the expression names, once each, in first-use order: the supervisor
// checks at submission that each resolves (a trigger on a missing job is an error).
std::vector<std::string> labels_of(const Expr& e);

// ---- Evaluation -------------------------------------------------------------

// Something that happened on the farm. Emit complete/failed/killed; never a separate
// `done` event: atoms named done match those three (an explicit `done` event is matched
// by done atoms only, so emitting both would fire done-callbacks twice).
struct Event {
  EventName name = EventName::complete;
  EventType type = EventType::job;
  JobId job = 0;
  std::string work;          // type work: the item's name
  std::int32_t subid = -1;   // type subjob: the instance's subid
};

// Whose callback is evaluated, and how its labels resolve (labels are unique within
// the job's process group). An unresolvable label makes its atoms false and never
// mentioned.
struct TriggerContext {
  JobId self = 0;
  std::function<std::optional<JobId>(const std::string& label)> resolve;
  std::optional<JobId> job_of(const JobRef& ref) const;
};

// The farm as it is now, as the supervisor knows it. Each answers whether the state
// named by `name` holds now (level, not edge); status_matches() below gives the
// meaning of each name against a status. Names that are edges only (modified,
// retried, unblocked) should answer false: they are true only through the event.
class StateQuery {
 public:
  virtual ~StateQuery() = default;
  virtual bool job(JobId job, EventName name) const = 0;
  // item "*": does any item of the job match? Otherwise the item(s) named, matched
  // with items_overlap (a frame atom "5" against a chunk "1-10").
  virtual bool work(JobId job, std::string_view item, EventName name) const = 0;
  // subid -1: any instance of the job.
  virtual bool subjob(JobId job, std::int32_t subid, EventName name) const = 0;
};

// Level meaning of a name against a current status:
//   submit     always (the job or item exists)
//   running    status running
//   complete   status complete (work: also skipped, i.e. completed by hand with `qb complete`)
//   failed / killed   that status
//   done       any terminal status: complete failed killed (work: also skipped)
//   blocked    status blocked
//   unblocked, modified, retried   never: these are edges, true only through an event
bool status_matches(EventName name, JobStatus status);
bool status_matches(EventName name, WorkStatus status);

// Does the event match the atom? Name (done matches complete/failed/killed events),
// type, job (self, id or resolved label) and extra ("*", the subid, or an item whose
// frames overlap the atom's) must all agree.
bool matches(const Atom& atom, const Event& event, const TriggerContext& ctx);

// The event matches at least one atom of the expression.
bool mentions(const Expr& e, const Event& event, const TriggerContext& ctx);

// The expression holds of the current state.
bool holds(const Expr& e, const TriggerContext& ctx, const StateQuery& state);

// The callback should run for this event: mentions(e, event) and e holds when the
// atoms the event matches count as true and all others are asked of `state`.
bool fires(const Expr& e, const Event& event, const TriggerContext& ctx, const StateQuery& state);

// Item names match when equal, when either is "*", or when both read as Qube frame
// ranges that share a frame ("5" and "1-10"; "1-10x2" and "4" do not). Used for work
// atoms and for frame-by-frame dependencies (chunks map by frame overlap).
bool items_overlap(std::string_view a, std::string_view b);

}  // namespace qube
