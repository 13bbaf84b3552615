// Host: the embedding API of connmgr's shell — one libp2p-style node on an io_context. It
// listens, dials, opens streams where the core places them, tags and protects peers, changes
// the allow and deny lists and the config at runtime, reports metrics, and tells subscribers
// what happened. Every call becomes a core input, so a host's run can be traced and replayed.
//
//   boost::asio::io_context io;
//   HostOptions options;
//   options.config = config;
//   options.peer = my_id;
//   auto host = Host::Create(io, std::move(options)).value();
//   host->Listen(Multiaddr::Parse("/ip4/0.0.0.0/tcp/4001").value());
//   host->Subscribe([](const HostEvent& e) { ... });
//   host->Dial(Multiaddr::Parse("/ip4/1.2.3.4/tcp/4001/p2p/12D3KooW...").value(),
//              [](const DialResult& r) { ... });
//   io.run();
//
// All calls are made on the io_context's thread. Streams are accounted for by the core (limits,
// placement, pruning); with the plaintext upgrader they carry no bytes — the libp2p upgrader
// (Noise + Yamux) supplies real ones.
#ifndef CONNMGR_SHELL_HOST_H_
#define CONNMGR_SHELL_HOST_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "shell/driver.h"
#include "shell/fd_budget.h"
#include "shell/libp2p.h"
#include "shell/memory_budget.h"

namespace connmgr::shell {

struct HostOptions {
  Config config;
  // libp2p connections (Noise, Yamux, ping, identify; and QUIC, /udp/P/quic-v1, with the same
  // identity and protocols): this node's id is the identity's. Unset: connections are plaintext
  // between connmgr nodes and `peer` is the id.
  std::optional<Libp2pOptions> libp2p;
  PeerId peer;                              // required without libp2p
  std::shared_ptr<Upgrader> upgrader;       // default: from libp2p, else PlaintextUpgrader(peer)
  std::shared_ptr<ConnectionGater> gater;   // optional
  DnsLookup dns;                            // optional: /dns* and /dnsaddr dials fail without it
  TraceWriter::Sink trace;                  // optional: records every input and output
  std::optional<IpAddress> dial_source_ip;  // bind outgoing sockets to this address
  // File descriptors (shell/fd_budget.h): Create raises the soft RLIMIT_NOFILE to the hard
  // limit and derives from it config.system_scope.file_descriptors (when 0) and
  // max_held_rejects (when unset). Off: the limit and the scope are left as they are.
  bool budget_file_descriptors = true;
  // Memory (shell/memory_budget.h): Create sets system_scope.memory_bytes, when 0, to an eighth
  // of the machine's memory and fits the per-connection budget into it.
  bool budget_memory = true;
  // Refused sockets held open at once (delayed_reject); unset: the budget's share of the limit.
  std::optional<size_t> max_held_rejects;
  // Messages for the operator (why the shell closed a connection, a listener pausing after
  // EMFILE; rate-limited); default: lines on stderr.
  std::function<void(absl::string_view)> log;
};

struct StreamEvent {
  ConnectionId connection;
  StreamId stream;
  PeerId peer;
  std::string protocol;
  Direction direction;
  bool opened;  // false: closed
};
struct ListenEvent {
  Multiaddr address;
  bool listening;  // false: the listener closed
};
struct IdentifyEvent {
  PeerId peer;
  IdentifyInfo info;
};
using HostEvent =
    std::variant<PeerConnected, PeerDisconnected, ConnectionOpened, ConnectionClosed,
                 ConnectionsPruned, ReconnectFailed, StreamEvent, ListenEvent, IdentifyEvent>;

class Host {
 public:
  static absl::StatusOr<std::unique_ptr<Host>> Create(boost::asio::io_context& io,
                                                      HostOptions options);
  ~Host();

  const PeerId& peer() const { return peer_; }
  absl::StatusOr<Multiaddr> Listen(const Multiaddr& address);
  absl::Status StopListening(const Multiaddr& address);
  std::vector<Multiaddr> listen_addresses() const { return driver_->listen_addresses(); }

  using DialCallback = std::function<void(const DialResult&)>;
  // Dials `peer` at `addresses` (a dial already running for it is joined). `done` is called
  // once with the result; the status is a refusal before any dial started (a full dial queue).
  absl::Status Dial(const PeerId& peer, std::vector<Multiaddr> addresses, DialCallback done,
                    std::optional<uint32_t> priority = std::nullopt, bool force = false);
  // The same for one multiaddr ending in /p2p/<peer>.
  absl::Status Dial(const Multiaddr& address, DialCallback done);

  // Opens an outbound stream to `peer` on the connection the core places it on and negotiates
  // `protocol`. `done` gets the stream, or NotFound / ResourceExhausted when no connection has
  // room (the message names the limit), or why the negotiation failed.
  struct StreamRef {
    ConnectionId connection;
    StreamId stream;
    friend bool operator==(const StreamRef&, const StreamRef&) = default;
  };
  using StreamCallback = std::function<void(absl::StatusOr<StreamRef>)>;
  void OpenStream(const PeerId& peer, const std::string& protocol, StreamCallback done);
  absl::Status WriteStream(StreamRef stream, std::string bytes);
  // Closes this side of the stream (the peer may still write until it closes too).
  absl::Status CloseStream(StreamRef stream);
  // Bytes the peer wrote on streams this side opened (and on inbound streams of protocols
  // listed in Libp2pOptions::protocols rather than handled with Handle).
  void OnStreamData(std::function<void(StreamRef, std::string)> handler) {
    stream_data_ = std::move(handler);
  }

  // Serves an application protocol: every connection's multistream listener offers the handled
  // protocols (besides ping, identify and Libp2pOptions::protocols), identify announces them,
  // and each inbound stream that negotiates `protocol` reaches `handler` — opened once the core
  // counted it, then its bytes, then closed. Replaces an earlier handler of the protocol.
  // InvalidArgument for a name multistream-select refuses, AlreadyExists for ping and
  // identify, ResourceExhausted past ProtocolRegistry::kMaxProtocols, FailedPrecondition
  // without libp2p connections.
  struct ProtocolHandler {
    std::function<void(StreamRef, const PeerId&)> opened;
    std::function<void(StreamRef, std::string)> data;
    std::function<void(StreamRef)> closed;  // optional
  };
  absl::Status Handle(const std::string& protocol, ProtocolHandler handler);
  // Stops offering `protocol` to new streams; its open streams keep their handler.
  void RemoveHandler(const std::string& protocol);
  absl::Status CloseConnection(ConnectionId connection);
  // The round trip to `peer` over one of its open connections (libp2p's ping protocol).
  void Ping(const PeerId& peer, std::function<void(absl::StatusOr<Duration>)> done);
  // The connection's last measured round trip (pinged on open, then every ping_interval).
  std::optional<Duration> RoundTrip(ConnectionId connection) const {
    return driver_->RoundTrip(connection);
  }

  // Peer tags: a peer's value, the sum of its tags, orders pruning (docs/design.md, "Peer tags").
  absl::Status TagPeer(const PeerId& peer, const std::string& tag, int64_t value);
  // Adds `delta` to the tag (creating it at `delta`; saturating).
  absl::Status AddToPeerTag(const PeerId& peer, const std::string& tag, int64_t delta);
  absl::Status UntagPeer(const PeerId& peer, const std::string& tag);
  // Registers a decaying tag kind (go-libp2p's decayer): every `interval` each peer's instance
  // decays by `decay`; BumpPeerTag adds to it by `bump`.
  absl::Status RegisterDecayingTag(const std::string& tag, Duration interval, DecayPolicy decay,
                                   BumpPolicy bump);
  absl::Status BumpPeerTag(const PeerId& peer, const std::string& tag, int64_t delta);
  // A protected peer's connections are never pruned until its last protection is removed.
  absl::Status Protect(const PeerId& peer, const std::string& tag);
  absl::Status Unprotect(const PeerId& peer, const std::string& tag);
  // Memory for `connection` (or, with ConnectionId{}, not tied to a connection), charged to the
  // resource scopes with go-libp2p's priority rule. True when granted; released with
  // ReleaseMemory, or when the connection ends.
  absl::StatusOr<bool> ReserveMemory(ConnectionId connection, uint64_t bytes, uint8_t priority);
  absl::Status ReleaseMemory(ConnectionId connection, uint64_t bytes);
  // Trims to the low watermark now, ignoring the silence period (go-libp2p's TrimOpenConns).
  absl::Status TrimOpenConnections();
  // Where to redial `peer` when it has a keep-alive tag (reconnects).
  absl::Status SetPeerAddresses(const PeerId& peer, std::vector<Multiaddr> addresses);

  absl::Status DenyAddress(const IpPrefix& prefix);
  absl::Status UndenyAddress(const IpPrefix& prefix);
  absl::Status AllowAddress(const IpPrefix& prefix);
  absl::Status UnallowAddress(const IpPrefix& prefix);
  absl::Status DenyPeer(const PeerId& peer);
  absl::Status UndenyPeer(const PeerId& peer);
  // Replaces the running config (only runtime-changeable settings may differ).
  absl::Status UpdateConfig(const Config& config);

  Metrics GetMetrics() const { return driver_->core().GetMetrics(); }
  const Core& core() const { return driver_->core(); }
  const Driver& driver() const { return *driver_; }
  // The file descriptor budget Create derived (budget_file_descriptors), or nothing.
  const std::optional<FdBudget>& fd_budget() const { return fd_budget_; }
  // The memory budget Create derived (budget_memory), or nothing.
  const std::optional<MemoryBudget>& memory_budget() const { return memory_budget_; }
  // Any core input (core/input.h), handed in at the clock's now: for inputs with no call of
  // their own above. Its outputs are carried out and reach subscribers as usual.
  absl::Status Submit(const connmgr::Input& input) { return Input(input); }

  using EventHandler = std::function<void(const HostEvent&)>;
  void Subscribe(EventHandler handler) { handlers_.push_back(std::move(handler)); }

  // Closes every connection through the core (subscribers see each connection_closed and
  // peer_disconnected; pending dials end cancelled), then every listener; the host is inert
  // after.
  void Close();

 private:
  Host(PeerId peer, std::unique_ptr<Driver> driver,
       std::shared_ptr<std::vector<Multiaddr>> listen_addresses);
  absl::Status Input(const connmgr::Input& input);
  void OnOutput(const Output& output);
  void Publish(const HostEvent& event);
  // Hands a handled protocol's inbound stream to its handler (and its end).
  void RouteToHandler(ConnectionId connection, StreamId stream, const std::string& protocol,
                      Direction direction, bool opened, const PeerId& peer);

  PeerId peer_;
  std::unique_ptr<Driver> driver_;
  uint64_t next_request_ = 1;
  absl::flat_hash_map<uint64_t, DialCallback> dials_;  // by request
  std::function<void(StreamRef, std::string)> stream_data_;
  std::vector<EventHandler> handlers_;
  std::shared_ptr<std::vector<Multiaddr>> listen_addresses_;  // what identify announces
  std::shared_ptr<Host*> host_slot_;                          // cleared when the host goes
  // Handle(): what the upgrader offers, and where inbound streams of each protocol go.
  std::shared_ptr<ProtocolRegistry> registry_;  // null without libp2p
  absl::flat_hash_map<std::string, std::shared_ptr<ProtocolHandler>> protocol_handlers_;
  absl::flat_hash_map<std::pair<ConnectionId, StreamId>, std::shared_ptr<ProtocolHandler>>
      handled_streams_;
  std::optional<FdBudget> fd_budget_;
  std::optional<MemoryBudget> memory_budget_;
  bool closed_ = false;
};

}  // namespace connmgr::shell

#endif  // CONNMGR_SHELL_HOST_H_
