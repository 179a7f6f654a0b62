#pragma once
// The jobs that want another instance, indexed so that a host with a free slot
// examines only the jobs that could run on it, best first, instead of every
// pending job.
//
// Jobs are grouped by shape: their JobPlacement::shape (everything placement
// reads of a job but its identity) and their cluster. Shapes are filed by job
// type, by what narrows them to hosts (their --hosts names, else their
// --groups, else "any host") and by cluster, each file sorted by the shape's
// best (growth, priority). A host opens only the files of its job types, its
// name and its groups. Inside a shape, jobs sit in levels by (growth,
// priority), then cells by user, each cell sorted by (rank, id).
//
// A walk merges all this with one heap keyed by OrderKey (order.hpp), lazily:
// a file stands in for its shapes, a shape for its levels, a level for its
// cells, each keyed below everything it holds, and is opened only when the
// walk reaches it. A shape is asked whether it fits the host (the matcher's
// shape rules: one waiting for a GPU, a license or four free slots is skipped
// whole) only then. So a walk costs about (the host's files) + (the shapes
// ahead of the first that fits) + (the cells of the levels it opens), however
// many jobs are pending.
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "placement/host_facts.hpp"
#include "placement/job_placement.hpp"
#include "placement/order.hpp"

namespace qube::placement {

struct PendingJob {
  std::shared_ptr<const JobPlacement> placement;
  std::int64_t rank = 0;  // qb top / qb bottom among equal priority
  bool growth = false;    // it has its --cpus and only grows into idle slots (--max_cpus)
  JobId id() const { return placement->facts.id; }
};

// What the caller decides during a walk. Unset hooks accept everything.
struct CandidateHooks {
  // May jobs of this shape start on the host now? (Matcher, Scope::shape.)
  std::function<bool(const JobPlacement& representative)> shape_fits;
  // May this user start another instance? (RunningLimits.)
  std::function<bool(std::string_view user)> user_fits;
  // The user's fair-share key (FairShare::key).
  std::function<double(std::string_view user)> share;
};

class PendingIndex {
 public:
  class Walk;

  // Adds the job, or replaces it (after qb modify, a priority or rank change,
  // or when it starts growing past --cpus).
  void add(PendingJob job);
  void remove(JobId id);
  const PendingJob* find(JobId id) const;
  std::size_t size() const { return jobs_.size(); }
  std::size_t shapes() const { return shapes_.size(); }

  // Starts `walk` over the jobs that could run on `host`, best first. The walk
  // stays valid until the index changes; start a new one after that.
  void candidates_for(const HostFacts& host, const CandidateHooks& hooks, Walk& walk) const;

 private:
  using Cell = std::map<std::pair<std::int64_t, JobId>, const PendingJob*>;  // by (rank, id)
  using Level = std::map<std::uint32_t, Cell>;                               // by interned user
  using LevelKey = std::pair<bool, int>;                                     // (growth, priority)
  struct Shape;
  // A file of shapes sorted by their best level, then by age.
  struct Filed {
    LevelKey best;
    std::uint64_t serial = 0;
    Shape* shape = nullptr;
    bool operator<(const Filed& o) const { return best != o.best ? best < o.best : serial < o.serial; }
  };
  using File = std::set<Filed>;
  using Files = std::map<std::uint32_t, File>;  // by interned cluster
  struct Shape {
    std::shared_ptr<const JobPlacement> representative;
    std::uint32_t cluster = 0;
    std::uint64_t serial = 0;
    std::map<LevelKey, Level> levels;
    LevelKey best;                  // as filed
    std::vector<Files*> filed_in;   // the Files holding it (under `cluster`)
    std::size_t jobs = 0;
    mutable std::uint64_t walk = 0;  // the last walk that visited it
  };
  struct Entry {
    PendingJob job;
    Shape* shape = nullptr;
    LevelKey level;
    std::uint32_t user = 0;
  };
  struct TypeFiles {
    Files any;
    std::unordered_map<std::string, Files> by_host, by_group;
  };

  std::uint32_t intern(std::unordered_map<std::string, std::uint32_t>& ids, std::vector<std::string>& names,
                       const std::string& s);
  void file(Shape* shape);
  void unfile(Shape* shape);
  void refile(Shape* shape);

  std::unordered_map<JobId, Entry> jobs_;
  std::unordered_map<std::string, Shape> shapes_;  // by JobPlacement::shape + cluster
  std::uint64_t serials_ = 0;
  std::unordered_map<std::string, TypeFiles> files_;  // by job type
  std::unordered_map<std::string, std::uint32_t> cluster_ids_, user_ids_;
  std::vector<std::string> clusters_, users_;
  mutable std::uint64_t walks_ = 0;
};

// One host's candidates, best first. Reuse one Walk for many hosts: it keeps
// its buffers.
class PendingIndex::Walk {
 public:
  // The next candidate, or nullptr when there are no more.
  const PendingJob* next();

  // What the last walk looked at (for the benchmark and debugging).
  std::size_t files = 0, shapes_seen = 0, shapes_fit = 0, cells = 0, yielded = 0;

 private:
  friend class PendingIndex;
  // A file's next shape, a shape's next level, or a cell's next job; the
  // first two are keyed below everything they hold.
  struct Cursor {
    enum class Kind : unsigned char { file, level, cell } kind = Kind::cell;
    OrderKey key;
    File::const_iterator shape, shapes_end;       // file
    std::map<LevelKey, Level>::const_iterator level, levels_end;  // level
    Cell::const_iterator it, end;                 // cell
  };
  void reset(std::size_t clusters, std::size_t users);
  void push(Cursor c);
  void open_file(Cursor c);
  void open_level(Cursor c);
  double share_of(std::uint32_t user);
  const PendingIndex* index_ = nullptr;
  const CandidateHooks* hooks_ = nullptr;
  std::uint64_t walk_ = 0;  // the index's walk number, for shapes filed twice
  std::vector<Cursor> heap_;
  // Per-walk answers by interned cluster / user id; `seen` marks which are set.
  std::vector<std::uint64_t> cluster_seen_, user_seen_;
  std::vector<int> tier_;          // cluster tier, or -1: the host refuses the cluster
  std::vector<double> share_;      // fair-share key, or NaN: the user may not start more
  std::uint64_t stamp_ = 0;
};

}  // namespace qube::placement
