#pragma once
// Submissions of big agendas, decoded and their agendas built on a thread of
// their own. Building a million items is a few hundred megabytes of allocation
// (100 to 200 ms) that the event loop must not spend (issue 15: no request may
// hold it for 50 ms); the loop submits the built jobs once they are ready.
#include <future>

#include "client_requests.hpp"
#include "qube/json.hpp"

namespace qube::supervisor {

// Whether a `submit` body asks for enough items (kRowsPerRound) to build apart.
// Cheap: it reads the ranges' and agendas' sizes, never builds.
bool worth_building_apart(const Json& body);

// The submission decoded, its jobs' agendas built (Submission::agendas). A
// submission that does not decode or build is returned with no agendas built:
// Farm::submit then meets the same error and answers it as usual.
std::future<Submission> build_apart(Json body);

}  // namespace qube::supervisor
