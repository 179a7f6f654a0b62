#pragma once
// A store that cannot write (a full disk: SQLITE_FULL, ENOSPC; any failed
// commit) is an episode, not a crash: the supervisor keeps what it could not
// store in memory, refuses changes, and writes it all once the store takes
// writes again (docs/operations.md, "When the disk fills up"). This class is the
// episode's bookkeeping: when to try again, what to tell clients, and logging
// once per episode rather than once per round.
#include <optional>
#include <string>

namespace qube::supervisor {

class StoreOutage {
 public:
  // `where`: the data directory, named in the log and in refusals.
  explicit StoreOutage(std::string where, double retry_every = 1.0)
      : where_(std::move(where)), retry_every_(retry_every) {}

  bool active() const { return since_.has_value(); }
  // A write failed at `now` (steady seconds). True when this begins an episode.
  bool failed(double now, const std::string& why);
  // A write succeeded at `now`: ends the episode, if one was going on.
  void recovered(double now);
  // Whether to try writing again: at once when healthy, then once a `retry_every`.
  bool due(double now) const { return !since_ || now >= next_try_; }
  // The error a client gets for a change refused while the store cannot write.
  std::string refusal() const;

 private:
  std::string where_;
  double retry_every_;
  std::optional<double> since_;
  double next_try_ = 0;
  std::string why_;
  int failures_ = 0;  // attempts failed in this episode
};

}  // namespace qube::supervisor
