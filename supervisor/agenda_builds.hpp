#pragma once
// Big submissions, decoded and their agendas built on a thread of their own.
// Building a million items is a few hundred megabytes of allocation (100 to 200
// ms), and decoding a thousand jobs' specs tens of ms, that the event loop must
// not spend (issue 15: no request may hold it for 50 ms); the loop submits the
// built jobs once they are ready.
#include <future>

#include "client_requests.hpp"
#include "qube/json.hpp"

namespace qube::supervisor {

// Whether a `submit` body asks for enough items (kRowsPerRound) or jobs (more
// than 100) to build apart. Cheap: it reads the ranges' and agendas'
// sizes, never builds.
bool worth_building_apart(const Json& body);

struct BuiltSubmission {
  Submission submission;
  std::string error;  // why the body does not decode: the reply, as on the loop
  std::string who;    // who asks (decode_and_build_apart)
};

// The submission decoded, its jobs' agendas built (Submission::agendas). An
// agenda that does not build is left to Farm::submit, which meets the same
// error and answers it as usual. The body is freed on that thread too.
std::future<BuiltSubmission> build_apart(Json body);

// The same from the body's bytes: decoding a thousand jobs' MessagePack into a
// Json tree alone took the loop 20 to 30 ms. The request is made `holder`'s
// (Security::key_holder, then as_asker), as Security::authenticate_client would.
std::future<BuiltSubmission> decode_and_build_apart(std::string body, std::string holder);

}  // namespace qube::supervisor
