// Job files (qube/jobfile.hpp, qbsub --file): YAML or JSON text, a Qube
// pipeline or an HQueue job specification, through to validate() of each job.
#include "fuzz_input.hpp"
#include "qube/jobfile.hpp"
#include "qube/validate.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const qube::JobFile file = qube::parse_job_file(std::string(qube::fuzz::text(data, size)));
    for (const auto& entry : file.jobs) (void)qube::validate(entry.spec);
  } catch (const qube::FormatError&) {
  }
  return 0;
}
