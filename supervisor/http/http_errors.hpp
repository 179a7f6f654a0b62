#pragma once
// The HTTP status of a refused request (docs/http-api.md, "Errors"). The loop's
// refusals are sentences for people, the ones `qb` prints before exiting 1; the
// status is read from their wording, with the same meanings as the CLI's exit
// codes where they differ: 404 nothing by that name, 403 not yours, 409 not in a
// state for it, 400 anything else the request got wrong.
#include <stdexcept>
#include <string>
#include <string_view>

namespace qube::supervisor {

int status_for_error(std::string_view message);

// A refusal on the HTTP side, with its status: answered as {"error", "status"}.
struct HttpError : std::runtime_error {
  HttpError(int s, const std::string& message) : std::runtime_error(message), status(s) {}
  int status;
};

}  // namespace qube::supervisor
