#pragma once
// The supervisor's event loop: one thread owns the Farm; each round receives what
// is waiting on both sockets, applies it, schedules, commits all changes in one
// transaction, and only then sends replies and dispatches.
#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <optional>

#include <zmq.hpp>

#include "callback_runner.hpp"
#include "config.hpp"
#include "farm.hpp"
#include "http/api_tokens.hpp"
#include "http/http_server.hpp"
#include "lease.hpp"
#include "qube/clock.hpp"
#include "qube/transport.hpp"
#include "logs.hpp"
#include "security.hpp"
#include "store/event_log.hpp"
#include "store/store.hpp"
#include "agenda_builds.hpp"
#include "agenda_writer.hpp"
#include "store_outage.hpp"

namespace qube::supervisor {

class Server {
 public:
  explicit Server(Config config, const Clock& clock = Clock::system());
  // Runs until `stop` becomes true.
  void run(const std::atomic<bool>& stop);

 private:
  // A reply to a client. `encoded_body`, when set, is sent instead of msg.body:
  // a `jobs` reply is assembled from summaries the farm keeps encoded.
  struct ClientReply {
    ClientReply(proto::Message m, std::string encoded = {}) : msg(std::move(m)), encoded_body(std::move(encoded)) {}
    proto::Message msg;
    std::string encoded_body;
  };

  void handle_worker(const std::string& rid, const proto::Message& msg);
  // `who`: the user the request comes from (Security::authenticate_client).
  ClientReply handle_client(const proto::Message& msg, const std::string& who);
  // handle_client, its reply queued on `replies`, or held back while the jobs it
  // concerns are still being stored by the AgendaWriter (a big submit or kill).
  // Takes the message: a big submission's body goes to the thread that decodes it.
  void answer(std::vector<std::pair<std::string, ClientReply>>& replies, const std::string& rid,
              proto::Message msg, const std::string& who);
  // The reply `produce` makes, queued, or held while its jobs are being stored.
  void respond(std::vector<std::pair<std::string, ClientReply>>& replies, const std::string& rid,
               const proto::Message& msg, const std::function<ClientReply()>& produce);
  // A big submission's body (kDecodedApartFrom) handed to a thread to decode and
  // build (agenda_builds.hpp); false: the message takes the usual path.
  bool decoding_apart(transport::RawIncoming& raw);
  // Submissions whose agendas were built apart (agenda_builds.hpp) and are ready: submitted.
  void submit_built();
  // Warms a slice of missing summaries for the waiting `jobs` requests, and answers
  // them once few enough are left to encode within the round.
  void answer_listings();
  void receive_from_workers(int& heartbeats, int& others);
  void receive_from_clients(int& others);
  // Requests of the HTTP API's threads (http/loop_link.hpp), as ZeroMQ clients'.
  void receive_from_http(int& others);
  // qb keys token: issue or revoke an HTTP API token.
  Json handle_tokens(const proto::Message& msg, const std::string& who);
  // Job, item and host changes for /api/v1/events, only while a stream is open.
  void publish_events(const std::vector<FarmEvent>& events);
  void publish_host_changes();
  void publish(const std::string& kind, const Json& data);
  // qb out / qb err: slices of instances' logs.
  Json read_output(const Json& body);
  // qb out ID --work ITEM [--attempt N]: that attempt's slice of its instance's log.
  Json read_attempt_output(const JobState& js, const std::string& work, std::int64_t attempt_id, bool err,
                           std::uint64_t offset);
  void commit();
  // False when the store could not write them (StoreOutage): rolled back, kept.
  bool store_rows(const Effects& fx);
  // Writes the round's rows and a slice of the big agendas; returns the jobs
  // whose agendas were completed (Farm::agenda_stored once committed).
  std::vector<JobId> write_rows(const Effects& fx);
  void send_work();  // before the commit: see there
  void send_to_worker(const Outgoing& out);
  void flush();

  // qb admin status: the lease (PostgreSQL), read on its own connection.
  Json supervisor_status_now();

  Config config_;
  const Clock& clock_;
  std::unique_ptr<Lease> lease_;  // opened at the first status request
  std::string workers_at_;        // as bound
  std::unique_ptr<Store> store_;
  std::unique_ptr<EventLog> events_;
  std::unique_ptr<CallbackRunner> runner_;
  LogStore logs_;
  Farm farm_;
  zmq::context_t ctx_{1};
  zmq::socket_t workers_{ctx_, zmq::socket_type::router};
  zmq::socket_t clients_{ctx_, zmq::socket_type::router};
  // After the sockets: its ZAP thread stops before they close.
  std::unique_ptr<Security> security_;
  std::set<std::string> admins_;
  std::string client_endpoint_;  // as bound, for workers to pass to jobs
  std::vector<std::pair<std::string, ClientReply>> client_replies_;
  std::vector<Outgoing> to_workers_;  // committed: sent by flush()
  // While the store cannot write: what the failed commits left, written (then
  // acted on) at the first commit that succeeds; and the client replies of the
  // round whose commit failed first, sent then too (they may acknowledge changes).
  StoreOutage outage_;
  Effects held_;
  std::vector<std::pair<std::string, ClientReply>> held_client_replies_, held_http_replies_;
  // Big agendas stored a slice per round, and the replies waiting for them.
  AgendaWriter writer_;
  struct WaitingReply {
    std::vector<std::pair<std::string, ClientReply>>* queue;  // where it goes once ready
    std::string rid;
    ClientReply reply;
    std::vector<JobId> jobs;  // it goes once the writer holds none of them
  };
  std::vector<WaitingReply> waiting_replies_;
  // Big submissions whose agendas a thread is building, with whom to answer.
  struct Building {
    std::future<BuiltSubmission> built;
    proto::Message msg;  // without its body (decoded apart)
    std::string who;
    std::vector<std::pair<std::string, ClientReply>>* queue;
    std::string rid;
  };
  std::vector<Building> building_;
  // `jobs` requests waiting while the summaries they would encode all at once
  // are warmed a slice per round (answer_listings), with whom to answer.
  struct Listing {
    proto::Message msg;
    std::string who;
    std::vector<std::pair<std::string, ClientReply>>* queue;
    std::string rid;
    double since;  // steady seconds
  };
  std::vector<Listing> listings_;
  LoopMetrics metrics_;               // GET /metrics (metrics.hpp)
  double round_start_ = 0;            // when this round of the loop began (steady seconds)
  std::unique_ptr<ApiTokens> tokens_;
  zmq::socket_t http_requests_{ctx_, zmq::socket_type::router};  // the HTTP threads' requests
  zmq::socket_t http_events_{ctx_, zmq::socket_type::pub};       // to /api/v1/events streams
  std::vector<std::pair<std::string, ClientReply>> http_replies_;
  std::map<std::string, std::string> host_states_;  // as last published
  // Last: its threads stop before anything they use is gone.
  std::unique_ptr<HttpServer> http_;
};

}  // namespace qube::supervisor
