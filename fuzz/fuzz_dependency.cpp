// Dependency strings (qube/dependency.hpp, a job's `dependency`): whatever
// parses must print (dependency_text) as text that parses to the same.
#include "fuzz_input.hpp"
#include "qube/dependency.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto deps = qube::parse_dependencies(qube::fuzz::text(data, size));
    qube::fuzz::check(qube::parse_dependencies(qube::dependency_text(deps)) == deps,
                      "parse_dependencies(dependency_text(d)) == d");
  } catch (const qube::TriggerError&) {
  }
  return 0;
}
