#include "http_routes.hpp"

#include <httplib.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "agenda_grid.hpp"
#include "http_errors.hpp"
#include "loop_link.hpp"
#include "qube/json.hpp"
#include "qube/protocol.hpp"
#include "qube/transport.hpp"

namespace qube::supervisor {

namespace {

using httplib::Request;
using httplib::Response;
using Steady = std::chrono::steady_clock;
namespace p = proto;

void send_json(Response& res, int status, const Json& body) {
  res.status = status;
  // With the charset named, cpp-httplib leaves the body uncompressed: it picked
  // Brotli for any browser, and compressing the 9.5 MB of 10,000 jobs took 3 to 5 s,
  // which made the dashboard's first paint 3.9 s (1 s without). Replies cross a LAN.
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json; charset=utf-8");
}

void send_error(Response& res, int status, const std::string& message) {
  send_json(res, status, Json{{"error", message}, {"status", status}});
}

// Log data travels as MessagePack binary; JSON has only text.
void binaries_to_text(Json& j) {
  if (j.is_binary()) {
    const auto& bytes = j.get_binary();
    j = std::string(bytes.begin(), bytes.end());
  } else if (j.is_structured()) {
    for (auto& v : j) binaries_to_text(v);
  }
}

// Who asks: the holder of the bearer token, or "" (anonymous) for a read when
// the configuration allows it.
std::string who_asks(const HttpContext& ctx, const Request& req, bool read) {
  const std::string auth = req.get_header_value("Authorization");
  if (auth.empty()) {
    if (read && ctx.anonymous_read) return {};
    throw HttpError(401, "a bearer token is required (Authorization: Bearer TOKEN; `qb keys token` issues one)");
  }
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.compare(0, kBearer.size(), kBearer) != 0) throw HttpError(401, "Authorization: expected 'Bearer TOKEN'");
  auto user = ctx.tokens.user_of(std::string_view(auth).substr(kBearer.size()));
  if (!user) throw HttpError(401, "this token is not (or no longer) valid");
  return *user;
}

// One request to the loop and its reply's fields, or the HttpError its refusal means.
Json call_loop(HttpContext& ctx, const std::string& who, const std::string& type, Json body) {
  zmq::socket_t dealer(ctx.zmq, zmq::socket_type::dealer);
  transport::configure(dealer);
  const std::uint64_t serial = ++ctx.serial;
  dealer.set(zmq::sockopt::routing_id, loop_link::routing_id(serial, who));
  dealer.connect(loop_link::kRequests);
  if (!transport::send(dealer, p::Message{type, serial, std::move(body)}))
    throw HttpError(503, "the supervisor is not taking requests");
  const auto deadline = Steady::now() + std::chrono::duration<double>(ctx.reply_timeout);
  zmq::pollitem_t item{dealer.handle(), 0, ZMQ_POLLIN, 0};
  while (!(item.revents & ZMQ_POLLIN)) {
    if (ctx.stopping) throw HttpError(503, "the supervisor is stopping");
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now());
    if (left.count() <= 0) throw HttpError(503, "the supervisor did not answer in time; try again");
    zmq::poll(&item, 1, std::min(left, std::chrono::milliseconds(200)));
  }
  auto in = transport::receive(dealer, false);
  if (!in || !in->msg) throw HttpError(502, "unreadable reply from the supervisor");
  Json reply = std::move(in->msg->body);
  if (!get_bool(reply, "ok")) {
    const std::string error = get_string(reply, "error", "refused");
    throw HttpError(status_for_error(error), error);
  }
  reply.erase("ok");
  binaries_to_text(reply);
  return reply;
}

Json parse_body(const Request& req) {
  if (req.body.empty()) return Json::object();
  Json j = Json::parse(req.body, nullptr, false);
  if (j.is_discarded()) throw HttpError(400, "malformed JSON in the request body");
  if (!j.is_object()) throw HttpError(400, "the request body must be a JSON object");
  return j;
}

void only_fields(const Json& j, const std::set<std::string>& allowed) {
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!allowed.count(it.key())) throw HttpError(400, "unknown field '" + it.key() + "'");
}

void only_params(const Request& req, const std::set<std::string>& allowed) {
  for (const auto& [key, value] : req.params)
    if (!allowed.count(key)) throw HttpError(400, "unknown query parameter '" + key + "'");
}

std::int64_t int_value(const std::string& what, const std::string& text) {
  std::size_t used = 0;
  std::int64_t v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size()) throw HttpError(400, what + ": expected an integer, not '" + text + "'");
  return v;
}

// Copies the query parameters given into `into`: integers or text.
void params_into(const Request& req, Json& into, const std::set<std::string>& integers,
                 const std::set<std::string>& texts) {
  for (const auto& [key, value] : req.params) {
    if (integers.count(key)) into[key] = int_value("query parameter '" + key + "'", value);
    else if (texts.count(key)) into[key] = value;
  }
}

std::int64_t id_of(const Request& req) { return int_value("job id", req.matches[1].str()); }

// The requests the generic route takes: every request of a `qb` client, except
// managing keys and tokens, which stay on the ZeroMQ side (docs/http-api.md).
const std::set<std::string>& generic_types() {
  static const std::set<std::string> types{
      p::kSubmit,  p::kJobs,    p::kShow,      p::kHosts,  p::kKill,    p::kBlock,   p::kUnblock,
      p::kRetry,   p::kInterrupt, p::kComplete, p::kRemove, p::kSuspend, p::kResume,  p::kModify,
      p::kTop,     p::kBottom,  p::kRequeue,   p::kAppend, p::kSatisfy, p::kHistory, p::kOutput,
      p::kLock,    p::kUnlock,  p::kHostSet,   p::kResources, p::kResourceSet, p::kKeys, p::kPing,
      kAgendaGrid};
  return types;
}

// The job verbs of POST /api/v1/jobs/{id}/{verb}, and the options each takes.
const std::map<std::string, std::set<std::string>>& job_verbs() {
  static const std::map<std::string, std::set<std::string>> verbs{
      {p::kKill, {"work"}},     {p::kBlock, {"work"}},    {p::kUnblock, {"work"}}, {p::kInterrupt, {}},
      {p::kRemove, {}},         {p::kSuspend, {}},        {p::kResume, {}},      {p::kTop, {}},
      {p::kBottom, {}},         {p::kSatisfy, {}},        {p::kRetry, {"work"}}, {p::kComplete, {"work"}},
      {p::kRequeue, {"work"}},  {p::kModify, {"set"}},    {p::kAppend, {"range", "chunk", "agenda"}}};
  return verbs;
}

// A verb on one job: its per-job refusal is the request's.
Json refuse_on_error(Json reply) {
  const auto errors = reply.find("errors");
  if (errors != reply.end() && errors->is_array() && !errors->empty()) {
    const std::string first = (*errors)[0].is_string() ? (*errors)[0].get<std::string>() : errors->dump();
    throw HttpError(status_for_error(first), first);
  }
  return reply;
}

using Handler = std::function<Json(const Request&, const std::string& who)>;

// A route: who asks first (401), then the handler; every refusal as JSON.
httplib::Server::Handler route(HttpContext& ctx, bool read, Handler handler) {
  return [&ctx, read, handler = std::move(handler)](const Request& req, Response& res) {
    try {
      const std::string who = who_asks(ctx, req, read);
      send_json(res, 200, handler(req, who));
    } catch (const HttpError& e) {
      send_error(res, e.status, e.what());
    } catch (const std::exception& e) {
      send_error(res, 400, e.what());
    }
  };
}

// GET /api/v1/events: Server-Sent Events from the loop's publisher. The SUB
// socket queues at most kQueued events; beyond that the loop's PUB drops them for
// this client, and a client that stops reading is cut off by the write timeout.
void serve_events(HttpContext& ctx, const Request& req, Response& res) {
  try {
    who_asks(ctx, req, true);
  } catch (const HttpError& e) {
    send_error(res, e.status, e.what());
    return;
  }
  if (++ctx.event_streams > ctx.max_event_streams) {
    --ctx.event_streams;
    send_error(res, 503, "too many event streams open; try again later");
    return;
  }
  constexpr int kQueued = 10000;
  auto sub = std::make_shared<zmq::socket_t>(ctx.zmq, zmq::socket_type::sub);
  sub->set(zmq::sockopt::linger, 0);
  sub->set(zmq::sockopt::rcvhwm, kQueued);
  sub->set(zmq::sockopt::subscribe, "");
  sub->connect(loop_link::kEvents);
  res.set_header("Cache-Control", "no-cache");
  auto last_write = std::make_shared<Steady::time_point>(Steady::time_point{});
  res.set_chunked_content_provider(
      "text/event-stream",
      [&ctx, sub, last_write](std::size_t, httplib::DataSink& sink) {
        if (ctx.stopping) {
          sink.done();
          return true;
        }
        std::string text;
        if (*last_write == Steady::time_point{}) text = ": connected\n\n";
        zmq::pollitem_t item{sub->handle(), 0, ZMQ_POLLIN, 0};
        if (text.empty()) zmq::poll(&item, 1, std::chrono::milliseconds(500));
        for (int n = 0; n < 100; ++n) {
          zmq::message_t kind, data;
          if (!sub->recv(kind, zmq::recv_flags::dontwait)) break;
          if (!kind.more() || !sub->recv(data, zmq::recv_flags::none)) continue;
          text += "event: " + kind.to_string() + "\ndata: " + data.to_string() + "\n\n";
        }
        // A comment now and then finds a client that has gone away.
        if (text.empty() && Steady::now() - *last_write > std::chrono::seconds(15)) text = ": keepalive\n\n";
        if (text.empty()) return true;
        *last_write = Steady::now();
        return sink.write(text.data(), text.size());
      },
      [&ctx](bool) { --ctx.event_streams; });
}

void add_job_routes(httplib::Server& s, HttpContext& ctx) {
  s.Get("/api/v1/jobs", route(ctx, true, [&ctx](const Request& req, const std::string& who) {
          only_params(req, {"user", "name", "status", "pgrp", "token", "ids"});
          Json filter = Json::object();
          params_into(req, filter, {"pgrp"}, {"user", "name", "status", "token"});
          Json body{{"filter", filter}};
          if (req.has_param("ids")) {
            Json ids = Json::array();
            std::string list = req.get_param_value("ids");
            for (std::size_t at = 0; at <= list.size();) {
              const std::size_t comma = std::min(list.find(',', at), list.size());
              ids.push_back(int_value("query parameter 'ids'", list.substr(at, comma - at)));
              at = comma + 1;
            }
            body["ids"] = ids;
          }
          return call_loop(ctx, who, p::kJobs, body);
        }));
  s.Post("/api/v1/jobs", route(ctx, false, [&ctx](const Request& req, const std::string& who) {
           Json body = parse_body(req);
           // One job object, or {"jobs": [...]}: one submission either way (one
           // process group, all or nothing).
           if (!body.contains("jobs")) body = Json{{"jobs", Json::array({body})}};
           only_fields(body, {"jobs", "token"});
           return call_loop(ctx, who, p::kSubmit, body);
         }));
  s.Get(R"(/api/v1/jobs/(\d+))", route(ctx, true, [&ctx](const Request& req, const std::string& who) {
          only_params(req, {});
          return call_loop(ctx, who, p::kShow, Json{{"id", id_of(req)}});
        }));
  s.Get(R"(/api/v1/jobs/(\d+)/history)", route(ctx, true, [&ctx](const Request& req, const std::string& who) {
          only_params(req, {"limit"});
          Json body{{"id", id_of(req)}};
          params_into(req, body, {"limit"}, {});
          return call_loop(ctx, who, p::kHistory, body);
        }));
  s.Get(R"(/api/v1/jobs/(\d+)/grid)", route(ctx, true, [&ctx](const Request& req, const std::string& who) {
          only_params(req, {"from", "to", "buckets", "items"});
          Json body{{"id", id_of(req)}};
          params_into(req, body, {"from", "to", "buckets"}, {});
          const std::string items = req.get_param_value("items");
          body["items"] = items == "1" || items == "true";
          return call_loop(ctx, who, kAgendaGrid, body);
        }));
  s.Get(R"(/api/v1/jobs/(\d+)/(stdout|stderr))", route(ctx, true, [&ctx](const Request& req, const std::string& who) {
          only_params(req, {"offset", "subid", "work", "attempt"});
          Json body{{"id", id_of(req)}, {"stream", req.matches[2] == "stdout" ? "out" : "err"}};
          params_into(req, body, {"offset", "subid", "attempt"}, {"work"});
          return call_loop(ctx, who, p::kOutput, body);
        }));
  s.Post(R"(/api/v1/jobs/(\d+)/([a-z]+))", route(ctx, false, [&ctx](const Request& req, const std::string& who) {
           const std::string verb = req.matches[2];
           const auto known = job_verbs().find(verb);
           if (known == job_verbs().end()) throw HttpError(404, "no job verb '" + verb + "'");
           Json body = parse_body(req);
           only_fields(body, known->second);
           body["ids"] = Json::array({id_of(req)});
           return refuse_on_error(call_loop(ctx, who, verb, body));
         }));
}

void add_host_routes(httplib::Server& s, HttpContext& ctx) {
  s.Get("/api/v1/hosts", route(ctx, true, [&ctx](const Request& req, const std::string& who) {
          only_params(req, {"long"});
          const std::string long_form = req.get_param_value("long");
          return call_loop(ctx, who, p::kHosts, Json{{"long", long_form == "1" || long_form == "true"}});
        }));
  s.Post(R"(/api/v1/hosts/([^/]+)/(lock|unlock))", route(ctx, false, [&ctx](const Request& req,
                                                                              const std::string& who) {
           const bool lock = req.matches[2] == "lock";
           Json body = parse_body(req);
           only_fields(body, lock ? std::set<std::string>{"purge", "drain"} : std::set<std::string>{});
           body["hosts"] = Json::array({req.matches[1].str()});
           return refuse_on_error(call_loop(ctx, who, lock ? p::kLock : p::kUnlock, body));
         }));
}

}  // namespace

void add_routes(httplib::Server& s, HttpContext& ctx) {
  s.Post("/api/v1/request", route(ctx, false, [&ctx](const Request& req, const std::string& who) {
           const Json request = parse_body(req);
           only_fields(request, {"type", "body"});
           const std::string type = get_string(request, "type");
           if (!generic_types().count(type))
             throw HttpError(400, type.empty() ? "type: the protocol request to make, e.g. \"jobs\""
                                               : "type: '" + type + "' is not a request the HTTP API takes");
           const Json body = request.contains("body") ? request["body"] : Json::object();
           if (!body.is_object()) throw HttpError(400, "body: expected a JSON object");
           return call_loop(ctx, who, type, body);
         }));
  s.Get("/api/v1/ping", route(ctx, true, [&ctx](const Request& req, const std::string& who) {
          only_params(req, {});
          return call_loop(ctx, who, p::kPing, Json::object());
        }));
  // Prometheus scrapes text, with the token as its bearer credentials (or
  // anonymously where anonymous reads are allowed).
  s.Get("/metrics", [&ctx](const Request& req, Response& res) {
    try {
      only_params(req, {});
      const std::string who = who_asks(ctx, req, true);
      const Json reply = call_loop(ctx, who, p::kMetrics, Json::object());
      res.status = 200;
      res.set_content(reply.at("text").get<std::string>(), "text/plain; version=0.0.4; charset=utf-8");
    } catch (const HttpError& e) {
      send_error(res, e.status, e.what());
    } catch (const std::exception& e) {
      send_error(res, 400, e.what());
    }
  });
  add_job_routes(s, ctx);
  add_host_routes(s, ctx);
  s.Get("/api/v1/events", [&ctx](const Request& req, Response& res) { serve_events(ctx, req, res); });
  // Refusals made by httplib itself (no such route, body over the limit, a
  // request it cannot parse) get the same JSON shape as the routes' own.
  s.set_error_handler([](const Request& req, Response& res) {
    if (!res.body.empty()) return;
    const std::string message = res.status == 404   ? "no such route: " + req.method + " " + req.path
                                : res.status == 413 ? std::string("request body too large")
                                : res.status == 405 ? std::string("method not allowed")
                                : res.status == 400 ? std::string("malformed HTTP request (a POST without a body needs Content-Length: 0)")
                                                    : "HTTP error " + std::to_string(res.status);
    send_error(res, res.status, message);
  });
  s.set_exception_handler([](const Request&, Response& res, std::exception_ptr) {
    send_error(res, 500, "internal error");
  });
}

}  // namespace qube::supervisor
