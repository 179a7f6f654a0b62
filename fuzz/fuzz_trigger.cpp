// Trigger expressions (qube/trigger.hpp): parse_trigger, whose canonical text
// must parse back to the same text, and items_overlap on two item names.
// Input: the expression; or, after a newline, the second item name.
#include "fuzz_input.hpp"
#include "qube/trigger.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = qube::fuzz::text(data, size);
  try {
    const qube::Expr e = qube::parse_trigger(in);
    const std::string canonical = e.text();
    qube::fuzz::check(qube::parse_trigger(canonical).text() == canonical, "parse_trigger(e.text()).text() == e.text()");
    (void)qube::labels_of(e);
  } catch (const qube::TriggerError&) {
  }
  const auto [a, b] = qube::fuzz::split(in);
  (void)qube::items_overlap(a, b);
  return 0;
}
