#pragma once
// Qube's clusters: every host and every job belongs to one cluster, a path such
// as /show/seq. A host prefers jobs of its own cluster, then of clusters below
// it, then those further up the tree (cluster_tier). Restrictions filter by
// cluster: a job's restrictions name the clusters of hosts it may run on, a
// host's restrictions the clusters of jobs it accepts.
//
// Restriction syntax (Qube's): terms joined by `||`, `or` or `,`:
//   /a/b     exactly /a/b
//   /a/b/+   /a/b and every cluster below it
//   /a/b/*   the clusters one level below /a/b (not /a/b itself)
#include <string>
#include <string_view>
#include <vector>

namespace qube::placement {

// "" -> "/", "/a/b/" -> "/a/b". Throws PlacementError (naming `field`) for a
// path that does not start with '/' or has an empty segment.
std::string normalize_cluster(std::string_view path, std::string_view field = "cluster");

// Number of segments: "/" is 0, "/a/b" is 2. Expects a normalized path.
int cluster_depth(std::string_view path);

// True if `path` is `ancestor` or lies below it. Both normalized.
bool cluster_within(std::string_view ancestor, std::string_view path);

// How far a job's cluster is from a host's, in the order the host prefers them:
// 0 the host's own cluster, 1 below it, then for each step up the tree (2*up)
// for the ancestor itself and (2*up+1) for its other branches. So a host in
// /a/b ranks /a/b=0, /a/b/c=1, /a=2, /a/x=3, /=4, /y=5.
int cluster_tier(std::string_view host_cluster, std::string_view job_cluster);

class ClusterRestriction {
 public:
  ClusterRestriction() = default;
  // Throws PlacementError "<field>: ... at column N".
  static ClusterRestriction parse(std::string_view text, std::string_view field = "restrictions");

  bool empty() const { return terms_.empty(); }
  // True when empty (no restriction) or a term allows the (normalized) cluster.
  bool allows(std::string_view cluster) const;
  const std::string& text() const { return text_; }

 private:
  enum class Reach : unsigned char { exact, subtree, children };
  struct Term {
    std::string path;
    Reach reach = Reach::exact;
  };
  std::vector<Term> terms_;
  std::string text_;
};

}  // namespace qube::placement
