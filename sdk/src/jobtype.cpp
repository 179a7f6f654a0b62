#include "qube/jobtype.hpp"

#include <stdexcept>

#include "qube/range.hpp"

namespace qube {

FrameVars frame_vars(const std::string& item_name) {
  std::vector<FrameRun> runs;
  try {
    runs = parse_range(item_name);
  } catch (const RangeError& e) {
    throw std::invalid_argument("agenda item '" + item_name + "' is not a frame range: " + e.what());
  }
  if (runs.size() != 1)
    throw std::invalid_argument("agenda item '" + item_name + "' is not one run of frames");
  return FrameVars{runs[0].first, runs[0].last, runs[0].step};
}

std::string substitute_frames(const std::string& text, const FrameVars& f, int padding) {
  const std::pair<const char*, std::string> tokens[] = {
      {"QB_FRAME_NUMBER", pad_frame(f.start, padding)},
      {"QB_FRAME_START", pad_frame(f.start, padding)},
      {"QB_FRAME_END", pad_frame(f.end, padding)},
      {"QB_FRAME_STEP", std::to_string(f.step < 0 ? -f.step : f.step)},
  };
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    bool replaced = false;
    // "$QB_FRAME_NUMBER" and "${QB_FRAME_NUMBER}" are the shell's variables (set
    // in the environment); only bare tokens are substituted.
    const bool shell_variable = (i >= 1 && text[i - 1] == '$') || (i >= 2 && text.compare(i - 2, 2, "${") == 0);
    if (!shell_variable && text.compare(i, 9, "QB_FRAME_") == 0) {
      for (const auto& [token, value] : tokens) {
        const std::size_t len = std::char_traits<char>::length(token);
        if (text.compare(i, len, token) == 0) {
          out += value;
          i += len;
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

}  // namespace qube
