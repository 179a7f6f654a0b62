#pragma once
// Qube!'s --p_priority and --p_cpus: the preview items run as a job of their own,
// at their own priority or width, beside the job that renders the rest. Both are
// submitted together, so they share a process group.
#include <vector>

#include "qube/model.hpp"

namespace qube::qbsub {

// The job itself when it has no preview or neither setting is given (> 0);
// otherwise the preview job ("NAME (preview)", label "LABEL-preview") and the
// job of the remaining items, each with an explicit agenda.
std::vector<JobSpec> split_preview(const JobSpec& spec, int p_priority, int p_cpus);

}  // namespace qube::qbsub
