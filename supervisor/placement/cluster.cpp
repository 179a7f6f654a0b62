#include "placement/cluster.hpp"

#include <cctype>

#include "placement/error.hpp"

namespace qube::placement {

std::string normalize_cluster(std::string_view path, std::string_view field) {
  if (path.empty()) return "/";
  if (path.front() != '/') fail(field, "a cluster is a path starting with '/', not '" + std::string(path) + "'");
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path.find("//") != std::string_view::npos)
    fail(field, "empty segment in cluster '" + std::string(path) + "'");
  return std::string(path);
}

int cluster_depth(std::string_view path) {
  if (path.size() <= 1) return 0;
  int depth = 0;
  for (char c : path) depth += c == '/';
  return depth;
}

bool cluster_within(std::string_view ancestor, std::string_view path) {
  if (ancestor == "/") return true;
  if (!path.starts_with(ancestor)) return false;
  return path.size() == ancestor.size() || path[ancestor.size()] == '/';
}

namespace {
// The longest common ancestor of two normalized paths.
std::string_view common_ancestor(std::string_view a, std::string_view b) {
  std::size_t last_slash = 0, i = 0;
  for (; i < a.size() && i < b.size() && a[i] == b[i]; ++i)
    if (a[i] == '/') last_slash = i;
  const bool whole_segment =
      (i == a.size() || a[i] == '/') && (i == b.size() || b[i] == '/');
  if (whole_segment) return a.substr(0, i == 0 ? 1 : i);
  return a.substr(0, last_slash == 0 ? 1 : last_slash);
}
}  // namespace

int cluster_tier(std::string_view host_cluster, std::string_view job_cluster) {
  if (host_cluster == job_cluster) return 0;
  if (cluster_within(host_cluster, job_cluster)) return 1;
  const std::string_view common = common_ancestor(host_cluster, job_cluster);
  const int up = cluster_depth(host_cluster) - cluster_depth(common);
  return common == job_cluster ? 2 * up : 2 * up + 1;
}

ClusterRestriction ClusterRestriction::parse(std::string_view text, std::string_view field) {
  ClusterRestriction r;
  r.text_ = std::string(text);
  std::size_t i = 0;
  bool want_term = true;  // a term is due (at the start and after a separator)
  auto skip_space = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  for (skip_space(); i < text.size(); skip_space()) {
    const std::size_t start = i;
    if (text.compare(i, 2, "||") == 0 || text[i] == ',' ||
        ((text.compare(i, 2, "or") == 0 || text.compare(i, 2, "OR") == 0) &&
         (i + 2 == text.size() || std::isspace(static_cast<unsigned char>(text[i + 2]))))) {
      if (want_term) fail_at(field, "expected a cluster path before '" + std::string(text.substr(i, text[i] == ',' ? 1 : 2)) + "'", start + 1);
      i += text[i] == ',' ? 1 : 2;
      want_term = true;
      continue;
    }
    if (!want_term) fail_at(field, "expected '||' between clusters", start + 1);
    if (text[i] != '/') fail_at(field, "expected a cluster path starting with '/'", start + 1);
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])) && text[i] != ',' && text[i] != '|') ++i;
    std::string_view word = text.substr(start, i - start);
    Term term;
    if (word.ends_with("/+") || word.ends_with("/*")) {
      term.reach = word.back() == '+' ? Reach::subtree : Reach::children;
      word.remove_suffix(2);
    }
    if (word.find_first_of("+*") != std::string_view::npos)
      fail_at(field, "'+' and '*' may only end a cluster path", start + 1 + word.find_first_of("+*"));
    if (word.find("//") != std::string_view::npos) fail_at(field, "empty segment in cluster path", start + 1);
    term.path = normalize_cluster(word, field);
    r.terms_.push_back(std::move(term));
    want_term = false;
  }
  if (want_term && !r.terms_.empty()) fail_at(field, "expected a cluster path after the last separator", text.size() + 1);
  return r;
}

bool ClusterRestriction::allows(std::string_view cluster) const {
  if (terms_.empty()) return true;
  for (const Term& t : terms_) {
    switch (t.reach) {
      case Reach::exact:
        if (cluster == t.path) return true;
        break;
      case Reach::subtree:
        if (cluster_within(t.path, cluster)) return true;
        break;
      case Reach::children:
        if (cluster != t.path && cluster_within(t.path, cluster) && cluster_depth(cluster) == cluster_depth(t.path) + 1)
          return true;
        break;
    }
  }
  return false;
}

}  // namespace qube::placement
