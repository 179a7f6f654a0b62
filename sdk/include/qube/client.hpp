#pragma once
// The client side of the supervisor's client API, used by qbsub, qb and scripts.
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "qube/json.hpp"

namespace qube {

// The request failed: unreachable supervisor, timeout or an error reply.
struct ClientError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// The request went out but no reply came in time: it may or may not have been
// carried out.
struct ClientNoAnswer : ClientError {
  using ClientError::ClientError;
};

// The supervisor's client endpoint, or several (a pair: "tcp://a:50002,tcp://b:50002";
// docs/high-availability.md): the flag, else $QB_SUPERVISOR, else the
// `supervisor` key of the client config ($QB_CONFIG, ~/.config/qube/client.yaml,
// <prefix>/etc/qube/client.yaml), else tcp://127.0.0.1:50002.
std::string resolve_supervisor(const std::string& flag_value);

// The user name recorded as a job's owner: $QB_USER, else the OS login.
std::string current_user();

// `endpoint`: one, or several separated by commas. With several, a request
// goes to the one that answered last; a standby's "not active, try X" sends it
// to X, and one that cannot be reached or does not answer to the next.
class Client {
 public:
  explicit Client(std::string endpoint,
                  std::chrono::milliseconds timeout = default_timeout());
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends a request and waits for its reply; returns the reply body (ok == true)
  // or throws ClientError with the supervisor's message.
  Json request(const std::string& type, const Json& body);
  // The same, returning only the reply's field `key` as JSON text, as
  // request(...)[key].dump(indent) would (empty if absent), without building the
  // reply's Json tree: for printing large replies (qb jobs --json).
  std::string request_text(const std::string& type, const Json& body, const std::string& key, int indent);
  // A change the supervisor answers only once it is stored (a submission;
  // killing or removing a job): storing a million items takes seconds, more on a
  // busy disk, so after a ping answered within the normal timeout shows the
  // supervisor is there, the change's reply is awaited up to kStoredWait. A set
  // $QB_TIMEOUT bounds both, as it does every request.
  Json request_stored(const std::string& type, const Json& body);
  static constexpr std::chrono::minutes kStoredWait{10};
  const std::string& endpoint() const { return endpoint_; }  // the one talked to

  // $QB_TIMEOUT seconds if set, else 5 s.
  static std::chrono::milliseconds default_timeout();

 private:
  // Sends the request and waits up to `timeout` for its reply; returns the
  // reply's body, encoded.
  std::string exchange(const std::string& type, const Json& body, std::chrono::milliseconds timeout);
  // One attempt at the current endpoint; `active` is set when it is a standby
  // (then the returned text is its error).
  std::string exchange_once(const std::string& type, const Json& body, std::chrono::milliseconds timeout,
                            std::optional<std::string>& active);
  // The decoded body of an ok reply; throws ClientError with the supervisor's message.
  static Json reply_body(const std::string& reply);
  // Connects to `hint` if it is one of the endpoints, else to the next.
  void follow(const std::string& hint);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string endpoint_;
  std::chrono::milliseconds timeout_;
};

}  // namespace qube
