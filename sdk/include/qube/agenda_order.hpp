#pragma once
// The order a job's agenda items are dispatched in. Items are handed out in
// agenda order, so ordering the agenda once at submission orders the work:
// Qube!'s --reverse and --binary (first, last, middle, then the halves), and its
// preview frames (--flags p_agenda with --preview), which go before the rest so
// that a long sequence shows early whether it is right.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "qube/range.hpp"

namespace qube {

enum class AgendaOrder { as_written, reverse, binary };

// "", "as-written", "reverse" or "binary"; throws std::invalid_argument naming the choices.
AgendaOrder parse_agenda_order(std::string_view text);

// Preview items: every Nth agenda item ("5"), or the items holding these frames
// ("1,50,100", any range text). Empty text: none.
// kDefaultPreview: the first, middle and last items, what --flags p_agenda
// without --preview gives.
inline constexpr std::string_view kDefaultPreview = "first,middle,last";
struct Preview {
  std::size_t every = 0;
  std::vector<FrameRun> frames;
  bool ends = false;  // kDefaultPreview
};
// Throws RangeError for text that is neither a positive count, kDefaultPreview nor
// a frame range. A single number means "every Nth"; write a one-frame preview as "N-N".
Preview parse_preview(std::string_view text);

// Binary order of n indices: 0, n-1, then the midpoint of each remaining gap,
// gaps taken breadth first and left to right ((a+b)/2, rounded down). Every index
// once. The Python module's qb.genframes(binarySort=True) gives the same order.
std::vector<std::size_t> binary_order(std::size_t n);

// The dispatch order of items named `names` (agenda names: range texts such as
// "1-10" or "7", or free names): preview items first, each group in `order`.
// `preview` is the job's preview text (parse_preview, or kDefaultPreview).
std::vector<std::size_t> dispatch_order(const std::vector<std::string>& names, AgendaOrder order,
                                        std::string_view preview);

// Which of `names` are preview items (true at their index).
std::vector<bool> preview_items(const std::vector<std::string>& names, std::string_view preview);

}  // namespace qube
