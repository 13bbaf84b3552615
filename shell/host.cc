#include "shell/host.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace connmgr::shell {

absl::StatusOr<std::unique_ptr<Host>> Host::Create(boost::asio::io_context& io,
                                                   HostOptions options) {
  auto listen_addresses = std::make_shared<std::vector<Multiaddr>>();
  auto host_slot = std::make_shared<Host*>(nullptr);  // identify answers reach the host
  std::shared_ptr<Upgrader> upgrader = std::move(options.upgrader);
  std::shared_ptr<ProtocolRegistry> registry;
  if (options.libp2p) {
    if (absl::Status s = ValidateLibp2pOptions(*options.libp2p); !s.ok()) return s;
    options.peer = options.libp2p->identity.peer_id();
    if (options.libp2p->registry == nullptr) {
      options.libp2p->registry = std::make_shared<ProtocolRegistry>();
    }
    registry = options.libp2p->registry;
    if (!options.libp2p->listen_addresses) {
      options.libp2p->listen_addresses = [listen_addresses] { return *listen_addresses; };
    }
    auto user_on_identify = std::move(options.libp2p->on_identify);
    options.libp2p->on_identify = [host_slot, user_on_identify](const PeerId& peer,
                                                                const IdentifyInfo& info) {
      if (user_on_identify) user_on_identify(peer, info);
      if (*host_slot != nullptr) (*host_slot)->Publish(IdentifyEvent{peer, info});
    };
    if (upgrader == nullptr)
      upgrader = std::make_shared<Libp2pUpgrader>(*std::move(options.libp2p));
  }
  if (options.peer.is_empty()) return absl::InvalidArgumentError("host: peer: required");
  std::optional<FdBudget> fd_budget;
  if (options.budget_file_descriptors) {
    absl::StatusOr<FdLimit> limit = RaiseFdLimit();
    if (!limit.ok()) return limit.status();
    fd_budget = DeriveFdBudget(limit->now, options.config.max_outbound_pending_connections);
    ApplyFdBudget(*fd_budget, &options.config, &options.max_held_rejects);
  }
  std::optional<MemoryBudget> memory_budget;
  if (options.budget_memory) {
    memory_budget = DeriveMemoryBudget(PhysicalMemoryBytes(), options.config);
    ApplyMemoryBudget(*memory_budget, &options.config);
  }
  DriverOptions d;
  // libp2p nodes speak QUIC too, with the same identity and protocols.
  if (const auto* libp2p = dynamic_cast<const Libp2pUpgrader*>(upgrader.get())) {
    d.quic = std::make_shared<quic::Transport>(libp2p->options());
  }
  d.config = std::move(options.config);
  d.max_held_rejects = options.max_held_rejects;
  d.upgrader =
      upgrader != nullptr ? std::move(upgrader) : std::make_shared<PlaintextUpgrader>(options.peer);
  d.gater = std::move(options.gater);
  d.dns = std::move(options.dns);
  d.trace = std::move(options.trace);
  d.dial_source_ip = options.dial_source_ip;
  d.log = std::move(options.log);
  absl::StatusOr<std::unique_ptr<Driver>> driver = Driver::Create(io, std::move(d));
  if (!driver.ok()) return driver.status();
  auto host = std::unique_ptr<Host>(
      new Host(std::move(options.peer), *std::move(driver), std::move(listen_addresses)));
  *host_slot = host.get();
  host->host_slot_ = std::move(host_slot);
  host->fd_budget_ = fd_budget;
  host->memory_budget_ = memory_budget;
  host->registry_ = std::move(registry);
  return host;
}

Host::Host(PeerId peer, std::unique_ptr<Driver> driver,
           std::shared_ptr<std::vector<Multiaddr>> listen_addresses)
    : peer_(std::move(peer)),
      driver_(std::move(driver)),
      listen_addresses_(std::move(listen_addresses)) {
  driver_->Observe([this](const Output& output) { OnOutput(output); });
  driver_->OnStreamData([this](ConnectionId connection, StreamId stream, std::string bytes) {
    if (auto it = handled_streams_.find({connection, stream}); it != handled_streams_.end()) {
      const std::shared_ptr<ProtocolHandler> handler = it->second;  // it may close the stream
      if (handler->data) handler->data(StreamRef{connection, stream}, std::move(bytes));
      return;
    }
    if (stream_data_) stream_data_(StreamRef{connection, stream}, std::move(bytes));
  });
  driver_->OnStreamEvent([this](ConnectionId connection, StreamId stream,
                                const std::string& protocol, Direction direction, bool opened) {
    const Connection* c = core().connections().Find(connection);
    const PeerId peer = c != nullptr ? c->peer : PeerId();
    Publish(StreamEvent{connection, stream, peer, protocol, direction, opened});
    RouteToHandler(connection, stream, protocol, direction, opened, peer);
  });
}

Host::~Host() {
  Close();
  if (host_slot_) *host_slot_ = nullptr;
}

void Host::Close() {
  if (closed_) return;
  std::vector<uint64_t> requests;
  for (const auto& [request, done] : dials_) requests.push_back(request);
  std::sort(requests.begin(), requests.end());  // a deterministic order for the trace
  for (uint64_t request : requests) driver_->Submit(CancelDial{request}).IgnoreError();
  // Dial attempts went with their dials (reconnects' are reset by the shutdown below).
  std::vector<ConnectionId> live;
  for (const Connection* c : driver_->core().connections().SortedForInspection()) {
    if (!c->dial_attempt) live.push_back(c->id);
  }
  for (ConnectionId id : live) {
    driver_->Submit(CloseRequest{id}).IgnoreError();
    driver_->Submit(TransportClosed{id}).IgnoreError();  // the socket is gone: closed now
  }
  closed_ = true;
  const std::vector<Multiaddr> addresses = driver_->listen_addresses();
  driver_->Shutdown();
  for (const Multiaddr& a : addresses) Publish(ListenEvent{a, false});
}

absl::Status Host::Handle(const std::string& protocol, ProtocolHandler handler) {
  if (registry_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("handle ", protocol, ": this host has no libp2p connections"));
  }
  if (absl::Status s = registry_->Add(protocol); !s.ok()) return s;
  protocol_handlers_[protocol] = std::make_shared<ProtocolHandler>(std::move(handler));
  return absl::OkStatus();
}

void Host::RemoveHandler(const std::string& protocol) {
  if (registry_ != nullptr) registry_->Remove(protocol);
  protocol_handlers_.erase(protocol);
}

void Host::RouteToHandler(ConnectionId connection, StreamId stream, const std::string& protocol,
                          Direction direction, bool opened, const PeerId& peer) {
  const std::pair<ConnectionId, StreamId> key{connection, stream};
  if (!opened) {
    auto it = handled_streams_.find(key);
    if (it == handled_streams_.end()) return;
    const std::shared_ptr<ProtocolHandler> handler = std::move(it->second);
    handled_streams_.erase(it);
    if (handler->closed) handler->closed(StreamRef{connection, stream});
    return;
  }
  if (direction != Direction::kInbound) return;
  auto it = protocol_handlers_.find(protocol);
  if (it == protocol_handlers_.end()) return;
  const std::shared_ptr<ProtocolHandler> handler = it->second;
  handled_streams_[key] = handler;
  if (handler->opened) handler->opened(StreamRef{connection, stream}, peer);
}

absl::StatusOr<Multiaddr> Host::Listen(const Multiaddr& address) {
  absl::StatusOr<Multiaddr> bound = driver_->Listen(address);
  if (bound.ok()) {
    listen_addresses_->push_back(*bound);
    Publish(ListenEvent{*bound, true});
  }
  return bound;
}

absl::Status Host::StopListening(const Multiaddr& address) {
  absl::Status s = driver_->StopListening(address);
  if (s.ok()) {
    std::erase(*listen_addresses_, address);
    Publish(ListenEvent{address, false});
  }
  return s;
}

absl::Status Host::Dial(const PeerId& peer, std::vector<Multiaddr> addresses, DialCallback done,
                        std::optional<uint32_t> priority, bool force) {
  const uint64_t request = next_request_++;
  dials_[request] = std::move(done);
  absl::Status s = Input(DialRequest{request, peer, std::move(addresses),
                                     priority.value_or(core().config().user_dial_priority), force,
                                     Duration::Zero()});
  if (!s.ok()) dials_.erase(request);
  return s;
}

absl::Status Host::Dial(const Multiaddr& address, DialCallback done) {
  std::optional<PeerId> peer = address.peer_id();
  if (!peer) {
    return absl::InvalidArgumentError(
        absl::StrCat("dial: ", address.ToString(), " must end in /p2p/<peer id>"));
  }
  return Dial(*peer, {address}, std::move(done));
}

void Host::OpenStream(const PeerId& peer, const std::string& protocol, StreamCallback done) {
  if (closed_) return done(absl::FailedPreconditionError("host: closed"));
  std::vector<Output> produced;
  absl::StatusOr<ConnectionId> placed = driver_->Submit(PlaceStream{peer}, &produced);
  if (!placed.ok()) return done(placed.status());
  if (*placed == ConnectionId{}) {
    PlacementOutcome why = PlacementOutcome::kNotConnected;
    for (const Output& o : produced) {
      if (const auto* answer = std::get_if<StreamPlaced>(&o)) why = answer->outcome;
    }
    const std::string message = absl::StrCat("open stream ", protocol, " to ", peer.ToString(),
                                             ": ", PlacementOutcomeName(why));
    return done(why == PlacementOutcome::kNotConnected ? absl::NotFoundError(message)
                                                       : absl::ResourceExhaustedError(message));
  }
  const ConnectionId connection = *placed;
  driver_->OpenStream(connection, protocol,
                      [connection, done = std::move(done)](absl::StatusOr<StreamId> stream) {
                        if (!stream.ok()) return done(stream.status());
                        done(StreamRef{connection, *stream});
                      });
}

absl::Status Host::WriteStream(StreamRef stream, std::string bytes) {
  return driver_->WriteStream(stream.connection, stream.stream, std::move(bytes));
}

absl::Status Host::CloseStream(StreamRef stream) {
  return driver_->CloseStreamWrite(stream.connection, stream.stream);
}

void Host::Ping(const PeerId& peer, std::function<void(absl::StatusOr<Duration>)> done) {
  for (ConnectionId id : core().connections().PeerConnections(peer)) {
    const Connection* c = core().connections().Find(id);
    if (c != nullptr && c->state == ConnectionState::kOpen)
      return driver_->Ping(id, std::move(done));
  }
  done(absl::NotFoundError(absl::StrCat("ping: ", peer.ToString(), " is not connected")));
}

absl::Status Host::CloseConnection(ConnectionId connection) {
  return Input(CloseRequest{connection});
}
absl::Status Host::TagPeer(const PeerId& peer, const std::string& tag, int64_t value) {
  return Input(SetPeerTag{peer, tag, value});
}
absl::Status Host::AddToPeerTag(const PeerId& peer, const std::string& tag, int64_t delta) {
  return Input(connmgr::AddToPeerTag{peer, tag, delta});
}
absl::Status Host::RegisterDecayingTag(const std::string& tag, Duration interval, DecayPolicy decay,
                                       BumpPolicy bump) {
  return Input(connmgr::RegisterDecayingTag{tag, interval, decay, bump});
}
absl::Status Host::BumpPeerTag(const PeerId& peer, const std::string& tag, int64_t delta) {
  return Input(connmgr::BumpPeerTag{peer, tag, delta});
}
absl::StatusOr<bool> Host::ReserveMemory(ConnectionId connection, uint64_t bytes,
                                         uint8_t priority) {
  if (closed_) return absl::FailedPreconditionError("host: closed");
  std::vector<Output> produced;
  absl::Status s =
      driver_->Submit(connmgr::ReserveMemory{connection, bytes, priority}, &produced).status();
  if (!s.ok()) return s;
  for (const Output& o : produced) {
    if (const auto* answer = std::get_if<MemoryReservation>(&o)) return answer->granted;
  }
  return absl::InternalError("reserve memory: the core gave no answer");
}
absl::Status Host::ReleaseMemory(ConnectionId connection, uint64_t bytes) {
  return Input(connmgr::ReleaseMemory{connection, bytes});
}
absl::Status Host::TrimOpenConnections() { return Input(connmgr::TrimOpenConnections{}); }
absl::Status Host::UntagPeer(const PeerId& peer, const std::string& tag) {
  return Input(RemovePeerTag{peer, tag});
}
absl::Status Host::Protect(const PeerId& peer, const std::string& tag) {
  return Input(ProtectPeer{peer, tag});
}
absl::Status Host::Unprotect(const PeerId& peer, const std::string& tag) {
  return Input(UnprotectPeer{peer, tag});
}
absl::Status Host::SetPeerAddresses(const PeerId& peer, std::vector<Multiaddr> addresses) {
  return Input(connmgr::SetPeerAddresses{peer, std::move(addresses)});
}
absl::Status Host::DenyAddress(const IpPrefix& prefix) {
  return Input(connmgr::DenyAddress{prefix});
}
absl::Status Host::UndenyAddress(const IpPrefix& prefix) {
  return Input(connmgr::UndenyAddress{prefix});
}
absl::Status Host::AllowAddress(const IpPrefix& prefix) {
  return Input(connmgr::AllowAddress{prefix});
}
absl::Status Host::UnallowAddress(const IpPrefix& prefix) {
  return Input(connmgr::UnallowAddress{prefix});
}
absl::Status Host::DenyPeer(const PeerId& peer) { return Input(connmgr::DenyPeer{peer}); }
absl::Status Host::UndenyPeer(const PeerId& peer) { return Input(connmgr::UndenyPeer{peer}); }
absl::Status Host::UpdateConfig(const Config& config) {
  return Input(connmgr::UpdateConfig{config});
}

absl::Status Host::Input(const connmgr::Input& input) {
  if (closed_) return absl::FailedPreconditionError("host: closed");
  return driver_->Submit(input).status();
}

void Host::OnOutput(const Output& output) {
  std::visit(
      [&](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, DialResult>) {
          auto it = dials_.find(o.request);
          if (it == dials_.end()) return;  // the core's own dials (reconnects)
          DialCallback done = std::move(it->second);
          dials_.erase(it);
          if (done) done(o);
        } else if constexpr (std::is_constructible_v<HostEvent, T>) {
          Publish(o);
        }
      },
      output);
}

void Host::Publish(const HostEvent& event) {
  for (const EventHandler& handler : handlers_) handler(event);
}

}  // namespace connmgr::shell
