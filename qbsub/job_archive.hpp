#pragma once
// qbsub --export and --import: the jobs of one submission in a file, as qbsub
// would send them, so that importing an export submits the same jobs again.
// The file is {jobs: [job, ...]}, each job in the model's own keys (the same
// keys as a Qube pipeline file, docs/pipelines.md) plus how it joins the farm:
// pid, pgrp or parent_label. JSON or YAML, chosen by the file's extension.
#include <string>

#include "qube/json.hpp"

namespace qube::qbsub {

// Writes {jobs: JOBS} to PATH: YAML for .yaml or .yml, JSON for .json.
// Throws std::runtime_error for another extension or a file it cannot write.
void write_job_archive(const std::string& path, const Json& jobs);

// The jobs of such a file (YAML or JSON text): the list, each a map. Throws
// std::runtime_error naming what is wrong.
Json read_job_archive(const std::string& path);

}  // namespace qube::qbsub
