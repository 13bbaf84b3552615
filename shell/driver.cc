#include "shell/driver.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <iostream>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "boost/asio/post.hpp"
#include "core/printable.h"
#include "shell/close_reason.h"
#include "shell/endpoint.h"
#include "shell/fd_budget.h"
#include "shell/quic/session.h"
#include "shell/wire.h"

namespace connmgr::shell {

using boost::asio::ip::tcp;

struct Driver::Socket {
  explicit Socket(std::shared_ptr<tcp::socket> s) : socket(std::move(s)) {}
  ConnectionId id;
  std::shared_ptr<tcp::socket> socket;  // null for QUIC
  // QUIC: the connection, the endpoint it arrived at or was dialled from (a dial's own), and
  // the client's first Initial while the core decides.
  std::shared_ptr<quic::Connection> quic;
  std::shared_ptr<quic::Endpoint> quic_endpoint;
  bool owns_quic_endpoint = false;
  boost::asio::ip::udp::endpoint remote_udp;  // a dial's destination
  std::optional<quic::InitialPacket> initial;
  bool closed = false;
  std::shared_ptr<ConnectionMemory> memory;  // from the upgrade on
  std::unique_ptr<Session> session;          // after the upgrade
  std::unique_ptr<boost::asio::steady_timer> hold_timer;
};

struct Driver::Listener {
  Listener(boost::asio::io_context& io) : acceptor(io), retry(io) {}
  tcp::acceptor acceptor;
  boost::asio::steady_timer retry;       // the pause after an accept error such as EMFILE
  std::shared_ptr<quic::Endpoint> quic;  // a QUIC listener: its UDP endpoint instead
  Multiaddr address;
};

namespace {

std::chrono::steady_clock::time_point SteadyTimeOf(Instant at) {
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(at.nanoseconds()));
}

RateLimitedLog::Sink LogSink(std::function<void(absl::string_view)> log) {
  if (log) return log;
  return [](absl::string_view line) { std::cerr << line << std::endl; };
}

// Closes a socket's transport: the TCP socket, or QUIC's CONNECTION_CLOSE (its application
// error 0; a reset is a close too, so that the peer learns of it) and a dial's own endpoint.
void CloseTransport(const std::shared_ptr<tcp::socket>& socket,
                    const std::shared_ptr<quic::Connection>& connection,
                    const std::shared_ptr<quic::Endpoint>& own_endpoint, bool reset);

void CloseQuietly(tcp::socket& socket, bool reset) {
  boost::system::error_code ignored;
  if (reset) {
    socket.set_option(tcp::socket::linger(true, 0), ignored);
  } else {
    socket.shutdown(tcp::socket::shutdown_both, ignored);
  }
  socket.close(ignored);
}

void CloseTransport(const std::shared_ptr<tcp::socket>& socket,
                    const std::shared_ptr<quic::Connection>& connection,
                    const std::shared_ptr<quic::Endpoint>& own_endpoint, bool reset) {
  if (socket != nullptr) CloseQuietly(*socket, reset);
  if (connection != nullptr) connection->Close(0, reset ? "reset" : "closed");
  if (own_endpoint != nullptr) own_endpoint->Close();
}

// An accept that failed for this one connection (it went away, a firewall refused it): the
// listener takes the next at once. Anything else (out of descriptors or memory) pauses it.
bool FailedForThisConnectionOnly(const boost::system::error_code& ec) {
  // Compared as system errors (not generic conditions) and asio's names for them.
  const boost::system::error_code protocol_error(EPROTO, boost::system::system_category());
  return ec == boost::asio::error::connection_aborted ||
         ec == boost::asio::error::connection_reset || ec == boost::asio::error::would_block ||
         ec == boost::asio::error::try_again || ec == boost::asio::error::interrupted ||
         ec == boost::asio::error::no_permission || ec == protocol_error;
}

// The held-reject cap when the options leave it unset: the fd budget's share of the limit.
size_t DefaultMaxHeldRejects(const Config& config) {
  absl::StatusOr<uint64_t> limit = CurrentFdLimit();
  constexpr uint64_t kCommonSoftLimit = 1'024;  // if the limit cannot even be read
  return static_cast<size_t>(DeriveFdBudget(limit.ok() ? *limit : kCommonSoftLimit,
                                            config.max_outbound_pending_connections)
                                 .held_rejects);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Driver>> Driver::Create(boost::asio::io_context& io,
                                                       DriverOptions options) {
  if (options.upgrader == nullptr) {
    return absl::InvalidArgumentError("driver: upgrader: required");
  }
  if (options.max_accepts_per_turn == 0) {
    return absl::InvalidArgumentError("driver: max_accepts_per_turn: must be at least 1");
  }
  if (options.accept_pause <= Duration::Zero()) {
    return absl::InvalidArgumentError("driver: accept_pause: must be positive");
  }
  absl::StatusOr<std::unique_ptr<Core>> core = Core::Create(options.config, options.gater);
  if (!core.ok()) return core.status();
  return std::unique_ptr<Driver>(new Driver(io, std::move(options), *std::move(core)));
}

Driver::Driver(boost::asio::io_context& io, DriverOptions options, std::unique_ptr<Core> core)
    : io_(io),
      options_(std::move(options)),
      core_(std::move(core)),
      timer_(io),
      close_log_(LogSink(options_.log), options_.max_close_log_lines, options_.close_log_interval),
      accept_log_(LogSink(options_.log), /*max_lines=*/1, options_.accept_error_log_interval) {
  if (options_.trace) trace_.emplace(core_->config(), options_.trace);
  max_held_rejects_ = options_.max_held_rejects ? *options_.max_held_rejects
                                                : DefaultMaxHeldRejects(core_->config());
}

Driver::~Driver() {
  Shutdown();
  *alive_ = false;
}

void Driver::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  for (auto* table : {&sockets_, &held_}) {
    for (auto& [id, s] : *table) {
      s->closed = true;
      if (s->session) s->session->Close();
      if (s->hold_timer) s->hold_timer->cancel();
      CloseTransport(s->socket, s->quic, s->owns_quic_endpoint ? s->quic_endpoint : nullptr,
                     /*reset=*/true);
    }
    table->clear();
  }
  for (const std::shared_ptr<Listener>& l : listeners_) {
    boost::system::error_code ignored;
    l->acceptor.close(ignored);
    l->retry.cancel();
    if (l->quic) l->quic->Close();
  }
  listeners_.clear();
  timer_.cancel();
}

absl::StatusOr<Multiaddr> Driver::Listen(const Multiaddr& address) {
  if (stopped_) return absl::FailedPreconditionError("listen: the driver was shut down");
  if (address.WithoutPeerId().transport() == Transport::kQuicV1) return ListenQuic(address);
  absl::StatusOr<tcp::endpoint> endpoint = TcpEndpointOf(address);
  if (!endpoint.ok()) return endpoint.status();
  auto listener = std::make_shared<Listener>(io_);
  boost::system::error_code ec;
  listener->acceptor.open(endpoint->protocol(), ec);
  if (!ec) listener->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) listener->acceptor.bind(*endpoint, ec);
  if (!ec) listener->acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (!ec) listener->acceptor.non_blocking(true, ec);
  tcp::endpoint bound;
  if (!ec) bound = listener->acceptor.local_endpoint(ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("listen on ", address.ToString(), ": ", ec.message()));
  }
  listener->address = MultiaddrOf(bound);
  listeners_.push_back(listener);
  AcceptNext(listener);
  return listener->address;
}

absl::Status Driver::StopListening(const Multiaddr& address) {
  for (auto it = listeners_.begin(); it != listeners_.end(); ++it) {
    if ((*it)->address != address) continue;
    boost::system::error_code ignored;
    (*it)->acceptor.close(ignored);
    (*it)->retry.cancel();
    if ((*it)->quic) (*it)->quic->Close();
    listeners_.erase(it);
    return absl::OkStatus();
  }
  return absl::NotFoundError(absl::StrCat("stop listening: not listening on ", address.ToString()));
}

std::vector<Multiaddr> Driver::listen_addresses() const {
  std::vector<Multiaddr> out;
  for (const std::shared_ptr<Listener>& l : listeners_) out.push_back(l->address);
  return out;
}

absl::StatusOr<ConnectionId> Driver::Submit(const Input& input, std::vector<Output>* produced) {
  return Feed(input, nullptr, produced);
}

absl::StatusOr<ConnectionId> Driver::Feed(const Input& input,
                                          const std::function<void(ConnectionId)>& adopt,
                                          std::vector<Output>* produced) {
  if (stopped_) return absl::FailedPreconditionError("driver: shut down");
  const Instant now = SteadyNow();
  absl::StatusOr<ConnectionId> result;
  if (trace_) {
    std::vector<Output> outputs;
    result = trace_->Handle(*core_, now, input, &outputs);
    for (Output& o : outputs) {
      if (produced != nullptr) produced->push_back(o);
      pending_outputs_.push_back(std::move(o));
    }
  } else {
    result = core_->Handle(now, input);
    while (std::optional<Output> o = core_->PollOutput()) {
      if (produced != nullptr) produced->push_back(*o);
      pending_outputs_.push_back(*std::move(o));
    }
  }
  if (result.ok() && adopt) adopt(*result);
  // Outputs of inputs handed in while carrying out (by observers or synchronous callbacks)
  // join the queue and are carried out here, in order.
  if (!carrying_out_) {
    carrying_out_ = true;
    while (!pending_outputs_.empty() && !stopped_) {
      const Output output = std::move(pending_outputs_.front());
      pending_outputs_.pop_front();
      CarryOut(output);
      for (const Observer& observer : observers_) observer(output);
    }
    carrying_out_ = false;
  }
  if (!stopped_) ArmTimer();
  return result;
}

void Driver::Post(Input input) {
  boost::asio::post(io_, [this, alive = alive_, input = std::move(input)] {
    if (*alive && !stopped_) Submit(input).IgnoreError();
  });
}

void Driver::ArmTimer() {
  const Instant deadline = core_->NextDeadline();
  if (deadline == armed_at_) return;
  armed_at_ = deadline;
  if (deadline == Instant::Never()) {
    timer_.cancel();
    return;
  }
  // A deadline already passed fires at once; the handler re-reads the clock.
  timer_.expires_at(SteadyTimeOf(deadline));
  timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (!*alive || stopped_ || ec == boost::asio::error::operation_aborted) return;
    armed_at_ = Instant::Never();
    Submit(TimerExpired{}).IgnoreError();
  });
}

// Carries out one command. One handler per command and no catch-all: a command added to the
// core's list fails to compile here until the driver carries it out.
struct Driver::CommandCarrier {
  Driver& d;

  void operator()(const AcceptConnection& accept) const {
    auto it = d.sockets_.find(accept.connection.value);
    if (it == d.sockets_.end()) return;
    if (it->second->initial) {
      d.StartQuicHandshake(it->second, Direction::kInbound, std::nullopt);
    } else {
      d.StartUpgrade(it->second, Direction::kInbound, std::nullopt);
    }
  }
  void operator()(const RejectConnection& reject) const {
    auto it = d.sockets_.find(reject.connection.value);
    if (it == d.sockets_.end()) return;
    std::shared_ptr<Socket> s = it->second;
    d.sockets_.erase(it);
    if (s->initial) {
      s->closed = true;
      s->quic_endpoint->Refuse(*s->initial);  // stateless: nothing to hold
      return;
    }
    d.Hold(s, reject.hold);
  }
  void operator()(const CloseConnection& close) const {
    d.Drop(close.connection, /*reset=*/false);
    d.Post(TransportClosed{close.connection});
  }
  void operator()(const AbortConnection& abort) const { d.Drop(abort.connection, /*reset=*/true); }
  void operator()(const ResetStream& reset) const {
    auto it = d.sockets_.find(reset.connection.value);
    if (it != d.sockets_.end() && it->second->session) {
      it->second->session->ResetStream(static_cast<StreamId>(reset.stream));
    }
  }
  void operator()(const DialAddress& dial) const { d.StartDial(dial); }
  void operator()(const CancelDialAttempt& cancel) const {
    d.Drop(cancel.connection, /*reset=*/true);
  }
  void operator()(const ResolveDns& resolve) const { d.Resolve(resolve); }
};

void Driver::CarryOut(const Output& output) {
  if (std::optional<Command> command = AsCommand(output)) {
    std::visit(CommandCarrier{*this}, *command);
  }
}

void Driver::Resolve(const ResolveDns& resolve) {
  const uint64_t query = resolve.query;
  if (!options_.dns) {
    Post(DnsFailed{query, "no DNS resolver configured"});
    return;
  }
  options_.dns(resolve.name, resolve.type,
               [this, alive = alive_, query](absl::StatusOr<DnsAnswer> answer) {
                 if (!*alive || stopped_) return;
                 if (answer.ok()) {
                   Post(DnsAnswered{query, std::move(answer->records), answer->ttl});
                 } else {
                   Post(DnsFailed{query, std::string(answer.status().message())});
                 }
               });
}

void Driver::AcceptNext(const std::shared_ptr<Listener>& listener) {
  listener->acceptor.async_accept(
      [this, alive = alive_, listener](const boost::system::error_code& ec, tcp::socket socket) {
        if (!*alive || stopped_ || !listener->acceptor.is_open()) return;
        if (ec) {
          if (ec == boost::asio::error::operation_aborted) return;
          if (FailedForThisConnectionOnly(ec)) {
            AcceptNext(listener);
          } else {
            PauseAccepting(listener, ec);
          }
          return;
        }
        OnAccepted(std::move(socket));
        // Take the connections already waiting, up to the cap, then yield to other handlers
        // (timers, reads) so a flood cannot starve them.
        for (size_t i = 1; i < options_.max_accepts_per_turn && !stopped_; ++i) {
          boost::system::error_code again;
          tcp::socket next(io_);
          listener->acceptor.accept(next, again);
          if (again) break;
          OnAccepted(std::move(next));
        }
        if (!stopped_ && listener->acceptor.is_open()) AcceptNext(listener);
      });
}

void Driver::PauseAccepting(const std::shared_ptr<Listener>& listener,
                            const boost::system::error_code& error) {
  ++accept_pauses_;
  // Retrying at once would fail the same way (the connection waits in the backlog): wait.
  listener->retry.expires_after(std::chrono::nanoseconds(options_.accept_pause.nanoseconds()));
  listener->retry.async_wait([this, alive = alive_, listener](const boost::system::error_code& e) {
    if (*alive && !stopped_ && !e && listener->acceptor.is_open()) AcceptNext(listener);
  });
  accept_log_.Write(
      SteadyNow(),
      absl::StrCat("connmgr: accept on ", listener->address.ToString(), ": ", error.message(),
                   "; not accepting for ", options_.accept_pause.nanoseconds() / 1'000'000, " ms"));
}

void Driver::OnAccepted(tcp::socket socket) {
  boost::system::error_code remote_error, local_error;
  const tcp::endpoint remote = socket.remote_endpoint(remote_error);
  const tcp::endpoint local = socket.local_endpoint(local_error);
  if (remote_error || local_error) {
    CloseQuietly(socket, /*reset=*/true);
    return;
  }
  auto s = std::make_shared<Socket>(std::make_shared<tcp::socket>(std::move(socket)));
  absl::StatusOr<ConnectionId> id =
      Feed(InboundConnection{MultiaddrOf(remote), MultiaddrOf(local)}, [&](ConnectionId id) {
        s->id = id;
        sockets_[id.value] = s;
      });
  if (!id.ok()) CloseQuietly(*s->socket, /*reset=*/true);
}

void Driver::StartUpgrade(const std::shared_ptr<Socket>& s, Direction direction,
                          std::optional<PeerId> expected) {
  const Config& config = core_->config();
  s->memory = std::make_shared<ConnectionMemory>(MemoryScope(ConnectionId{}));
  ConnectionResources resources{s->memory, config.stream_receive_window,
                                config.max_connection_send_bytes, config.slow_reader_timeout};
  options_.upgrader->Upgrade(
      s->socket, direction, std::move(expected), std::move(resources),
      [this, alive = alive_, s, direction](absl::StatusOr<Upgraded> upgraded) {
        if (!*alive || stopped_ || s->closed) return;
        FinishUpgrade(s, direction, std::move(upgraded));
      });
}

void Driver::FinishUpgrade(const std::shared_ptr<Socket>& s, Direction direction,
                           absl::StatusOr<Upgraded> upgraded) {
  const ConnectionId id = s->id;
  if (!upgraded.ok()) {
    const CloseReason reason = CloseReasonOf(upgraded.status());
    LogClose(id, reason, upgraded.status());
    Drop(id, /*reset=*/true);
    if (direction == Direction::kInbound) {
      Submit(TransportClosed{id, reason}).IgnoreError();
    } else {
      Submit(DialFailed{id, std::string(upgraded.status().message())}).IgnoreError();
    }
    return;
  }
  s->session = std::move(upgraded->session);
  if (direction == Direction::kInbound) {
    Submit(ConnectionUpgraded{id, upgraded->peer}).IgnoreError();
  } else {
    Submit(DialSucceeded{id}).IgnoreError();
  }
  // Only now: streams the peer opened already may be counted on an open connection.
  if (!s->closed && MoveMemoryToConnection(s)) StartSession(s);
}

ConnectionMemory::Scope Driver::MemoryScope(ConnectionId id) {
  ConnectionMemory::Scope scope;
  scope.reserve = [this, alive = alive_, id](uint64_t bytes, uint8_t priority) {
    if (!*alive || stopped_) return false;
    std::vector<Output> produced;
    if (!Submit(ReserveMemory{id, bytes, priority}, &produced).ok()) return false;
    return std::any_of(produced.begin(), produced.end(), [&](const Output& o) {
      const auto* answer = std::get_if<MemoryReservation>(&o);
      return answer != nullptr && answer->connection == id && answer->granted;
    });
  };
  scope.release = [this, alive = alive_, id](uint64_t bytes) {
    if (*alive && !stopped_) Submit(ReleaseMemory{id, bytes}).IgnoreError();
  };
  // The core releases a connection's own reservation when it ends, not the transient scope's.
  scope.released_by_core_at_end = id != ConnectionId{};
  return scope;
}

bool Driver::MoveMemoryToConnection(const std::shared_ptr<Socket>& s) {
  const uint64_t bytes = s->memory->reserved();
  if (s->memory->MoveTo(MemoryScope(s->id), /*priority=*/255)) return true;
  EndConnection(s->id, WithCloseReason(absl::ResourceExhaustedError(
                                           absl::StrCat("the core refused the ", bytes,
                                                        " bytes of its upgrade to the connection")),
                                       CloseReason::kMemoryLimit));
  return false;
}

void Driver::EndConnection(ConnectionId id, const absl::Status& why) {
  const CloseReason reason = CloseReasonOf(why);
  LogClose(id, reason, why);
  Drop(id, /*reset=*/false);
  Submit(TransportClosed{id, reason}).IgnoreError();
}

void Driver::LogClose(ConnectionId id, CloseReason reason, const absl::Status& why) {
  if (reason == CloseReason::kTransport) return;  // the peer went; nothing the shell decided
  std::string who = "?";
  if (const Connection* c = core_->connections().Find(id)) {
    who = c->remote.ToString();
    if (!c->peer.is_empty()) absl::StrAppend(&who, " ", c->peer.ToString());
  }
  // The message may quote the peer (a multistream header it sent, say): escaped and capped.
  constexpr size_t kMaxReasonChars = 256;
  close_log_.Write(SteadyNow(), absl::StrCat("connmgr: closed connection ", id.value, " (", who,
                                             "): ", CloseReasonName(reason), ": ",
                                             Printable(why.message(), kMaxReasonChars)));
}

void Driver::StartSession(const std::shared_ptr<Socket>& s) {
  // The session holds these: they must not own the socket that owns the session.
  std::weak_ptr<Socket> weak = s;
  Session::Events events;
  events.stream_opened = [this, alive = alive_, weak](StreamId stream, const std::string& protocol,
                                                      Direction direction) {
    std::shared_ptr<Socket> s = weak.lock();
    if (!*alive || stopped_ || s == nullptr || s->closed) return;
    CountStream(s, stream, protocol, direction);
  };
  events.stream_data = [this, alive = alive_, weak](StreamId stream, std::string bytes) {
    std::shared_ptr<Socket> s = weak.lock();
    if (!*alive || stopped_ || s == nullptr || s->closed || !stream_data_) return;
    stream_data_(s->id, stream, std::move(bytes));
  };
  events.stream_closed = [this, alive = alive_, weak](StreamId stream, const std::string& protocol,
                                                      Direction direction) {
    std::shared_ptr<Socket> s = weak.lock();
    if (!*alive || stopped_ || s == nullptr || s->closed) return;
    Submit(StreamClosed{s->id, stream, protocol, direction}).IgnoreError();
    if (stream_events_) stream_events_(s->id, stream, protocol, direction, false);
  };
  events.closed = [this, alive = alive_, weak](const absl::Status& why) {
    std::shared_ptr<Socket> s = weak.lock();
    if (!*alive || stopped_ || s == nullptr || s->closed) return;
    EndConnection(s->id, why);
  };
  s->session->Start(std::move(events));
}

bool Driver::CountStream(const std::shared_ptr<Socket>& s, StreamId stream,
                         const std::string& protocol, Direction direction) {
  std::vector<Output> produced;
  absl::Status status =
      Submit(StreamOpened{s->id, stream, protocol, direction}, &produced).status();
  // A refusal is a ResetStream naming this stream; it is carried out (the session resets the
  // stream) with the rest of the input's outputs.
  const bool refused = std::any_of(produced.begin(), produced.end(), [&](const Output& o) {
    const auto* reset = std::get_if<ResetStream>(&o);
    return reset != nullptr && reset->connection == s->id && reset->stream == stream;
  });
  if (!status.ok()) {
    if (s->session) s->session->ResetStream(stream);
    return false;
  }
  if (refused) return false;
  if (stream_events_) stream_events_(s->id, stream, protocol, direction, true);
  return true;
}

void Driver::OpenStream(ConnectionId id, const std::string& protocol,
                        std::function<void(absl::StatusOr<StreamId>)> done) {
  auto it = sockets_.find(id.value);
  if (it == sockets_.end() || it->second->session == nullptr) {
    return done(absl::NotFoundError(
        absl::StrCat("open stream: connection ", id.value, " is not an open connection")));
  }
  std::shared_ptr<Socket> s = it->second;
  s->session->OpenStream(protocol, [this, alive = alive_, s, protocol,
                                    done = std::move(done)](absl::StatusOr<StreamId> stream) {
    if (!*alive || stopped_ || s->closed) {
      return done(absl::UnavailableError("open stream: the connection closed"));
    }
    if (!stream.ok()) return done(stream.status());
    if (!CountStream(s, *stream, protocol, Direction::kOutbound)) {
      return done(absl::ResourceExhaustedError(
          absl::StrCat("open stream ", protocol, ": refused by a stream limit")));
    }
    done(*stream);
  });
}

absl::Status Driver::WriteStream(ConnectionId id, StreamId stream, std::string bytes) {
  auto it = sockets_.find(id.value);
  if (it == sockets_.end() || it->second->session == nullptr) {
    return absl::NotFoundError(absl::StrCat("write: connection ", id.value, " is not open"));
  }
  return it->second->session->Write(stream, std::move(bytes));
}

absl::Status Driver::CloseStreamWrite(ConnectionId id, StreamId stream) {
  auto it = sockets_.find(id.value);
  if (it == sockets_.end() || it->second->session == nullptr) {
    return absl::NotFoundError(absl::StrCat("close stream: connection ", id.value, " is not open"));
  }
  return it->second->session->CloseWrite(stream);
}

void Driver::Ping(ConnectionId id, std::function<void(absl::StatusOr<Duration>)> done) {
  auto it = sockets_.find(id.value);
  if (it == sockets_.end() || it->second->session == nullptr) {
    return done(absl::NotFoundError(absl::StrCat("ping: connection ", id.value, " is not open")));
  }
  it->second->session->Ping(std::move(done));
}

std::optional<Duration> Driver::RoundTrip(ConnectionId id) const {
  auto it = sockets_.find(id.value);
  if (it == sockets_.end() || it->second->session == nullptr) return std::nullopt;
  return it->second->session->round_trip();
}

void Driver::StartDial(const DialAddress& dial) {
  const ConnectionId id = dial.connection;
  if (dial.address.WithoutPeerId().transport() == Transport::kQuicV1) return StartQuicDial(dial);
  absl::StatusOr<tcp::endpoint> endpoint = TcpEndpointOf(dial.address);
  if (!endpoint.ok()) {
    Post(DialFailed{id, std::string(endpoint.status().message())});
    return;
  }
  auto s = std::make_shared<Socket>(std::make_shared<tcp::socket>(io_));
  s->id = id;
  boost::system::error_code ec;
  s->socket->open(endpoint->protocol(), ec);
  if (!ec && options_.dial_source_ip) {
    const boost::asio::ip::address source =
        boost::asio::ip::make_address(options_.dial_source_ip->ToString(), ec);
    if (!ec) s->socket->bind(tcp::endpoint(source, 0), ec);
  }
  if (ec) {
    CloseQuietly(*s->socket, /*reset=*/true);
    Post(DialFailed{id, absl::StrCat("socket: ", ec.message())});
    return;
  }
  sockets_[id.value] = s;
  s->socket->async_connect(
      *endpoint, [this, alive = alive_, s, peer = dial.peer](const boost::system::error_code& e) {
        if (!*alive || stopped_ || s->closed) return;
        if (e) {
          Drop(s->id, /*reset=*/true);
          Submit(DialFailed{s->id, e.message()}).IgnoreError();
          return;
        }
        StartUpgrade(s, Direction::kOutbound, peer);
      });
}

void Driver::Hold(const std::shared_ptr<Socket>& s, Duration hold) {
  s->closed = true;  // no longer a connection: its handlers stop
  if (hold <= Duration::Zero() || held_.size() >= max_held_rejects_) {
    CloseTransport(s->socket, s->quic, nullptr, /*reset=*/false);
    return;
  }
  s->hold_timer = std::make_unique<boost::asio::steady_timer>(io_);
  s->hold_timer->expires_after(std::chrono::nanoseconds(hold.nanoseconds()));
  held_[s->id.value] = s;
  s->hold_timer->async_wait([this, alive = alive_, s](const boost::system::error_code& ec) {
    if (!*alive || ec == boost::asio::error::operation_aborted) return;
    CloseQuietly(*s->socket, /*reset=*/false);
    held_.erase(s->id.value);
  });
}

void Driver::Drop(ConnectionId id, bool reset) {
  auto it = sockets_.find(id.value);
  if (it == sockets_.end()) return;
  std::shared_ptr<Socket> s = std::move(it->second);
  sockets_.erase(it);
  s->closed = true;
  if (s->session) s->session->Close();
  if (s->memory) s->memory->End();  // the transient scope's share; the core frees the rest
  CloseTransport(s->socket, s->quic, s->owns_quic_endpoint ? s->quic_endpoint : nullptr, reset);
}

// --- QUIC ----------------------------------------------------------------------------------------

absl::StatusOr<Multiaddr> Driver::ListenQuic(const Multiaddr& address) {
  if (options_.quic == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("listen on ", address.ToString(), ": this node has no QUIC transport"));
  }
  absl::StatusOr<boost::asio::ip::udp::endpoint> local = quic::QuicEndpointOf(address);
  if (!local.ok()) return local.status();
  absl::StatusOr<std::shared_ptr<quic::TlsCredentials>> credentials = options_.quic->credentials();
  if (!credentials.ok()) return credentials.status();
  auto listener = std::make_shared<Listener>(io_);
  std::weak_ptr<Listener> weak = listener;
  absl::StatusOr<std::shared_ptr<quic::Endpoint>> endpoint =
      quic::Endpoint::Open(io_, *local, *std::move(credentials),
                           [this, alive = alive_, weak](const quic::InitialPacket& initial) {
                             std::shared_ptr<Listener> l = weak.lock();
                             if (!*alive || stopped_ || l == nullptr || l->quic == nullptr) return;
                             OnQuicInitial(l->quic, l->address, initial);
                           });
  if (!endpoint.ok()) {
    return absl::UnavailableError(
        absl::StrCat("listen on ", address.ToString(), ": ", endpoint.status().message()));
  }
  listener->quic = *std::move(endpoint);
  listener->address = quic::QuicMultiaddrOf(listener->quic->local());
  listeners_.push_back(listener);
  listener->quic->Start();
  return listener->address;
}

void Driver::OnQuicInitial(const std::shared_ptr<quic::Endpoint>& endpoint, const Multiaddr& local,
                           const quic::InitialPacket& initial) {
  auto s = std::make_shared<Socket>(nullptr);
  s->quic_endpoint = endpoint;
  s->initial = initial;
  // Before any crypto: the core's admission (deny lists, rate limits, per-IP caps, the pending
  // limit) decides; AcceptConnection or RejectConnection is carried out within this call.
  absl::StatusOr<ConnectionId> id =
      Feed(InboundConnection{quic::QuicMultiaddrOf(initial.remote), local}, [&](ConnectionId id) {
        s->id = id;
        sockets_[id.value] = s;
      });
  if (!id.ok()) endpoint->Refuse(initial);
}

quic::ConnectionLimits Driver::QuicLimits() const {
  const Config& config = core_->config();
  quic::ConnectionLimits limits;
  // The core's per-connection stream limit is the peer's stream credit (0: the core sets none;
  // QUIC needs a number, so a large one).
  constexpr uint64_t kUnlimitedStreams = uint64_t{1} << 16;
  limits.max_streams = config.max_streams_per_connection == 0 ? kUnlimitedStreams
                                                              : config.max_streams_per_connection;
  limits.stream_receive_window = config.stream_receive_window;
  return limits;
}

void Driver::StartQuicHandshake(const std::shared_ptr<Socket>& s, Direction direction,
                                std::optional<PeerId> expected) {
  s->memory = std::make_shared<ConnectionMemory>(MemoryScope(ConnectionId{}));
  const Config& config = core_->config();
  ConnectionResources resources{s->memory, config.stream_receive_window,
                                config.max_connection_send_bytes, config.slow_reader_timeout};
  std::weak_ptr<Socket> weak = s;
  quic::Connection::Events events;
  events.handshake = [this, alive = alive_, weak, direction,
                      resources](const absl::StatusOr<PeerId>& peer) {
    std::shared_ptr<Socket> s = weak.lock();
    if (!*alive || stopped_ || s == nullptr || s->closed) return;
    if (!peer.ok()) {
      return FinishUpgrade(s, direction,
                           WithCloseReason(peer.status(), CloseReason::kHandshakeFailed));
    }
    Upgraded upgraded;
    upgraded.peer = *peer;
    upgraded.session =
        quic::MakeQuicSession(s->quic, *peer, quic::QuicMultiaddrOf(s->quic->remote()),
                              options_.quic->options(), resources);
    FinishUpgrade(s, direction, std::move(upgraded));
  };
  absl::StatusOr<std::shared_ptr<quic::Connection>> connection;
  // ngtcp2's and GnuTLS's state for the handshake, charged to the transient scope first.
  if (!s->memory->Cover(quic::kConnectionStateBytes, Wire::kReadPriority)) {
    connection = WithCloseReason(
        absl::ResourceExhaustedError("quic: the core granted no memory for the handshake"),
        CloseReason::kMemoryLimit);
  } else if (direction == Direction::kInbound) {
    const quic::InitialPacket initial = *std::move(s->initial);
    s->initial.reset();
    connection = s->quic_endpoint->Accept(initial, QuicLimits(), std::move(events));
  } else {
    connection =
        s->quic_endpoint->Dial(s->remote_udp, QuicLimits(), std::move(expected), std::move(events));
  }
  if (!connection.ok()) {
    // Reported from a fresh handler, as a failed upgrade is.
    boost::asio::post(io_, [this, alive = alive_, s, direction, why = connection.status()] {
      if (*alive && !stopped_ && !s->closed) FinishUpgrade(s, direction, why);
    });
    return;
  }
  s->quic = *std::move(connection);
}

void Driver::StartQuicDial(const DialAddress& dial) {
  const ConnectionId id = dial.connection;
  if (options_.quic == nullptr) {
    Post(DialFailed{id, "this node has no QUIC transport"});
    return;
  }
  absl::StatusOr<boost::asio::ip::udp::endpoint> remote = quic::QuicEndpointOf(dial.address);
  if (!remote.ok()) {
    Post(DialFailed{id, std::string(remote.status().message())});
    return;
  }
  absl::StatusOr<std::shared_ptr<quic::TlsCredentials>> credentials = options_.quic->credentials();
  if (!credentials.ok()) {
    Post(DialFailed{id, std::string(credentials.status().message())});
    return;
  }
  // Each dial has its own socket: from dial_source_ip when set, else any local address.
  boost::asio::ip::address source =
      remote->address().is_v4() ? boost::asio::ip::address(boost::asio::ip::address_v4::any())
                                : boost::asio::ip::address(boost::asio::ip::address_v6::any());
  if (options_.dial_source_ip) {
    boost::system::error_code ec;
    source = boost::asio::ip::make_address(options_.dial_source_ip->ToString(), ec);
  }
  absl::StatusOr<std::shared_ptr<quic::Endpoint>> endpoint = quic::Endpoint::Open(
      io_, boost::asio::ip::udp::endpoint(source, 0), *std::move(credentials), nullptr);
  if (!endpoint.ok()) {
    Post(DialFailed{id, std::string(endpoint.status().message())});
    return;
  }
  auto s = std::make_shared<Socket>(nullptr);
  s->id = id;
  s->quic_endpoint = *std::move(endpoint);
  s->owns_quic_endpoint = true;
  s->remote_udp = *remote;
  sockets_[id.value] = s;
  s->quic_endpoint->Start();
  StartQuicHandshake(s, Direction::kOutbound, dial.peer);
}

}  // namespace connmgr::shell
