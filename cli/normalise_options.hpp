#pragma once
// Qube!'s qbsub and qb tools take options with one dash and abbreviated to any
// unique prefix (`qbsub -pri 10 -cl /show ...`), and studios keep wrapper scripts
// written that way. CLI11 knows neither form, so the command line is rewritten
// to full `--name` options first, from the options the CLI11 app itself declares
// (options added later take part without anything to update here).
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace qube::cli {

// An abbreviation that fits several options: a usage error naming them all.
struct AmbiguousOption : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What a word that is neither an option nor an option's value means.
enum class Words {
  end_options,  // qbsub: the command starts there, and its own options are its own
  arguments,    // qb: positional arguments (job ids) among the options
};

// `args` (without the program name) with every option word written out in full:
//   -priority 10, --pri 10, -pri=10   -> --priority 10 (--priority=10)
// An exact name wins over a prefix; a real short option (-h) stays; a word after
// an option that takes a value is that value and is never rewritten; `--` ends
// the options. A word naming a subcommand of `app` continues with that
// subcommand's options. A word that fits no option is left for CLI11 to refuse.
// Throws AmbiguousOption ("option '-re' is ambiguous: --range, --requirements").
std::vector<std::string> normalise_options(const CLI::App& app, std::vector<std::string> args, Words words);

}  // namespace qube::cli
