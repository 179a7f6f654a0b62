#include "normalise_options.hpp"

#include <algorithm>
#include <optional>

namespace qube::cli {

namespace {

// The options a word can name (not the positional arguments).
std::vector<const CLI::Option*> named_options(const CLI::App& app) {
  return app.get_options(
      [](const CLI::Option* o) { return !o->get_lnames().empty() || !o->get_snames().empty(); });
}

// A flag expects no value; everything else takes the next word (unless written --name=value).
bool takes_value(const CLI::Option& option) { return option.get_expected_max() > 0; }

const CLI::App* subcommand_named(const CLI::App& app, const std::string& word) {
  const auto found = app.get_subcommands([&](const CLI::App* sub) { return sub->check_name(word); });
  return found.empty() ? nullptr : found.front();
}

struct Named {
  const CLI::Option* option;
  std::string long_name;  // empty: a short option, kept as written
};

// The option that `name` (the word without its dashes and value) names: its
// exact long name, a short option's letter after one dash, or the one option
// with a long name that starts with it. `typed` is the word for the message.
std::optional<Named> option_named(const std::vector<const CLI::Option*>& options, const std::string& name,
                                  bool one_dash, const std::string& typed) {
  for (const auto* o : options)
    for (const auto& l : o->get_lnames())
      if (l == name) return Named{o, l};
  if (one_dash && name.size() == 1)
    for (const auto* o : options)
      for (const auto& s : o->get_snames())
        if (s == name) return Named{o, {}};
  std::vector<Named> fits;
  for (const auto* o : options)
    for (const auto& l : o->get_lnames())
      if (l.compare(0, name.size(), name) == 0) {
        // Two names of one option (--service, --services) are one fit.
        if (fits.empty() || fits.back().option != o) fits.push_back(Named{o, l});
      }
  if (fits.size() == 1) return fits.front();
  if (fits.empty()) return std::nullopt;
  std::vector<std::string> names;
  for (const auto& f : fits) names.push_back("--" + f.long_name);
  std::sort(names.begin(), names.end());
  std::string message = "option '" + typed + "' is ambiguous:";
  for (std::size_t n = 0; n < names.size(); ++n) message += (n == 0 ? " " : ", ") + names[n];
  throw AmbiguousOption(message);
}

}  // namespace

std::vector<std::string> normalise_options(const CLI::App& app, std::vector<std::string> args, Words words) {
  const CLI::App* current = &app;
  std::vector<const CLI::Option*> options = named_options(app);
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string& word = args[i];
    if (word == "--") break;
    const bool option_like = word.size() >= 2 && word[0] == '-';
    if (!option_like) {
      if (const CLI::App* sub = subcommand_named(*current, word)) {
        current = sub;
        options = named_options(*sub);
      } else if (words == Words::end_options) {
        break;
      }
      continue;
    }
    const std::size_t dashes = word[1] == '-' ? 2 : 1;
    const std::size_t equals = word.find('=');
    const std::string typed = word.substr(0, equals);
    const std::string name = typed.substr(dashes);
    if (name.empty()) continue;  // "--=x": CLI11's to refuse
    const auto named = option_named(options, name, dashes == 1, typed);
    if (!named) continue;  // not ours: CLI11 names it in its error
    if (!named->long_name.empty())
      word = "--" + named->long_name + (equals == std::string::npos ? "" : word.substr(equals));
    if (takes_value(*named->option) && equals == std::string::npos) ++i;  // its value, untouched
  }
  return args;
}

}  // namespace qube::cli
