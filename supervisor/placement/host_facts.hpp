#pragma once
// What placement knows of one host: its static facts (from the worker's config
// and auto-detection) and its current load (free slots, memory, GPUs, counted
// resources, the jobs running there and the exclusivity they hold). The
// supervisor keeps one per host and changes it through apply/release
// (reservations.hpp) as instances start and end.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "placement/cluster.hpp"
#include "qube/model.hpp"

namespace qube::placement {

// A counted resource: how many exist and how many are held.
struct Counted {
  std::int64_t total = 0;
  std::int64_t used = 0;
  std::int64_t free() const { return total - used; }
};

struct HostFacts {
  std::string name;
  std::string os = "linux";
  std::string cluster = "/";            // one cluster, a normalized path
  ClusterRestriction restrictions;      // the clusters of jobs it accepts (empty: all)
  bool locked = false;                  // takes no new work (qb lock)

  int slots_total = 1;
  int slots_free = 1;
  std::uint64_t memory_total_mb = 0;
  std::uint64_t memory_free_mb = 0;     // total minus what reservations hold
  int gpus_total = 0;
  int gpus_free = 0;

  std::vector<std::string> groups;      // many; kept sorted
  std::vector<std::string> jobtypes;    // the job types it offers; kept sorted
  // Free-form facts (`host.maya2024=1`), keyed without the "host." prefix.
  std::map<std::string, std::string, std::less<>> properties;
  // Host-local counted resources keyed by full name: "host.gpu_mem", "scoped.nuke".
  std::map<std::string, Counted, std::less<>> resources;

  // "duty": the id of the job of each instance running here (repeats allowed), sorted.
  std::vector<JobId> duty;
  int single_running = 0;               // instances of `single` jobs here
  std::map<std::string, int, std::less<>> classes_running;  // single:<x> class -> instances

  bool in_group(std::string_view g) const;
  bool offers_type(std::string_view t) const;
  bool runs_job(JobId id) const;
  bool idle() const { return duty.empty(); }
  // OpenCue-style services: the host offers `s` if it is one of its groups, a
  // truthy property, a host resource it has, or "gpu" on a host with GPUs.
  bool offers_service(std::string_view s) const;
  // Sorts groups and job types: call after filling them by hand.
  void normalize();
};

// A value read as true: a non-zero number, or a non-empty word that is not
// "0", "false" or "no".
bool truthy(std::string_view v);

// Builds the facts a worker registered with (untrusted input): keys os,
// memory_mb, gpus, groups, cluster, properties, resources, restrictions,
// jobtypes, slots. Throws PlacementError naming the bad key.
HostFacts host_facts_from_json(std::string_view name, const Json& body);

}  // namespace qube::placement
