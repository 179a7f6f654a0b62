#include "placement/pending_index.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace qube::placement {

std::uint32_t PendingIndex::intern(std::unordered_map<std::string, std::uint32_t>& ids,
                                   std::vector<std::string>& names, const std::string& s) {
  auto [it, fresh] = ids.emplace(s, static_cast<std::uint32_t>(names.size()));
  if (fresh) names.push_back(s);
  return it->second;
}

// ------------------------------------------------------------------ filing

// Files a new shape under its job type and the hosts or groups that narrow it.
void PendingIndex::file(Shape* shape) {
  const JobPlacement& p = *shape->representative;
  TypeFiles& files = files_[p.facts.type];
  if (!p.hosts.empty()) {
    for (const auto& h : p.hosts) shape->filed_in.push_back(&files.by_host[h]);
  } else if (!p.groups.empty()) {
    for (const auto& g : p.groups) shape->filed_in.push_back(&files.by_group[g]);
  } else {
    shape->filed_in.push_back(&files.any);
  }
  shape->best = shape->levels.begin()->first;
  for (Files* f : shape->filed_in) (*f)[shape->cluster].insert(Filed{shape->best, shape->serial, shape});
}

void PendingIndex::unfile(Shape* shape) {
  for (Files* f : shape->filed_in) {
    auto file = f->find(shape->cluster);
    file->second.erase(Filed{shape->best, shape->serial, shape});
    if (file->second.empty()) f->erase(file);
  }
  shape->filed_in.clear();
}

// Keeps the files' order when the shape's best level changed.
void PendingIndex::refile(Shape* shape) {
  const LevelKey best = shape->levels.begin()->first;
  if (best == shape->best) return;
  for (Files* f : shape->filed_in) {
    File& file = (*f)[shape->cluster];
    file.erase(Filed{shape->best, shape->serial, shape});
    file.insert(Filed{best, shape->serial, shape});
  }
  shape->best = best;
}

void PendingIndex::add(PendingJob job) {
  remove(job.id());
  const JobPlacement& p = *job.placement;
  auto [it, fresh] = shapes_.try_emplace(p.shape + '\x1f' + p.facts.cluster);
  Shape* shape = &it->second;
  Entry& e = jobs_[p.facts.id];
  e.job = std::move(job);
  e.shape = shape;
  e.level = LevelKey{e.job.growth, p.facts.priority};
  e.user = intern(user_ids_, users_, p.facts.user);
  shape->levels[e.level][e.user].emplace(std::pair{e.job.rank, p.facts.id}, &e.job);
  ++shape->jobs;
  if (fresh) {
    shape->representative = e.job.placement;
    shape->cluster = intern(cluster_ids_, clusters_, p.facts.cluster);
    shape->serial = ++serials_;
    file(shape);
  } else {
    refile(shape);
  }
}

void PendingIndex::remove(JobId id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  Entry& e = it->second;
  Shape* shape = e.shape;
  // Erase the job, then each container it leaves empty.
  auto level = shape->levels.find(e.level);
  auto cell = level->second.find(e.user);
  cell->second.erase(std::pair{e.job.rank, id});
  if (cell->second.empty()) level->second.erase(cell);
  if (level->second.empty()) shape->levels.erase(level);
  if (--shape->jobs == 0) {
    unfile(shape);
    const JobPlacement& p = *shape->representative;
    const std::string key = p.shape + '\x1f' + p.facts.cluster;  // a copy: the shape owns the original
    shapes_.erase(key);
  } else {
    refile(shape);
  }
  jobs_.erase(it);
}

const PendingJob* PendingIndex::find(JobId id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second.job;
}

// ------------------------------------------------------------------ walking

namespace {
// std heaps keep the greatest first; "greatest" here is the one that goes before().
template <typename C>
bool heap_less(const C& a, const C& b) {
  return before(b.key, a.key);
}
constexpr std::int64_t kLeastRank = std::numeric_limits<std::int64_t>::min();
constexpr double kLeastShare = -std::numeric_limits<double>::infinity();
}  // namespace

void PendingIndex::Walk::reset(std::size_t clusters, std::size_t users) {
  heap_.clear();
  files = shapes_seen = shapes_fit = cells = yielded = 0;
  ++stamp_;
  if (cluster_seen_.size() < clusters) {
    cluster_seen_.resize(clusters, 0);
    tier_.resize(clusters, 0);
  }
  if (user_seen_.size() < users) {
    user_seen_.resize(users, 0);
    share_.resize(users, 0);
  }
}

void PendingIndex::Walk::push(Cursor c) {
  heap_.push_back(std::move(c));
  std::push_heap(heap_.begin(), heap_.end(), heap_less<Cursor>);
}

double PendingIndex::Walk::share_of(std::uint32_t u) {
  if (user_seen_[u] != stamp_) {
    user_seen_[u] = stamp_;
    const std::string& user = index_->users_[u];
    share_[u] = hooks_->user_fits && !hooks_->user_fits(user) ? std::nan("")  // capped: skip the user
                : hooks_->share                                ? hooks_->share(user)
                                                               : 0.0;
  }
  return share_[u];
}

// The file's next shape: asked whether it fits, then stands in for its levels.
void PendingIndex::Walk::open_file(Cursor c) {
  const Shape* shape = c.shape->shape;
  if (++c.shape != c.shapes_end) {
    Cursor rest = c;
    rest.key.growth = c.shape->best.first;
    rest.key.priority = c.shape->best.second;
    push(std::move(rest));
  }
  if (shape->walk == walk_) return;  // filed under two of the host's groups
  shape->walk = walk_;
  ++shapes_seen;
  if (hooks_->shape_fits && !hooks_->shape_fits(*shape->representative)) return;
  ++shapes_fit;
  Cursor level;
  level.kind = Cursor::Kind::level;
  level.level = shape->levels.begin();
  level.levels_end = shape->levels.end();
  level.key = OrderKey{level.level->first.first, c.key.cluster_tier, level.level->first.second, kLeastRank, kLeastShare, 0};
  push(std::move(level));
}

// A level's cells, one per user, and a stand-in for the shape's next level.
void PendingIndex::Walk::open_level(Cursor c) {
  for (const auto& [user, cell] : c.level->second) {
    const double share = share_of(user);
    if (std::isnan(share)) continue;
    Cursor cc;
    cc.kind = Cursor::Kind::cell;
    cc.key = c.key;
    cc.key.rank = cell.begin()->first.first;
    cc.key.share = share;
    cc.key.id = cell.begin()->first.second;
    cc.it = cell.begin();
    cc.end = cell.end();
    push(std::move(cc));
    ++cells;
  }
  if (++c.level != c.levels_end) {
    c.key.growth = c.level->first.first;
    c.key.priority = c.level->first.second;
    push(std::move(c));
  }
}

void PendingIndex::candidates_for(const HostFacts& host, const CandidateHooks& hooks, Walk& walk) const {
  walk.reset(clusters_.size(), users_.size());
  walk.index_ = this;
  walk.hooks_ = &hooks;
  walk.walk_ = ++walks_;

  auto tier_of = [&](std::uint32_t c) {
    if (walk.cluster_seen_[c] != walk.stamp_) {
      walk.cluster_seen_[c] = walk.stamp_;
      walk.tier_[c] = host.restrictions.allows(clusters_[c]) ? cluster_tier(host.cluster, clusters_[c]) : -1;
    }
    return walk.tier_[c];
  };
  auto open = [&](const Files& files) {
    for (const auto& [cluster, file] : files) {
      const int tier = tier_of(cluster);
      if (tier < 0) continue;  // the host's restrictions refuse the cluster
      Walk::Cursor c;
      c.kind = Walk::Cursor::Kind::file;
      c.shape = file.begin();
      c.shapes_end = file.end();
      c.key = OrderKey{file.begin()->best.first, tier, file.begin()->best.second, kLeastRank, kLeastShare, 0};
      walk.heap_.push_back(std::move(c));
      ++walk.files;
    }
  };
  for (const auto& type : host.jobtypes) {
    auto f = files_.find(type);
    if (f == files_.end()) continue;
    const TypeFiles& files = f->second;
    open(files.any);
    if (auto h = files.by_host.find(host.name); h != files.by_host.end()) open(h->second);
    for (const auto& g : host.groups)
      if (auto it = files.by_group.find(g); it != files.by_group.end()) open(it->second);
  }
  std::make_heap(walk.heap_.begin(), walk.heap_.end(), heap_less<Walk::Cursor>);
}

const PendingJob* PendingIndex::Walk::next() {
  while (!heap_.empty()) {
    std::pop_heap(heap_.begin(), heap_.end(), heap_less<Cursor>);
    Cursor c = std::move(heap_.back());
    heap_.pop_back();
    switch (c.kind) {
      case Cursor::Kind::file: open_file(std::move(c)); continue;
      case Cursor::Kind::level: open_level(std::move(c)); continue;
      case Cursor::Kind::cell: break;
    }
    const PendingJob* job = c.it->second;
    if (++c.it != c.end) {
      c.key.rank = c.it->first.first;
      c.key.id = c.it->first.second;
      push(std::move(c));
    }
    ++yielded;
    return job;
  }
  return nullptr;
}

}  // namespace qube::placement
