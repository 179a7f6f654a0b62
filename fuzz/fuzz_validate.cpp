// Job spec checking, as the supervisor runs it on every submitted spec: the
// spec's decoding (spec_from_json), validate(), and the placement fields
// (requirements, reservations, restrictions, conditions, tags). Input: JSON text.
#include "fuzz_input.hpp"
#include "placement/error.hpp"
#include "placement/job_placement.hpp"
#include "qube/json.hpp"
#include "qube/validate.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const qube::Json doc = qube::Json::parse(qube::fuzz::text(data, size), nullptr, false);
  if (doc.is_discarded()) return 0;
  try {
    const qube::JobSpec spec = qube::spec_from_json(doc);
    (void)qube::validate(spec);
    qube::placement::validate_placement(spec);
  } catch (const qube::FormatError&) {
  } catch (const qube::placement::PlacementError&) {
  }
  return 0;
}
