#include "options.hpp"

namespace qube::qbsub {

namespace {

// What the job runs, and how often.
std::vector<OptionSpec> work_options(Submission& s) {
  JobSpec& j = s.spec;
  return {
      {"--name", &j.name, "job name (default: the command)"},
      {"--priority", &j.priority, "1 (most urgent) to 9999 (default 9999)"},
      {"--cpus", &j.cpus, "instances to run at once (default 1)"},
      {"--range,--frames", &j.range, "frame range: 1-100, 1-100x3, 1,3,5, -10--1"},
      {"--chunk", &j.chunk, "frames per agenda item (default 1)"},
      {"--partitions", &j.partitions, "split the range into this many agenda items"},
      {"--padding", &j.padding, "zero-pad substituted frame numbers to N digits"},
      {"--type,--prototype", &s.type, "job type (default: cmdrange with --range, else cmdline)"},
      {"--package,--data", &s.package_text, "package for the job type: a YAML or JSON map"},
      {"--env", &s.env, "environment variable K=V for the job's processes (repeatable)", OptionSpec::repeatable},
      {"--status", &s.status, "initial status: 'blocked' holds the job until unblocked"},
      {"--retrywork", &j.retrywork, "run a failed agenda item again up to N times"},
      {"--retryworkdelay", &j.retryworkdelay, "seconds to wait before such a retry"},
      {"--timelimit", &j.timelimit, "seconds the job may run before it is killed and failed"},
      {"--agendatimelimit", &j.agendatimelimit, "seconds one agenda item may run before it is killed and failed"},
      {"--label", &j.label, "label naming the job within its process group"},
      {"--cwd", &j.cwd, "working directory of the job's processes (default: the worker's)"},
      {"--retrysubjob", &j.retrysubjob, "start an instance that dies again, up to N times"},
      {"--retrydifferenthost", &j.retrydifferenthost, "a retried item avoids the hosts it failed on"},
      {"--order", &j.order, "dispatch order of the agenda: binary (first, last, middle, then the halves), reverse"},
      {"--reverse", &s.reverse, "= --order reverse: the last frames first"},
      {"--binary", &s.binary, "= --order binary: first, last, middle, then the halves"},
      {"--preview,--p_agenda", &j.preview,
       "preview items first: the items holding frames 1,50,100, or every Nth item (5); sets --flags p_agenda,"
       " which alone previews the first, middle and last items"},
      {"--p_priority", &s.p_priority, "run the preview items as a job of their own at this priority (same pgrp)"},
      {"--p_cpus", &s.p_cpus, "run the preview items as a job of their own with this many instances (same pgrp)"},
  };
}

// Placement (docs/placement.md): lists are comma separated.
std::vector<OptionSpec> placement_options(Submission& s) {
  JobSpec& j = s.spec;
  constexpr auto list = OptionSpec::comma_list;
  return {
      {"--hosts", &j.hosts, "run only on these hosts (a,b)", list},
      {"--omithosts", &j.omithosts, "never run on these hosts", list},
      {"--groups", &j.groups, "run only on hosts in one of these groups", list},
      {"--omitgroups", &j.omitgroups, "never run on hosts in these groups", list},
      {"--service,--services", &j.services, "the host must offer all of these (maya2024,gpu)", list},
      {"--requirements", &j.requirements,
       "expression over host.* and job.*: 'host.os == linux && host.memory >= 16000'"},
      {"--reservations", &j.reservations,
       "what an instance holds: host.processors=4,host.memory=8000,license.nuke=1"},
      {"--restrictions", &j.restrictions, "clusters it may run in: /show/seq, /show/*, /show/+"},
      {"--cluster", &j.cluster, "the job's cluster (default /)"},
      {"--flags", &j.flags,
       "job flags: uninterruptible; export_environment (the job gets qbsub's whole environment, --env wins)",
       list},
      {"--tags", &j.tags, "HQueue exclusivity: single (alone on its host), single:<class>", list},
      {"--max_cpus", &j.max_cpus, "grow into idle slots up to this many instances"},
  };
}

// Who submits, what the job waits for and tells, and how qbsub itself behaves.
std::vector<OptionSpec> submission_options(Submission& s) {
  constexpr auto repeatable = OptionSpec::repeatable;
  return {
      {"--user", &s.for_user, "submit on behalf of this user (admins only)"},
      {"--description", &s.spec.description, "free text shown with the job"},
      {"--dependency", &s.spec.dependency,
       "wait for other jobs: link-<complete|done|failed|killed>-<job|work|subjob>-<id|label>, comma = AND"},
      {"--waitfor", &s.waitfor, "wait until job ID has ended (link-done-job-ID); repeatable", repeatable},
      {"--callback", &s.callbacks, "'TRIGGERS:LANGUAGE:CODE', e.g. 'complete-job-self:shell:touch done' (repeatable)",
       repeatable},
      {"--mail", &s.mail, "mail ADDRESS when the job ends (repeatable)", repeatable},
      {"--address", &s.addresses, "Qube!'s name for --mail: mail these addresses when the job ends (a,b)",
       OptionSpec::comma_list},
      {"--pgrp", &s.pgrp, "join the existing process group ID (your own jobs' group; labels resolve in it)"},
      {"--kind", &s.spec.kind, "bookkeeping: what kind of work this is (shown by qb show)"},
      {"--account", &s.spec.account, "bookkeeping: the account the job is billed to"},
      {"--domain", &s.spec.domain, "bookkeeping: the domain (studio, site, department) the job belongs to"},
      {"--file", &s.file, "submit the jobs of a job file (Qube pipeline YAML/JSON or an HQueue job spec)"},
      {"--pid", &s.parent, "make the job a child of job ID (default: $QBJOBID inside a running job)"},
      {"--token", &s.token,
       "name this submission: sent again with the same token, it gets the jobs already made, not new ones"
       " (default: a random token); `qb jobs --token T` lists them"},
      {"--export", &s.export_file,
       "write the job(s) to FILE (.json, or .yaml/.yml) instead of submitting them; --import replays it"},
      {"--import", &s.import_file, "start from the job(s) of an --export FILE; other options override its values"},
      {"--supervisor", &s.supervisor, "supervisor client endpoint (default: $QB_SUPERVISOR)"},
      {"--json", &s.json, "print the submitted jobs as JSON"},
      {"--waiton", &s.waiton, "wait until the job ends; exit 0 if complete, 1 if failed or killed"},
  };
}

// Qube!'s hooks (docs/usage.md "Hooks"), each one shell command, and its
// placement shorthands (docs/placement.md).
std::vector<OptionSpec> hook_options(Submission& s) {
  JobSpec& j = s.spec;
  constexpr auto repeatable = OptionSpec::repeatable;
  return {
      {"--preexec", &j.preexec, "shell command the supervisor runs before the job starts; failing fails the job"},
      {"--postexec", &j.postexec, "shell command the supervisor runs when the job ends (QBJOBID, QBSTATUS set)"},
      {"--preflights", &j.preflights, "shell command each instance runs before its first item; failing fails it"
       " (repeatable)", repeatable},
      {"--postflights", &j.postflights, "shell command each instance runs after its last item (repeatable)",
       repeatable},
      {"--agenda_preflights", &j.agenda_preflights,
       "shell command run before each agenda item; failing fails the item (repeatable)", repeatable},
      {"--agenda_postflights", &j.agenda_postflights, "shell command run after each agenda item (repeatable)",
       repeatable},
      {"--processors", &j.processors, "slots per instance (= --reservations host.processors=N)"},
      {"--hostorder", &j.hostorder, "preferred hosts first: +host.memory.avail,-host.processors.used"},
  };
}

}  // namespace

std::vector<OptionSpec> option_specs(Submission& s) {
  std::vector<OptionSpec> all = work_options(s);
  for (auto part : {placement_options(s), submission_options(s), hook_options(s)})
    all.insert(all.end(), part.begin(), part.end());
  return all;
}

}  // namespace qube::qbsub
