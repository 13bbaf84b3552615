#include "shell/quic/session.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "boost/asio/steady_timer.hpp"
#include "shell/close_reason.h"
#include "shell/endpoint.h"
#include "shell/stream_protocols.h"
#include "shell/wire.h"

namespace connmgr::quic {
namespace {

using shell::ConnectionResources;
using shell::Session;
using shell::StreamId;
using shell::StreamProtocols;

// QUIC's native streams as the protocols see them. Ids that do not fit a StreamId are reset by
// the session before the protocols see them.
class QuicCarrier : public shell::StreamCarrier {
 public:
  explicit QuicCarrier(Connection& connection) : connection_(connection) {}
  absl::StatusOr<StreamId> Open() override {
    absl::StatusOr<int64_t> id = connection_.OpenStream();
    if (!id.ok()) return id.status();
    if (!Fits(*id)) {
      connection_.ResetStream(*id);
      return absl::ResourceExhaustedError("open stream: stream ids exhausted");
    }
    return static_cast<StreamId>(*id);
  }
  void Write(StreamId stream, absl::string_view bytes) override {
    if (!bytes.empty()) connection_.Write(stream, bytes).IgnoreError();
  }
  void CloseWrite(StreamId stream) override { connection_.CloseWrite(stream).IgnoreError(); }
  void Reset(StreamId stream) override { connection_.ResetStream(stream); }

  static bool Fits(int64_t id) { return id >= 0 && id <= std::numeric_limits<StreamId>::max(); }

 private:
  Connection& connection_;
};

class QuicSession : public std::enable_shared_from_this<QuicSession> {
 public:
  using Events = Session::Events;

  QuicSession(std::shared_ptr<Connection> connection, PeerId remote, Multiaddr observed,
              std::shared_ptr<const shell::Libp2pOptions> options, ConnectionResources resources)
      : connection_(std::move(connection)),
        carrier_(*connection_),
        options_(options),
        resources_(std::move(resources)),
        protocols_(
            carrier_, std::move(options), std::move(remote),
            [observed = std::move(observed)]() -> std::optional<Multiaddr> { return observed; },
            [this] { return !closed_; }),
        ping_timer_(connection_->executor()) {}

  // Takes the connection's events; the holder keeps the session alive (see MakeQuicSession).
  void Attach() {
    std::weak_ptr<QuicSession> weak = weak_from_this();
    Connection::Events e;
    e.stream_opened = [weak](int64_t id) {
      if (auto s = weak.lock()) s->OnRemoteOpened(id);
    };
    e.stream_data = [weak](int64_t id, const std::string& bytes, bool fin) {
      if (auto s = weak.lock()) s->OnData(id, bytes, fin);
    };
    e.stream_reset = [weak](int64_t id) {
      if (auto s = weak.lock()) s->OnReset(id);
    };
    e.stream_closed = [weak](int64_t id) {
      auto s = weak.lock();
      if (s != nullptr && QuicCarrier::Fits(id)) s->protocols_.OnRemoteClosed(id);
    };
    e.closed = [weak](const absl::Status& why) {
      if (auto s = weak.lock()) s->Shutdown(why);
    };
    connection_->SetEvents(std::move(e));
  }

  void Begin(Events events) {
    events_ = std::move(events);
    protocols_.set_events(&events_);
    started_ = true;
    protocols_.Open(shell::kIdentifyProtocol, StreamProtocols::Role::kIdentifyClient, nullptr,
                    nullptr);
    protocols_.Ping(nullptr);
    SchedulePing();
    // Streams the peer opened before Start.
    auto early = std::move(early_);
    early_.clear();
    for (auto& event : early) event();
    Account();
  }

  void OpenApp(const std::string& protocol, std::function<void(absl::StatusOr<StreamId>)> done) {
    protocols_.Open(protocol, StreamProtocols::Role::kApp, std::move(done), nullptr);
    Account();
  }

  absl::Status WriteApp(StreamId stream, const std::string& bytes) {
    if (!protocols_.Writable(stream)) {
      return absl::NotFoundError(absl::StrCat("write: no open stream ", stream));
    }
    const uint64_t held = HeldBytes();
    if (held + bytes.size() > resources_.max_send_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "write: ", held, " bytes wait for the peer's acknowledgement (max_send_bytes ",
          resources_.max_send_bytes, ")"));
    }
    if (!resources_.memory->Cover(kConnectionStateBytes + held + bytes.size(),
                                  shell::Wire::kReadPriority)) {
      return absl::ResourceExhaustedError("write: the core granted no memory for it");
    }
    return connection_->Write(stream, bytes);
  }

  absl::Status CloseApp(StreamId stream) {
    if (!protocols_.Has(stream)) {
      return absl::NotFoundError(absl::StrCat("close: no open stream ", stream));
    }
    protocols_.CloseLocal(stream);
    return absl::OkStatus();
  }

  void Reset(StreamId stream) {
    protocols_.Forget(stream);
    connection_->ResetStream(stream);
  }

  void Ping(std::function<void(absl::StatusOr<Duration>)> done) {
    protocols_.Ping(std::move(done));
  }

  std::optional<Duration> round_trip() const { return protocols_.round_trip(); }

  void Stop() {
    closed_ = true;
    ping_timer_.cancel();
  }

 private:
  uint64_t HeldBytes() const { return connection_->held_bytes() + protocols_.held_bytes(); }

  // Reserves what the connection holds now; refused, the connection ends with memory_limit.
  void Account() {
    if (closed_) return;
    const uint64_t held = kConnectionStateBytes + HeldBytes();
    if (resources_.memory->Cover(held, shell::Wire::kHeldPriority)) {
      resources_.memory->Trim(held);
      return;
    }
    Shutdown(
        shell::WithCloseReason(absl::ResourceExhaustedError(absl::StrCat(
                                   "the core refused the ", held, " bytes the connection holds")),
                               CloseReason::kMemoryLimit));
  }

  void SchedulePing() {
    const Duration interval = options_->ping_interval;
    if (interval <= Duration::Zero() || closed_) return;
    ping_timer_.expires_after(std::chrono::nanoseconds(interval.nanoseconds()));
    std::weak_ptr<QuicSession> weak = weak_from_this();
    ping_timer_.async_wait([weak](const boost::system::error_code& ec) {
      std::shared_ptr<QuicSession> s = weak.lock();
      if (ec || s == nullptr || s->closed_) return;
      s->protocols_.Ping(nullptr);
      s->SchedulePing();
    });
  }

  void OnRemoteOpened(int64_t id) {
    if (closed_) return;
    if (!started_) {
      early_.push_back([this, id] { OnRemoteOpened(id); });
      return;
    }
    if (!QuicCarrier::Fits(id)) {
      connection_->ResetStream(id);
      return;
    }
    protocols_.OnRemoteOpened(static_cast<StreamId>(id));
    Account();
  }

  void OnData(int64_t id, const std::string& bytes, bool fin) {
    if (closed_) return;
    if (!started_) {
      early_.push_back([this, id, bytes, fin] { OnData(id, bytes, fin); });
      return;
    }
    if (!QuicCarrier::Fits(id)) return;
    const auto stream = static_cast<StreamId>(id);
    if (!bytes.empty()) protocols_.OnData(stream, bytes);
    if (fin && !closed_) protocols_.OnRemoteClosed(stream);
    Account();
  }

  void OnReset(int64_t id) {
    if (closed_ || !QuicCarrier::Fits(id)) return;
    const auto stream = static_cast<StreamId>(id);
    if (!protocols_.Has(stream)) return;
    connection_->ResetStream(id);  // our side too: the stream is over
    protocols_.OnReset(stream);
  }

  void Shutdown(const absl::Status& why) {
    if (closed_) return;
    Stop();
    protocols_.FailAll();
    if (events_.closed) events_.closed(why);
  }

  std::shared_ptr<Connection> connection_;
  QuicCarrier carrier_;
  std::shared_ptr<const shell::Libp2pOptions> options_;
  ConnectionResources resources_;
  Events events_;
  bool started_ = false;
  bool closed_ = false;
  std::vector<std::function<void()>> early_;
  StreamProtocols protocols_;
  boost::asio::steady_timer ping_timer_;
};

// The Session the driver holds: owns the shared state, stops it when dropped.
class QuicSessionHandle : public Session {
 public:
  explicit QuicSessionHandle(std::shared_ptr<QuicSession> s) : s_(std::move(s)) {}
  ~QuicSessionHandle() override { s_->Stop(); }

  void Start(Events events) override { s_->Begin(std::move(events)); }
  void OpenStream(const std::string& protocol,
                  std::function<void(absl::StatusOr<StreamId>)> done) override {
    s_->OpenApp(protocol, std::move(done));
  }
  absl::Status Write(StreamId stream, std::string bytes) override {
    return s_->WriteApp(stream, bytes);
  }
  absl::Status CloseWrite(StreamId stream) override { return s_->CloseApp(stream); }
  void ResetStream(StreamId stream) override { s_->Reset(stream); }
  void Ping(std::function<void(absl::StatusOr<Duration>)> done) override {
    s_->Ping(std::move(done));
  }
  std::optional<Duration> round_trip() const override { return s_->round_trip(); }
  void Close() override { s_->Stop(); }

 private:
  std::shared_ptr<QuicSession> s_;
};

}  // namespace

std::unique_ptr<Session> MakeQuicSession(std::shared_ptr<Connection> connection, PeerId remote,
                                         Multiaddr observed,
                                         std::shared_ptr<const shell::Libp2pOptions> options,
                                         ConnectionResources resources) {
  auto session =
      std::make_shared<QuicSession>(std::move(connection), std::move(remote), std::move(observed),
                                    std::move(options), std::move(resources));
  session->Attach();
  return std::make_unique<QuicSessionHandle>(std::move(session));
}

}  // namespace connmgr::quic
