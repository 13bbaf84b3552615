#include "shell/quic/session.h"

#include <gnutls/crypto.h>

#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/steady_timer.hpp"
#include "shell/close_reason.h"
#include "shell/endpoint.h"
#include "shell/mux/multistream.h"
#include "shell/wire.h"

namespace connmgr::quic {
namespace {

using shell::ConnectionResources;
using shell::Session;
using shell::StreamId;

constexpr size_t kPingPayloadBytes = 32;
constexpr size_t kMaxIdentifyBytes = size_t{64} * 1024;

enum class Role { kApp, kPingServer, kPingClient, kIdentifyServer, kIdentifyClient };

struct StreamState {
  Direction direction = Direction::kInbound;
  Role role = Role::kApp;
  std::optional<mux::MultistreamDialer> dialer;
  std::optional<mux::MultistreamListener> listener;
  bool selected = false;
  bool reported = false;  // the driver was told (the core counts it)
  bool local_closed = false;
  std::string protocol;
  std::string buffer;
  std::function<void(absl::StatusOr<StreamId>)> open_done;
  std::function<void(absl::StatusOr<Duration>)> ping_done;
  std::string ping_payload;
  Instant ping_sent;

  mux::MultistreamNegotiation& negotiation() {
    return dialer ? static_cast<mux::MultistreamNegotiation&>(*dialer) : *listener;
  }
};

class QuicSession : public std::enable_shared_from_this<QuicSession> {
 public:
  using Events = Session::Events;

  QuicSession(std::shared_ptr<Connection> connection, PeerId remote, Multiaddr observed,
              std::shared_ptr<const shell::Libp2pOptions> options, ConnectionResources resources)
      : connection_(std::move(connection)),
        remote_(std::move(remote)),
        observed_(std::move(observed)),
        options_(std::move(options)),
        resources_(std::move(resources)),
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
      if (auto s = weak.lock()) s->EndStream(id, absl::OkStatus());
    };
    e.closed = [weak](const absl::Status& why) {
      if (auto s = weak.lock()) s->Shutdown(why);
    };
    connection_->SetEvents(std::move(e));
  }

  void Begin(Events events) {
    events_ = std::move(events);
    started_ = true;
    OpenInternal(shell::kIdentifyProtocol, Role::kIdentifyClient, nullptr, nullptr);
    PingPeer(nullptr);
    SchedulePing();
    // Streams the peer opened before Start.
    auto early = std::move(early_);
    early_.clear();
    for (auto& event : early) event();
    Account();
  }

  void OpenApp(const std::string& protocol, std::function<void(absl::StatusOr<StreamId>)> done) {
    OpenInternal(protocol, Role::kApp, std::move(done), nullptr);
    Account();
  }

  absl::Status WriteApp(StreamId stream, const std::string& bytes) {
    auto it = streams_.find(stream);
    if (it == streams_.end() || !it->second.selected) {
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
    if (streams_.find(stream) == streams_.end()) {
      return absl::NotFoundError(absl::StrCat("close: no open stream ", stream));
    }
    CloseLocal(stream);
    return absl::OkStatus();
  }

  void Reset(StreamId stream) {
    streams_.erase(stream);
    connection_->ResetStream(stream);
  }

  void PingPeer(std::function<void(absl::StatusOr<Duration>)> done) {
    std::weak_ptr<QuicSession> weak = weak_from_this();
    OpenInternal(shell::kPingProtocol, Role::kPingClient, nullptr,
                 [weak, done = std::move(done)](absl::StatusOr<Duration> rtt) {
                   if (auto s = weak.lock(); s && rtt.ok()) s->round_trip_ = *rtt;
                   if (done) done(rtt);
                 });
  }

  std::optional<Duration> round_trip() const { return round_trip_; }

  void Stop() {
    closed_ = true;
    ping_timer_.cancel();
  }

 private:
  uint64_t HeldBytes() const {
    uint64_t held = connection_->held_bytes();
    for (const auto& [id, st] : streams_) {
      held += st.buffer.size() + st.ping_payload.size();
      if (st.dialer) held += st.dialer->buffered_bytes();
      if (st.listener) held += st.listener->buffered_bytes();
    }
    return held;
  }

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
      s->PingPeer(nullptr);
      s->SchedulePing();
    });
  }

  static bool Fits(int64_t id) { return id >= 0 && id <= std::numeric_limits<StreamId>::max(); }

  void OnRemoteOpened(int64_t id) {
    if (closed_) return;
    if (!started_) {
      early_.push_back([this, id] { OnRemoteOpened(id); });
      return;
    }
    if (!Fits(id)) {
      connection_->ResetStream(id);
      return;
    }
    StreamState& st = streams_[static_cast<StreamId>(id)];
    st.direction = Direction::kInbound;
    st.listener.emplace(
        mux::MultistreamListener::Create(shell::ServedProtocols(*options_)).value());
    Send(static_cast<StreamId>(id), st.listener->TakeOutput());
    Account();
  }

  void OnData(int64_t id, const std::string& bytes, bool fin) {
    if (closed_) return;
    if (!started_) {
      early_.push_back([this, id, bytes, fin] { OnData(id, bytes, fin); });
      return;
    }
    if (!Fits(id)) return;
    const auto stream = static_cast<StreamId>(id);
    if (!bytes.empty()) OnStreamBytes(stream, bytes);
    if (fin) OnRemoteClosed(stream);
    Account();
  }

  void OnReset(int64_t id) {
    if (closed_ || !Fits(id)) return;
    const auto stream = static_cast<StreamId>(id);
    if (streams_.find(stream) == streams_.end()) return;
    connection_->ResetStream(id);
    EndStream(stream, absl::AbortedError("the peer reset the stream"));
  }

  void Send(StreamId stream, const std::string& bytes) {
    if (!bytes.empty()) connection_->Write(stream, bytes).IgnoreError();
  }

  void OnStreamBytes(StreamId id, absl::string_view data) {
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    StreamState& st = it->second;
    if (st.selected) return OnProtocolBytes(id, data);
    if (st.dialer) {
      st.dialer->Feed(data);
    } else {
      st.listener->Feed(data);
    }
    mux::MultistreamNegotiation& n = st.negotiation();
    Send(id, n.TakeOutput());
    switch (n.state()) {
      case mux::NegotiationState::kInProgress:
        return;
      case mux::NegotiationState::kSelected: {
        st.protocol = n.selected_protocol();
        const std::string leftover = n.TakeLeftover();
        return OnSelected(id, leftover);
      }
      case mux::NegotiationState::kAllRefused:
      case mux::NegotiationState::kFailed: {
        absl::Status why = n.error().ok()
                               ? absl::UnavailableError("the peer does not speak the protocol")
                               : n.error();
        connection_->ResetStream(id);
        return EndStream(id, absl::Status(why.code(), absl::StrCat("negotiate: ", why.message())));
      }
    }
  }

  void OnSelected(StreamId id, const std::string& leftover) {
    StreamState* st = &streams_[id];
    st->selected = true;
    if (st->direction == Direction::kInbound) {
      st->role = st->protocol == shell::kPingProtocol       ? Role::kPingServer
                 : st->protocol == shell::kIdentifyProtocol ? Role::kIdentifyServer
                                                            : Role::kApp;
    }
    st->reported = true;
    if (st->open_done) {
      auto done = std::move(st->open_done);
      done(id);  // the driver counts it
    } else if (events_.stream_opened) {
      const std::string protocol = st->protocol;
      events_.stream_opened(id, protocol, st->direction);
    }
    auto it = streams_.find(id);  // the driver may have reset it (a stream limit)
    if (it == streams_.end() || closed_) return;
    st = &it->second;
    switch (st->role) {
      case Role::kIdentifyServer:
        Send(id, shell::FramedIdentifyAnswer(*options_, observed_));
        CloseLocal(id);
        break;
      case Role::kPingClient:
        st->ping_payload.resize(kPingPayloadBytes);
        gnutls_rnd(GNUTLS_RND_NONCE, st->ping_payload.data(), st->ping_payload.size());
        st->ping_sent = shell::SteadyNow();
        Send(id, st->ping_payload);
        break;
      default:
        break;
    }
    if (!leftover.empty()) OnProtocolBytes(id, leftover);
  }

  void OnProtocolBytes(StreamId id, absl::string_view data) {
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    StreamState& st = it->second;
    switch (st.role) {
      case Role::kPingServer:
        absl::StrAppend(&st.buffer, data);
        while (st.buffer.size() >= kPingPayloadBytes) {
          Send(id, st.buffer.substr(0, kPingPayloadBytes));
          st.buffer.erase(0, kPingPayloadBytes);
        }
        break;
      case Role::kPingClient:
        absl::StrAppend(&st.buffer, data);
        if (st.buffer.size() >= kPingPayloadBytes) {
          const bool echoed = st.buffer.substr(0, kPingPayloadBytes) == st.ping_payload;
          auto done = std::move(st.ping_done);
          const Duration rtt = shell::SteadyNow() - st.ping_sent;
          CloseLocal(id);
          if (done) {
            done(echoed ? absl::StatusOr<Duration>(rtt)
                        : absl::DataLossError("ping: the peer echoed other bytes"));
          }
        }
        break;
      case Role::kIdentifyClient:
        if (st.buffer.size() + data.size() > kMaxIdentifyBytes) {
          connection_->ResetStream(id);
          return EndStream(id, absl::ResourceExhaustedError("identify: message too large"));
        }
        absl::StrAppend(&st.buffer, data);
        break;
      case Role::kIdentifyServer:
        break;
      case Role::kApp:
        if (events_.stream_data) events_.stream_data(id, std::string(data));
        break;
    }
  }

  void OnRemoteClosed(StreamId id) {
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    if (it->second.role == Role::kIdentifyClient && it->second.selected) {
      std::optional<shell::IdentifyInfo> info = shell::ParseFramedIdentify(it->second.buffer);
      if (info && options_->on_identify) options_->on_identify(remote_, *info);
    }
    it = streams_.find(id);
    if (it == streams_.end()) return;
    CloseLocal(id);
    EndStream(id, absl::OkStatus());
  }

  void CloseLocal(StreamId id) {
    auto it = streams_.find(id);
    if (it == streams_.end() || it->second.local_closed) return;
    it->second.local_closed = true;
    connection_->CloseWrite(id).IgnoreError();
  }

  // The stream is over: tell whoever waits for it, and the driver if it counted it.
  void EndStream(StreamId id, const absl::Status& why) {
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    StreamState st = std::move(it->second);
    streams_.erase(it);
    if (st.open_done) st.open_done(why.ok() ? absl::UnavailableError("stream closed") : why);
    if (st.ping_done) st.ping_done(why.ok() ? absl::UnavailableError("ping: stream closed") : why);
    if (st.reported && events_.stream_closed) events_.stream_closed(id, st.protocol, st.direction);
  }

  void OpenInternal(const std::string& protocol, Role role,
                    std::function<void(absl::StatusOr<StreamId>)> open_done,
                    std::function<void(absl::StatusOr<Duration>)> ping_done) {
    auto fail = [&](const absl::Status& why) {
      if (open_done) open_done(why);
      if (ping_done) ping_done(why);
    };
    if (closed_) return fail(absl::UnavailableError("the connection closed"));
    absl::StatusOr<mux::MultistreamDialer> dialer = mux::MultistreamDialer::Create({protocol});
    if (!dialer.ok()) return fail(dialer.status());
    absl::StatusOr<int64_t> id = connection_->OpenStream();
    if (!id.ok()) return fail(id.status());
    if (!Fits(*id)) {
      connection_->ResetStream(*id);
      return fail(absl::ResourceExhaustedError("open stream: stream ids exhausted"));
    }
    const auto stream = static_cast<StreamId>(*id);
    StreamState& st = streams_[stream];
    st.direction = Direction::kOutbound;
    st.role = role;
    st.dialer.emplace(*std::move(dialer));
    st.open_done = std::move(open_done);
    st.ping_done = std::move(ping_done);
    Send(stream, st.dialer->TakeOutput());
  }

  void Shutdown(const absl::Status& why) {
    if (closed_) return;
    Stop();
    auto streams = std::move(streams_);
    streams_.clear();
    for (auto& [id, st] : streams) {
      if (st.open_done) st.open_done(absl::UnavailableError("the connection closed"));
      if (st.ping_done) st.ping_done(absl::UnavailableError("the connection closed"));
    }
    if (events_.closed) events_.closed(why);
  }

  std::shared_ptr<Connection> connection_;
  PeerId remote_;
  Multiaddr observed_;
  std::shared_ptr<const shell::Libp2pOptions> options_;
  ConnectionResources resources_;
  Events events_;
  bool started_ = false;
  bool closed_ = false;
  std::vector<std::function<void()>> early_;
  absl::flat_hash_map<StreamId, StreamState> streams_;
  std::optional<Duration> round_trip_;
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
    s_->PingPeer(std::move(done));
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
