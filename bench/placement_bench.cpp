// placement_bench: one scheduling pass of the placement core over a synthetic
// farm (default 5,000 hosts) with pending jobs of mixed requirements, for a
// growing number of pending jobs (default 10,000 to 100,000). It prints, per
// size:
//   full pass   every host fills its free slots from an empty farm (starts are
//               bounded by the farm's slots, so flat time = flat cost per start)
//   freed       K running instances end; each freed host picks again: the
//               event-driven case (a freed slot examines its host's candidates)
//   naive       the same freed slots served by scanning every pending job in
//               priority order (what Farm::schedule does today), for contrast
// Usage: placement_bench [--hosts N] [--jobs N,N,...] [--freed K] [--seed S]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "placement/placer.hpp"

namespace {

using namespace qube::placement;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

const std::vector<std::string> kClusters{"/", "/showA", "/showA/seq1", "/showA/seq2", "/showB", "/showB/seq1"};
const std::vector<std::string> kGroups{"fx", "lighting", "comp", "anim", "sim"};

std::vector<HostFacts> make_farm(int n, std::mt19937_64& rng) {
  std::vector<HostFacts> hosts;
  std::uniform_int_distribution<int> pct(0, 99);
  const int slot_sizes[] = {8, 8, 16, 16, 16, 32, 64};
  for (int i = 0; i < n; ++i) {
    HostFacts h;
    h.name = "node" + std::to_string(i);
    h.os = pct(rng) < 95 ? "linux" : "winnt";
    h.slots_total = h.slots_free = slot_sizes[pct(rng) % 7];
    h.memory_total_mb = h.memory_free_mb = static_cast<std::uint64_t>(h.slots_total) * 4000;
    if (pct(rng) < 10) h.gpus_total = h.gpus_free = 1 + pct(rng) % 4;
    h.cluster = kClusters[static_cast<std::size_t>(pct(rng)) % kClusters.size()];
    h.jobtypes = {"cmdline"};
    if (pct(rng) < 70) {
      h.jobtypes.push_back("maya");
      h.properties["maya2024"] = "1";
    }
    if (pct(rng) < 40) h.jobtypes.push_back("nuke");
    if (pct(rng) < 30) h.jobtypes.push_back("blender");
    for (int g = 0, k = 1 + pct(rng) % 3; g < k; ++g) h.groups.push_back(kGroups[static_cast<std::size_t>(pct(rng)) % kGroups.size()]);
    if (h.gpus_total) h.groups.push_back("gpu");
    h.normalize();
    hosts.push_back(std::move(h));
  }
  return hosts;
}

struct BenchJob {
  std::shared_ptr<const JobPlacement> placement;
  int cpus = 1;
  int running = 0;
};

// Mixed requirements, roughly what a studio's submissions look like.
std::vector<BenchJob> make_jobs(int n, int hosts, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> pct(0, 99);
  std::vector<BenchJob> jobs;
  jobs.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    qube::Job job;
    job.id = static_cast<qube::JobId>(i + 1);
    job.pgrp = job.id;
    qube::JobSpec& s = job.spec;
    const int t = pct(rng);
    s.type = t < 40 ? "cmdline" : t < 70 ? "maya" : t < 90 ? "nuke" : "blender";
    s.user = "user" + std::to_string(pct(rng) % 50);
    const int p = pct(rng);
    s.priority = p < 80 ? 9999 : p < 95 ? 100 * (1 + pct(rng) % 10) : 1 + pct(rng) % 10;
    s.cpus = 1 + pct(rng) % 8;
    if (pct(rng) < 10) s.groups = {kGroups[static_cast<std::size_t>(pct(rng)) % kGroups.size()]};
    if (pct(rng) < 3)
      for (int k = 0; k < 3; ++k) s.hosts.push_back("node" + std::to_string(static_cast<int>(rng() % static_cast<unsigned>(hosts))));
    const int r = pct(rng);
    s.requirements = r < 10 ? "host.gpu >= 1"
                     : r < 20 ? "host.memory.avail >= 64000"
                     : r < 25 ? "host.os == linux && host.processors >= 32"
                     : r < 30 ? "not (job.id in host.duty.id)"
                              : "";
    const int v = pct(rng);
    s.reservations = v < 20 ? "host.processors=4"
                     : v < 25 ? "host.memory=16000"
                     : v < 28 ? "host.gpu=1"
                     : v < 30 ? "host.processors=2+"
                     : (s.type == "nuke" && v < 60) ? "license.nuke=1"
                     : (s.type == "maya" && v < 50) ? "global.maya=1"
                                                    : "";
    const int x = pct(rng);
    if (x < 2) s.tags = {"single"};
    else if (x < 5) s.tags = {"single:sim"};
    if (s.type == "maya" && pct(rng) < 20) s.services = {"maya2024"};
    BenchJob b;
    b.placement = std::make_shared<const JobPlacement>(
        compile_placement(job, kClusters[static_cast<std::size_t>(pct(rng)) % kClusters.size()]));
    b.cpus = s.cpus;
    jobs.push_back(std::move(b));
  }
  return jobs;
}

struct Running {
  std::size_t job;
  std::size_t host;
  Allocation allocation;
};

struct Farm {
  std::vector<HostFacts> hosts;
  std::vector<BenchJob> jobs;
  std::vector<Running> running;
  Placer placer;
  std::size_t starts = 0, walks = 0, examined = 0, shapes_seen = 0;
  double now = 1'000'000;

  // Fills host `h` from the placer; returns instances started.
  void fill(std::size_t h) {
    HostFacts& host = hosts[h];
    while (host.slots_free > 0) {
      auto pick = placer.pick(host, now);
      ++walks;
      examined += placer.last_walk().yielded;
      shapes_seen += placer.last_walk().shapes_seen;
      if (!pick) break;
      const std::size_t j = pick->job->id() - 1;
      BenchJob& job = jobs[j];
      placer.started(*job.placement, pick->allocation, host, now);
      running.push_back(Running{j, h, pick->allocation});
      ++starts;
      if (++job.running >= job.cpus) placer.pending().remove(job.placement->facts.id);
    }
  }

  void end(std::size_t r) {
    Running run = running[r];
    running[r] = running.back();
    running.pop_back();
    BenchJob& job = jobs[run.job];
    placer.ended(*job.placement, run.allocation, hosts[run.host], now);
    // A finished instance's item is done; the job wants one more only if it
    // still has work: here every job has endless work, so it is pending again.
    if (job.running-- == job.cpus) placer.pending().add({job.placement, 0, false});
  }

  void reset_counters() { starts = walks = examined = shapes_seen = 0; }
};

// The old way for one host: every pending job in (priority, id) order, the
// full matcher on each, until one fits.
std::size_t naive_pick(const Farm& f, const std::vector<std::size_t>& order, const HostFacts& host, const Matcher& m) {
  std::size_t examined = 0;
  for (std::size_t j : order) {
    const BenchJob& job = f.jobs[j];
    if (job.running >= job.cpus) continue;
    ++examined;
    if (m.can_run(*job.placement, host, f.placer.globals()).ok) break;
  }
  return examined;
}

std::vector<int> parse_list(const char* s) {
  std::vector<int> out;
  for (const char* p = s; *p;) {
    out.push_back(std::atoi(p));
    while (*p && *p != ',') ++p;
    if (*p) ++p;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int n_hosts = 5000, freed = 2000;
  unsigned seed = 1;
  std::vector<int> sizes{10000, 20000, 50000, 100000};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--hosts") n_hosts = std::atoi(argv[i + 1]);
    else if (flag == "--jobs") sizes = parse_list(argv[i + 1]);
    else if (flag == "--freed") freed = std::atoi(argv[i + 1]);
    else if (flag == "--seed") seed = static_cast<unsigned>(std::atoi(argv[i + 1]));
    else {
      std::fprintf(stderr, "usage: placement_bench [--hosts N] [--jobs N,N,...] [--freed K] [--seed S]\n");
      return 2;
    }
  }

  std::printf("placement_bench: %d hosts, %d freed slots per measure, seed %u\n", n_hosts, freed, seed);
  std::printf("%9s %7s %9s | %10s %8s %8s %9s %8s | %9s %9s %9s %8s | %10s %10s\n", "pending", "shapes",
              "index_ms", "full_ms", "starts", "us/start", "exam/wlk", "shp/wlk", "freed_ms", "us/slot", "exam/wlk",
              "shp/wlk", "naive_us", "naive_exam");
  for (int n : sizes) {
    std::mt19937_64 rng(seed);
    Farm f;
    f.hosts = make_farm(n_hosts, rng);
    f.jobs = make_jobs(n, n_hosts, rng);
    f.placer.globals().set_total("license.nuke", 500);
    f.placer.globals().set_total("global.maya", 2000);

    auto t0 = Clock::now();
    for (const auto& j : f.jobs) f.placer.pending().add({j.placement, 0, false});
    const double index_s = seconds_since(t0);

    // Full pass over an empty farm.
    t0 = Clock::now();
    for (std::size_t h = 0; h < f.hosts.size(); ++h) f.fill(h);
    const double full_s = seconds_since(t0);
    const std::size_t full_starts = f.starts, full_walks = f.walks, full_exam = f.examined, full_shapes = f.shapes_seen;

    // Freed slots: end `freed` random instances, then let each host refill.
    std::mt19937_64 pick_rng(seed + 7);
    std::vector<std::size_t> touched;
    for (int k = 0; k < freed && !f.running.empty(); ++k) {
      const std::size_t r = pick_rng() % f.running.size();
      touched.push_back(f.running[r].host);
      f.end(r);
    }
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    f.reset_counters();
    t0 = Clock::now();
    for (std::size_t h : touched) f.fill(h);
    const double freed_s = seconds_since(t0);

    // The old way, on a sample of hosts with a free slot, for contrast.
    std::vector<std::size_t> order(f.jobs.size());
    for (std::size_t j = 0; j < order.size(); ++j) order[j] = j;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return f.jobs[a].placement->facts.priority < f.jobs[b].placement->facts.priority;
    });
    const Matcher matcher;
    std::size_t naive_exam = 0, sampled = 0;
    t0 = Clock::now();
    for (std::size_t h = 0; h < f.hosts.size() && sampled < 200; h += 7) {
      HostFacts host = f.hosts[h];
      if (host.slots_free == 0) host.slots_free = 1;  // as if one slot just freed
      naive_exam += naive_pick(f, order, host, matcher);
      ++sampled;
    }
    const double naive_s = seconds_since(t0);

    auto per = [](std::size_t a, std::size_t b) { return b ? static_cast<double>(a) / static_cast<double>(b) : 0.0; };
    std::printf("%9d %7zu %9.1f | %10.1f %8zu %8.2f %9.1f %8.1f | %9.2f %9.2f %9.1f %8.1f | %10.1f %10.0f\n", n,
                f.placer.pending().shapes(), index_s * 1e3, full_s * 1e3, full_starts,
                full_starts ? full_s * 1e6 / static_cast<double>(full_starts) : 0.0, per(full_exam, full_walks),
                per(full_shapes, full_walks), freed_s * 1e3,
                f.starts ? freed_s * 1e6 / static_cast<double>(f.starts) : 0.0, per(f.examined, f.walks),
                per(f.shapes_seen, f.walks),
                sampled ? naive_s * 1e6 / static_cast<double>(sampled) : 0.0,
                sampled ? static_cast<double>(naive_exam) / static_cast<double>(sampled) : 0.0);
    std::fflush(stdout);
  }
  return 0;
}
