// Driver: runs one connmgr Core on a Boost.Asio io_context. It feeds the core real events
// (accepted sockets, dial results, closes, DNS answers, its one timer) and carries out the
// core's commands on real sockets. Policy lives in the core; the driver only executes.
//
//   boost::asio::io_context io;
//   DriverOptions options;
//   options.config = config;
//   options.upgrader = upgrader;
//   auto driver = Driver::Create(io, std::move(options)).value();
//   driver->Listen(Multiaddr::Parse("/ip4/127.0.0.1/tcp/0").value());
//   driver->Submit(DialRequest{...});       // any core input, handed in with the clock's now
//   io.run();
//
// Threading: one driver, one core, one io_context thread. Several cores run as several drivers,
// on one io_context or on one each. Nothing here locks.
//
// Carrying out (docs/design.md, "The shell"):
//   accept_connection   upgrade the socket, then connection_upgraded (or transport_closed)
//   reject_connection   close it, or hold it `hold` first (at most max_held_rejects at once;
//                       unset, they fit the descriptor limit: shell/fd_budget.h)
//   close_connection    shut the socket down and close it, then transport_closed
//   abort_connection    reset it (linger 0); nothing is reported
//   dial_address        connect (from dial_source_ip if set) and upgrade, then dial_succeeded
//                       or dial_failed
//   cancel_dial_attempt reset the attempt's socket; nothing is reported
//   resolve_dns         ask the DNS lookup, then dns_answered or dns_failed
//
// QUIC (shell/quic/): a client's Initial that would create a connection is InboundConnection
// before any crypto; accept_connection runs the QUIC handshake (the upgrade) on the held
// Initial, reject_connection answers it with a stateless CONNECTION_CLOSE (CONNECTION_REFUSED)
// and keeps nothing (no hold: there is no socket to hold). close, abort and cancel send
// CONNECTION_CLOSE. Each dial gets its own UDP socket.
// A socket error or EOF on a live connection is transport_closed. Inputs the driver makes while
// carrying out commands are posted to the io_context, never handled re-entrantly.
//
// Each connection's buffers are reserved from the core (shell/connection_memory.h): with
// conn 0 (the transient scope) while it upgrades, moved to the connection when the core opens
// it. A connection the shell ends itself is reported with its reason (protocol_error,
// handshake_failed, slow_reader, memory_limit; shell/close_reason.h) and logged, at most
// max_close_log_lines per close_log_interval.
//
// When accept fails for want of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM), the
// listener stops accepting for accept_pause (a timer) and the driver logs it, at most once per
// accept_error_log_interval.
#ifndef CONNMGR_SHELL_DRIVER_H_
#define CONNMGR_SHELL_DRIVER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "core/core.h"
#include "shell/connection_memory.h"
#include "shell/quic/endpoint.h"
#include "shell/quic/transport.h"
#include "shell/rate_limited_log.h"
#include "shell/upgrader.h"
#include "trace/trace_format.h"

namespace connmgr::shell {

// Resolves `name` for `type` and calls `done` once on the io_context thread.
using DnsLookup = std::function<void(const std::string& name, DnsRecordType type,
                                     std::function<void(absl::StatusOr<DnsAnswer>)> done)>;

struct DriverOptions {
  Config config;
  std::shared_ptr<Upgrader> upgrader;  // required
  // QUIC (/udp/P/quic-v1 listen and dial, shell/quic/); without it, QUIC addresses fail.
  std::shared_ptr<quic::Transport> quic;
  std::shared_ptr<ConnectionGater> gater;   // optional (core/gater.h)
  DnsLookup dns;                            // optional: without it every lookup fails
  TraceWriter::Sink trace;                  // optional: records the run (trace format)
  std::optional<IpAddress> dial_source_ip;  // bind dials to this local address
  // Refused sockets held open at once; beyond, a held reject closes at once. Unset: the
  // budget's share of the soft RLIMIT_NOFILE in force (DeriveFdBudget, shell/fd_budget.h).
  std::optional<size_t> max_held_rejects;
  size_t max_accepts_per_turn = 32;  // accepts per listener before yielding
  // Messages for the operator (why the shell closed a connection, a listener pausing);
  // default: one line each on stderr.
  std::function<void(absl::string_view)> log;
  // Lines saying why the shell closed a connection, at most so many per interval.
  uint32_t max_close_log_lines = 20;
  Duration close_log_interval = Duration::Seconds(10);
  // After accept fails for want of descriptors or memory: how long the listener stops accepting,
  // and how often at most the driver says so.
  Duration accept_pause = Duration::Milliseconds(100);
  Duration accept_error_log_interval = Duration::Seconds(10);
};

class Driver {
 public:
  static absl::StatusOr<std::unique_ptr<Driver>> Create(boost::asio::io_context& io,
                                                        DriverOptions options);
  ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  // Listens on /ip4|ip6/A/tcp/P or, with options.quic, /ip4|ip6/A/udp/P/quic-v1 (P 0: any free
  // port); returns the bound address.
  absl::StatusOr<Multiaddr> Listen(const Multiaddr& address);
  // Stops the listener bound to `address` (as Listen returned it).
  absl::Status StopListening(const Multiaddr& address);

  // Hands `input` to the core at the clock's now and carries out what it produced. `produced`,
  // when given, receives a copy of this input's outputs (a refused stream's ResetStream, a
  // PlaceStream's StreamPlaced), even when they are carried out later (re-entrant calls).
  absl::StatusOr<ConnectionId> Submit(const Input& input, std::vector<Output>* produced = nullptr);

  // Called with every output the core produces, after the driver carried it out.
  using Observer = std::function<void(const Output&)>;
  void Observe(Observer observer) { observers_.push_back(std::move(observer)); }

  // Streams this side opens (OpenStream): the session's stream on connection `id`, or why not.
  // The core places and counts the stream; the session negotiates it.
  void OpenStream(ConnectionId id, const std::string& protocol,
                  std::function<void(absl::StatusOr<StreamId>)> done);
  absl::Status WriteStream(ConnectionId id, StreamId stream, std::string bytes);
  absl::Status CloseStreamWrite(ConnectionId id, StreamId stream);
  void Ping(ConnectionId id, std::function<void(absl::StatusOr<Duration>)> done);
  // The connection's last measured round trip (libp2p sessions ping every ping_interval).
  std::optional<Duration> RoundTrip(ConnectionId id) const;
  // Bytes the peer wrote on streams this side opened.
  using StreamDataHandler = std::function<void(ConnectionId, StreamId, std::string)>;
  void OnStreamData(StreamDataHandler handler) { stream_data_ = std::move(handler); }
  // Streams the core counted, as they open (`opened`) and close, either direction.
  using StreamEventHandler = std::function<void(ConnectionId, StreamId, const std::string& protocol,
                                                Direction, bool opened)>;
  void OnStreamEvent(StreamEventHandler handler) { stream_events_ = std::move(handler); }

  // Closes every listener and socket (reset), cancels the timer; the driver is inert after.
  void Shutdown();

  const Core& core() const { return *core_; }
  std::vector<Multiaddr> listen_addresses() const;
  size_t sockets() const { return sockets_.size(); }
  size_t held_rejects() const { return held_.size(); }
  size_t max_held_rejects() const { return max_held_rejects_; }
  // How many times a listener stopped accepting after a resource error.
  uint64_t accept_pauses() const { return accept_pauses_; }

 private:
  struct Socket;
  struct Listener;

  Driver(boost::asio::io_context& io, DriverOptions options, std::unique_ptr<Core> core);

  // Hands `input` to the core; `adopt` runs with its result before any output is carried out
  // (so a new id can be given its socket first).
  absl::StatusOr<ConnectionId> Feed(const Input& input,
                                    const std::function<void(ConnectionId)>& adopt,
                                    std::vector<Output>* produced = nullptr);
  void Post(Input input);
  struct CommandCarrier;
  void CarryOut(const Output& output);
  void Resolve(const ResolveDns& resolve);
  void ArmTimer();

  void AcceptNext(const std::shared_ptr<Listener>& listener);
  // Stops `listener` accepting for accept_pause after `error`, and logs it (rate-limited).
  void PauseAccepting(const std::shared_ptr<Listener>& listener,
                      const boost::system::error_code& error);
  void OnAccepted(boost::asio::ip::tcp::socket socket);
  absl::StatusOr<Multiaddr> ListenQuic(const Multiaddr& address);
  // A client's first Initial arrived at `endpoint` (listening on `local`): the core decides.
  void OnQuicInitial(const std::shared_ptr<quic::Endpoint>& endpoint, const Multiaddr& local,
                     const quic::InitialPacket& initial);
  void StartQuicHandshake(const std::shared_ptr<Socket>& s, Direction direction,
                          std::optional<PeerId> expected);
  void StartQuicDial(const DialAddress& dial);
  quic::ConnectionLimits QuicLimits() const;
  // The upgrade (or QUIC handshake) ended: the connection opens, or is closed and reported.
  void FinishUpgrade(const std::shared_ptr<Socket>& s, Direction direction,
                     absl::StatusOr<Upgraded> upgraded);
  void StartUpgrade(const std::shared_ptr<Socket>& s, Direction direction,
                    std::optional<PeerId> expected);
  void StartSession(const std::shared_ptr<Socket>& s);
  // Where a connection's memory is charged: conn 0 (the transient scope) while it upgrades,
  // then the connection itself.
  ConnectionMemory::Scope MemoryScope(ConnectionId id);
  // Moves an opened connection's reservation to it; false (and closed with memory_limit) when
  // the core refuses.
  bool MoveMemoryToConnection(const std::shared_ptr<Socket>& s);
  // Ends a connection the shell decided to end, or whose peer went: drops the socket, tells the
  // core why and logs a reason other than transport.
  void EndConnection(ConnectionId id, const absl::Status& why);
  void LogClose(ConnectionId id, CloseReason reason, const absl::Status& why);
  // Hands StreamOpened to the core; false if the core refused (and reset) the stream.
  bool CountStream(const std::shared_ptr<Socket>& s, StreamId stream, const std::string& protocol,
                   Direction direction);
  void StartDial(const DialAddress& dial);
  void Hold(const std::shared_ptr<Socket>& s, Duration hold);
  // Removes the socket from the table and closes it; `reset` sends RST (linger 0).
  void Drop(ConnectionId id, bool reset);

  boost::asio::io_context& io_;
  DriverOptions options_;
  std::unique_ptr<Core> core_;
  std::optional<TraceWriter> trace_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool stopped_ = false;
  boost::asio::steady_timer timer_;
  Instant armed_at_ = Instant::Never();
  std::vector<std::shared_ptr<Listener>> listeners_;
  absl::flat_hash_map<uint64_t, std::shared_ptr<Socket>> sockets_;  // by connection id
  absl::flat_hash_map<uint64_t, std::shared_ptr<Socket>> held_;     // rejected, held open
  std::deque<Output> pending_outputs_;                              // produced, not yet carried out
  bool carrying_out_ = false;
  std::vector<Observer> observers_;
  RateLimitedLog close_log_;
  RateLimitedLog accept_log_;
  size_t max_held_rejects_;
  uint64_t accept_pauses_ = 0;
  StreamDataHandler stream_data_;
  StreamEventHandler stream_events_;
};

}  // namespace connmgr::shell

#endif  // CONNMGR_SHELL_DRIVER_H_
