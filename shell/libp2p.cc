#include "shell/libp2p.h"

#include <algorithm>
#include <array>
#include <deque>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/write.hpp"
#include "shell/close_reason.h"
#include "shell/endpoint.h"
#include "shell/mux/multistream.h"
#include "shell/noise/handshake.h"
#include "shell/noise/protobuf.h"
#include "shell/noise/transport.h"
#include "shell/stream_protocols.h"
#include "shell/tls/session.h"
#include "shell/wire.h"

namespace connmgr::shell {
namespace {

using boost::asio::ip::tcp;

// OpenSSL's buffers for one TLS connection (a record each way and the session), which it does
// not report: counted as this much.
constexpr uint64_t kTlsBufferEstimateBytes = uint64_t{40} * 1024;
constexpr size_t kMaxIdentifyBytes = size_t{64} * 1024;
constexpr size_t kMaxIdentifyItems = 128;

// The connection's encryption after the handshake: Noise's transport messages or TLS records.
class SecureChannel {
 public:
  virtual ~SecureChannel() = default;
  virtual absl::Status Encode(absl::string_view plaintext, std::string* wire) = 0;
  virtual absl::Status Decode(absl::string_view wire, std::string* plaintext) = 0;
  // Bytes the channel itself must send after a Decode (TLS: alerts, key updates).
  virtual std::string TakeOutput() { return ""; }
  // What the channel holds between calls (a partial frame or record).
  virtual uint64_t buffered_bytes() const = 0;
};

class NoiseChannel : public SecureChannel {
 public:
  explicit NoiseChannel(const noise::TransportCiphers& ciphers)
      : encoder_(ciphers.send), decoder_(ciphers.receive) {}
  absl::Status Encode(absl::string_view plaintext, std::string* wire) override {
    return encoder_.Encode(plaintext, wire);
  }
  absl::Status Decode(absl::string_view wire, std::string* plaintext) override {
    return decoder_.Decode(wire, plaintext);
  }
  uint64_t buffered_bytes() const override { return decoder_.buffered_bytes(); }

 private:
  noise::TransportEncoder encoder_;
  noise::TransportDecoder decoder_;
};

class TlsChannel : public SecureChannel {
 public:
  explicit TlsChannel(std::unique_ptr<tls::TlsSession> session) : session_(std::move(session)) {}
  absl::Status Encode(absl::string_view plaintext, std::string* wire) override {
    absl::Status s = session_->Encode(plaintext);
    absl::StrAppend(wire, session_->PollSend());
    return s;
  }
  absl::Status Decode(absl::string_view wire, std::string* plaintext) override {
    return session_->HandleReceived(wire, plaintext);
  }
  std::string TakeOutput() override { return session_->PollSend(); }
  uint64_t buffered_bytes() const override { return kTlsBufferEstimateBytes; }

 private:
  std::unique_ptr<tls::TlsSession> session_;
};

// --- The session after the upgrade ------------------------------------------------------------

// Yamux's streams as the protocols see them; the session flushes Yamux's frames after each turn.
class YamuxCarrier : public StreamCarrier {
 public:
  explicit YamuxCarrier(mux::YamuxSession& yamux) : yamux_(yamux) {}
  absl::StatusOr<StreamId> Open() override { return yamux_.OpenStream(); }
  void Write(StreamId stream, absl::string_view bytes) override {
    yamux_.Write(stream, bytes).IgnoreError();
  }
  void CloseWrite(StreamId stream) override { yamux_.CloseWrite(stream).IgnoreError(); }
  void Reset(StreamId stream) override { yamux_.Reset(stream).IgnoreError(); }

 private:
  mux::YamuxSession& yamux_;
};

class Libp2pSession : public Session {
 public:
  Libp2pSession(std::shared_ptr<Wire> wire, std::unique_ptr<SecureChannel> channel,
                mux::YamuxSession yamux, PeerId remote,
                std::shared_ptr<const Libp2pOptions> options)
      : state_(std::make_shared<State>(std::move(wire), std::move(channel), std::move(yamux),
                                       std::move(remote), std::move(options))) {
    // Bytes that arrive before Start wait in `pending`.
    std::weak_ptr<State> weak = state_;
    state_->wire->SetHandlers(
        [weak](absl::string_view bytes) {
          if (auto s = weak.lock()) OnWire(s, bytes);
        },
        [weak](absl::Status why) {
          if (auto s = weak.lock()) Shutdown(s, std::move(why));
        },
        [weak] {
          std::shared_ptr<State> s = weak.lock();
          return s != nullptr ? Buffers(*s) : Wire::OwnerBuffers{};
        });
  }
  ~Libp2pSession() override { Close(); }

  void AddPending(absl::string_view plaintext) {
    absl::StrAppend(&state_->pending_plaintext, plaintext);
  }

  void Start(Events events) override {
    const std::shared_ptr<State>& s = state_;
    s->events = std::move(events);
    s->protocols.set_events(&s->events);
    s->started = true;
    s->protocols.Open(kIdentifyProtocol, StreamProtocols::Role::kIdentifyClient, nullptr, nullptr);
    s->protocols.Ping(nullptr);  // the first round trip at once, then every ping_interval
    SchedulePing(s);
    std::string early = std::move(s->pending_wire);
    std::string plaintext = std::move(s->pending_plaintext);
    if (!plaintext.empty()) OnPlaintext(s, plaintext);
    if (!early.empty() && !s->closed) OnWire(s, early);
    Flush(s);
    s->wire->StartReading();
  }

  void OpenStream(const std::string& protocol,
                  std::function<void(absl::StatusOr<StreamId>)> done) override {
    state_->protocols.Open(protocol, StreamProtocols::Role::kApp, std::move(done), nullptr);
    Flush(state_);
  }

  absl::Status Write(StreamId stream, std::string bytes) override {
    if (!state_->protocols.Writable(stream)) {
      return absl::NotFoundError(absl::StrCat("write: no open stream ", stream));
    }
    if (absl::Status admitted = state_->wire->AdmitWrite(bytes.size()); !admitted.ok()) {
      return admitted;
    }
    absl::Status s = state_->yamux.Write(stream, bytes);
    Flush(state_);
    return s;
  }

  absl::Status CloseWrite(StreamId stream) override {
    if (!state_->protocols.Has(stream)) {
      return absl::NotFoundError(absl::StrCat("close: no open stream ", stream));
    }
    state_->protocols.CloseLocal(stream);
    Flush(state_);
    return absl::OkStatus();
  }

  void ResetStream(StreamId stream) override {
    state_->yamux.Reset(stream).IgnoreError();
    state_->protocols.Forget(stream);
    Flush(state_);
  }

  void Ping(std::function<void(absl::StatusOr<Duration>)> done) override {
    state_->protocols.Ping(std::move(done));
    Flush(state_);
  }

  std::optional<Duration> round_trip() const override { return state_->protocols.round_trip(); }

  void Close() override {
    state_->closed = true;
    state_->wire->Stop();
    if (state_->ping_timer) state_->ping_timer->cancel();
  }

 private:
  struct State {
    State(std::shared_ptr<Wire> w, std::unique_ptr<SecureChannel> c, mux::YamuxSession y, PeerId r,
          std::shared_ptr<const Libp2pOptions> o)
        : wire(std::move(w)),
          channel(std::move(c)),
          yamux(std::move(y)),
          options(o),
          carrier(yamux),
          protocols(
              carrier, std::move(o), std::move(r),
              [this]() -> std::optional<Multiaddr> {
                boost::system::error_code ec;
                const tcp::endpoint remote = wire->socket()->remote_endpoint(ec);
                if (ec) return std::nullopt;
                return MultiaddrOf(remote);
              },
              [this] { return !closed && !closing; }) {}
    std::shared_ptr<Wire> wire;
    std::unique_ptr<SecureChannel> channel;
    mux::YamuxSession yamux;
    std::shared_ptr<const Libp2pOptions> options;
    YamuxCarrier carrier;
    StreamProtocols protocols;
    Events events;
    bool started = false;
    bool closed = false;
    bool closing = false;           // a go-away is being flushed: nothing more is read or sent
    std::string pending_wire;       // ciphertext that arrived before Start
    std::string pending_plaintext;  // what followed the muxer negotiation
    std::unique_ptr<boost::asio::steady_timer> ping_timer;
  };

  static void SchedulePing(const std::shared_ptr<State>& s) {
    const Duration interval = s->options->ping_interval;
    if (interval <= Duration::Zero() || s->closed) return;
    if (!s->ping_timer) {
      s->ping_timer =
          std::make_unique<boost::asio::steady_timer>(s->wire->socket()->get_executor());
    }
    s->ping_timer->expires_after(std::chrono::nanoseconds(interval.nanoseconds()));
    std::weak_ptr<State> weak = s;
    s->ping_timer->async_wait([weak](const boost::system::error_code& ec) {
      std::shared_ptr<State> st = weak.lock();
      if (ec || st == nullptr || st->closed) return;
      st->protocols.Ping(nullptr);
      Flush(st);
      SchedulePing(st);
    });
  }

  // What the session holds beside the wire's buffers, for the connection's memory account:
  // the channel's partial frame, Yamux's partial frame, frames and queues, the bytes waiting
  // for Start, and each stream's negotiation and protocol buffers.
  static Wire::OwnerBuffers Buffers(const State& s) {
    const uint64_t held = s.channel->buffered_bytes() + s.yamux.buffered_bytes() +
                          s.pending_wire.size() + s.pending_plaintext.size() +
                          s.protocols.held_bytes();
    return {held, s.yamux.queued_bytes()};
  }

  static bool Active(const State& s) { return !s.closed && !s.closing; }

  static void OnWire(const std::shared_ptr<State>& s, absl::string_view bytes) {
    if (!Active(*s)) return;
    if (!s->started) {
      absl::StrAppend(&s->pending_wire, bytes);
      return;
    }
    std::string plaintext;
    absl::Status decoded = s->channel->Decode(bytes, &plaintext);
    s->wire->Send(s->channel->TakeOutput());
    if (!decoded.ok()) {
      return Shutdown(
          s, WithCloseReason(
                 absl::Status(decoded.code(), absl::StrCat("secure channel: ", decoded.message())),
                 CloseReason::kProtocolError));
    }
    OnPlaintext(s, plaintext);
    Flush(s);
  }

  static void OnPlaintext(const std::shared_ptr<State>& s, absl::string_view plaintext) {
    if (s->options->plaintext_tap) s->options->plaintext_tap(plaintext);
    for (mux::YamuxEvent& e : s->yamux.Feed(plaintext, SteadyNow())) {
      if (!Active(*s)) return;
      HandleEvent(s, e);
    }
  }

  static void HandleEvent(const std::shared_ptr<State>& s, const mux::YamuxEvent& e) {
    using Kind = mux::YamuxEvent::Kind;
    switch (e.kind) {
      case Kind::kStreamOpened:
        s->protocols.OnRemoteOpened(e.stream_id);
        break;
      case Kind::kData:
        s->yamux.Consume(e.stream_id, e.data.size()).IgnoreError();
        s->protocols.OnData(e.stream_id, e.data);
        break;
      case Kind::kStreamHalfClosed:
        s->protocols.OnRemoteClosed(e.stream_id);
        break;
      case Kind::kStreamReset:
        s->protocols.OnReset(e.stream_id);
        break;
      case Kind::kSessionError:
        CloseWithGoAway(s, WithCloseReason(e.error, CloseReason::kProtocolError));
        break;
      case Kind::kPingAnswered:
      case Kind::kGoAwayReceived:
        break;  // the connection's end comes as EOF
    }
  }

  static void Flush(const std::shared_ptr<State>& s) {
    if (!Active(*s)) return;
    const std::string out = s->yamux.TakeOutput();
    if (out.empty()) return;
    std::string wire;
    if (absl::Status st = s->channel->Encode(out, &wire); !st.ok()) return Shutdown(s, st);
    s->wire->Send(std::move(wire));
  }

  // The peer broke Yamux: the go-away the session queued goes out before the socket shuts.
  static void CloseWithGoAway(const std::shared_ptr<State>& s, absl::Status why) {
    if (!Active(*s)) return;
    Flush(s);
    s->closing = true;
    s->wire->CloseAfterFlush(std::move(why));  // then Shutdown, through the wire's end
  }

  static void Shutdown(const std::shared_ptr<State>& s, absl::Status why) {
    if (s->closed) return;
    s->closed = true;
    s->wire->Stop();
    s->protocols.FailAll();
    if (s->events.closed) s->events.closed(std::move(why));
  }

  std::shared_ptr<State> state_;
};

// --- The upgrade ---------------------------------------------------------------------------------

class UpgradeRun : public std::enable_shared_from_this<UpgradeRun> {
 public:
  UpgradeRun(std::shared_ptr<tcp::socket> socket, Direction direction,
             std::optional<PeerId> expected, std::shared_ptr<const Libp2pOptions> options,
             std::function<absl::StatusOr<std::shared_ptr<tls::TlsContext>>()> tls_context,
             const ConnectionResources& resources, Upgrader::Done done)
      : wire_(std::make_shared<Wire>(
            std::move(socket), resources.memory,
            WireLimits{resources.max_send_bytes, resources.slow_reader_timeout})),
        resources_(resources),
        direction_(direction),
        expected_(std::move(expected)),
        options_(std::move(options)),
        tls_context_(std::move(tls_context)),
        done_(std::move(done)) {}

  void Start() {
    // The wire's handlers own the run; the wire is owned by its pending reads and writes (and
    // later by the session), so nothing here is a cycle.
    auto self = shared_from_this();
    std::shared_ptr<Wire> wire = std::move(wire_);
    weak_wire_ = wire;
    wire->SetHandlers([self](absl::string_view bytes) { self->OnBytes(bytes); },
                      [self](absl::Status why) { self->Fail(std::move(why)); },
                      [self] {
                        return Wire::OwnerBuffers{self->HeldBytes(), 0};
                      });
    // The options were validated when the host was made, so these cannot fail.
    if (direction_ == Direction::kOutbound) {
      security_dialer_.emplace(
          mux::MultistreamDialer::Create(options_->security_protocols).value());
      wire->Send(security_dialer_->TakeOutput());
    } else {
      security_listener_.emplace(
          mux::MultistreamListener::Create(options_->security_protocols).value());
      wire->Send(security_listener_->TakeOutput());
    }
    wire->StartReading();
  }

 private:
  enum class Phase { kSecurity, kNoise, kTls, kMuxer, kDone };

  // What the handshake holds: negotiation buffers, a partial Noise message or TLS's buffers,
  // the secure channel's partial frame.
  uint64_t HeldBytes() const {
    uint64_t held = 0;
    if (security_dialer_) held += security_dialer_->buffered_bytes();
    if (security_listener_) held += security_listener_->buffered_bytes();
    if (handshake_) held += handshake_->buffered_bytes();
    if (tls_) held += kTlsBufferEstimateBytes;
    if (channel_) held += channel_->buffered_bytes();
    if (muxer_dialer_) held += muxer_dialer_->buffered_bytes();
    if (muxer_listener_) held += muxer_listener_->buffered_bytes();
    return held;
  }

  // `why`, marked as the peer's failure to follow a handshake or a protocol.
  static absl::Status Refused(absl::Status why, CloseReason reason) {
    return WithCloseReason(std::move(why), reason);
  }

  // Sends on the wire if it still exists (it always does while its handlers run).
  void Send(std::string bytes) {
    if (std::shared_ptr<Wire> wire = weak_wire_.lock()) wire->Send(std::move(bytes));
  }

  void OnBytes(absl::string_view bytes) {
    switch (phase_) {
      case Phase::kSecurity:
        return OnSecurityBytes(bytes);
      case Phase::kNoise:
        return OnNoiseBytes(bytes);
      case Phase::kTls:
        return OnTlsBytes(bytes);
      case Phase::kMuxer:
        return OnMuxerCiphertext(bytes);
      case Phase::kDone:
        return;
    }
  }

  mux::MultistreamNegotiation& Security() {
    return security_dialer_ ? static_cast<mux::MultistreamNegotiation&>(*security_dialer_)
                            : *security_listener_;
  }
  mux::MultistreamNegotiation& Muxer() {
    return muxer_dialer_ ? static_cast<mux::MultistreamNegotiation&>(*muxer_dialer_)
                         : *muxer_listener_;
  }

  void OnSecurityBytes(absl::string_view bytes) {
    if (security_dialer_) {
      security_dialer_->Feed(bytes);
    } else {
      security_listener_->Feed(bytes);
    }
    mux::MultistreamNegotiation& n = Security();
    Send(n.TakeOutput());
    if (n.state() == mux::NegotiationState::kInProgress) return;
    if (n.state() != mux::NegotiationState::kSelected) {
      // Malformed messages are a protocol error; refusing every protocol fails the handshake.
      return Fail(Refused(
          absl::UnavailableError(absl::StrCat(
              "security negotiation: ",
              n.error().ok() ? absl::StrCat("the peer speaks none of ",
                                            absl::StrJoin(options_->security_protocols, ", "))
                             : n.error().message())),
          n.state() == mux::NegotiationState::kFailed ? CloseReason::kProtocolError
                                                      : CloseReason::kHandshakeFailed));
    }
    const std::string leftover = n.TakeLeftover();
    if (n.selected_protocol() == kTlsProtocol) return StartTls(leftover);
    phase_ = Phase::kNoise;
    const noise::HandshakeKeys keys = noise::HandshakeKeys::Random();
    handshake_.emplace(direction_ == Direction::kOutbound
                           ? noise::Handshake::Initiator(options_->identity, keys, expected_)
                           : noise::Handshake::Responder(options_->identity, keys));
    Send(handshake_->PollSend());
    if (!leftover.empty()) OnNoiseBytes(leftover);
  }

  void OnNoiseBytes(absl::string_view bytes) {
    if (absl::Status s = handshake_->HandleReceived(bytes); !s.ok()) {
      return Fail(Refused(absl::Status(s.code(), absl::StrCat("noise: ", s.message())),
                          CloseReason::kHandshakeFailed));
    }
    Send(handshake_->PollSend());
    if (!handshake_->done()) return;
    remote_ = handshake_->remote_peer();
    channel_ = std::make_unique<NoiseChannel>(handshake_->Split());
    const std::string leftover = handshake_->TakeLeftover();
    StartMuxer();
    if (!leftover.empty()) OnMuxerCiphertext(leftover);
  }

  void StartTls(const std::string& leftover) {
    phase_ = Phase::kTls;
    absl::StatusOr<std::shared_ptr<tls::TlsContext>> context = tls_context_();
    if (!context.ok()) return Fail(Refused(context.status(), CloseReason::kHandshakeFailed));
    absl::StatusOr<std::unique_ptr<tls::TlsSession>> session = tls::TlsSession::Create(
        *std::move(context),
        direction_ == Direction::kOutbound ? tls::TlsRole::kClient : tls::TlsRole::kServer,
        expected_);
    if (!session.ok()) return Fail(Refused(session.status(), CloseReason::kHandshakeFailed));
    tls_ = *std::move(session);
    Send(tls_->PollSend());
    if (!leftover.empty()) OnTlsBytes(leftover);
  }

  void OnTlsBytes(absl::string_view bytes) {
    std::string plaintext;
    absl::Status s = tls_->HandleReceived(bytes, &plaintext);
    Send(tls_->PollSend());  // handshake messages, or the alert that says why it failed
    if (!s.ok()) return Fail(Refused(s, CloseReason::kHandshakeFailed));
    if (!tls_->done()) return;
    remote_ = tls_->remote_peer();
    channel_ = std::make_unique<TlsChannel>(std::move(tls_));
    StartMuxer();
    if (!plaintext.empty()) OnMuxerPlaintext(plaintext);
  }

  void StartMuxer() {
    phase_ = Phase::kMuxer;
    if (direction_ == Direction::kOutbound) {
      muxer_dialer_.emplace(mux::MultistreamDialer::Create({kYamuxProtocol}).value());
    } else {
      muxer_listener_.emplace(mux::MultistreamListener::Create({kYamuxProtocol}).value());
    }
    SendEncrypted(Muxer().TakeOutput());
  }

  void OnMuxerCiphertext(absl::string_view bytes) {
    std::string plaintext;
    absl::Status s = channel_->Decode(bytes, &plaintext);
    Send(channel_->TakeOutput());
    if (!s.ok()) {
      return Fail(Refused(absl::Status(s.code(), absl::StrCat("secure channel: ", s.message())),
                          CloseReason::kProtocolError));
    }
    OnMuxerPlaintext(plaintext);
  }

  void OnMuxerPlaintext(absl::string_view plaintext) {
    if (plaintext.empty()) return;
    if (muxer_dialer_) {
      muxer_dialer_->Feed(plaintext);
    } else {
      muxer_listener_->Feed(plaintext);
    }
    mux::MultistreamNegotiation& n = Muxer();
    SendEncrypted(n.TakeOutput());
    if (n.state() == mux::NegotiationState::kInProgress) return;
    if (n.state() != mux::NegotiationState::kSelected) {
      return Fail(
          n.state() == mux::NegotiationState::kFailed
              ? Refused(absl::UnavailableError(
                            absl::StrCat("muxer negotiation: ", n.error().message())),
                        CloseReason::kProtocolError)
              : Refused(absl::UnavailableError("muxer negotiation: the peer does not speak yamux"),
                        CloseReason::kHandshakeFailed));
    }
    Finish(n.TakeLeftover());
  }

  void SendEncrypted(const std::string& plaintext) {
    if (plaintext.empty()) return;
    std::string wire;
    if (absl::Status s = channel_->Encode(plaintext, &wire); !s.ok()) {
      return Fail(Refused(s, CloseReason::kHandshakeFailed));
    }
    Send(std::move(wire));
  }

  void Finish(const std::string& leftover) {
    phase_ = Phase::kDone;
    // The window and the queue bounds are the core's config; a protocol's answers may queue
    // past max_send_bytes by what one read brings (reading stops at it), never twice as far.
    mux::YamuxLimits limits = options_->yamux;
    limits.receive_window = resources_.stream_receive_window;
    limits.max_queued_bytes_per_stream = 2 * resources_.max_send_bytes;
    limits.max_queued_bytes_per_session = 2 * resources_.max_send_bytes;
    absl::StatusOr<mux::YamuxSession> yamux = mux::YamuxSession::Create(
        direction_ == Direction::kOutbound ? mux::YamuxRole::kClient : mux::YamuxRole::kServer,
        limits);
    if (!yamux.ok()) return Fail(yamux.status());
    std::shared_ptr<Wire> wire = weak_wire_.lock();
    if (wire == nullptr) return Fail(absl::UnavailableError("the connection closed"));
    auto session = std::make_unique<Libp2pSession>(std::move(wire), std::move(channel_),
                                                   *std::move(yamux), remote_, options_);
    session->AddPending(leftover);
    Upgrader::Done done = std::move(done_);
    done(Upgraded{remote_, std::move(session)});
  }

  void Fail(absl::Status why) {
    if (phase_ == Phase::kDone) return;
    phase_ = Phase::kDone;
    if (std::shared_ptr<Wire> wire = weak_wire_.lock()) {
      wire->Stop();
      wire->SetHandlers(nullptr, nullptr);  // drops this run once the call returns
    }
    Upgrader::Done done = std::move(done_);
    done(std::move(why));
  }

  std::shared_ptr<Wire> wire_;  // until Start
  std::weak_ptr<Wire> weak_wire_;
  ConnectionResources resources_;
  Direction direction_;
  std::optional<PeerId> expected_;
  std::shared_ptr<const Libp2pOptions> options_;
  std::function<absl::StatusOr<std::shared_ptr<tls::TlsContext>>()> tls_context_;
  Upgrader::Done done_;
  Phase phase_ = Phase::kSecurity;
  std::optional<mux::MultistreamDialer> security_dialer_;
  std::optional<mux::MultistreamListener> security_listener_;
  std::optional<noise::Handshake> handshake_;
  std::unique_ptr<tls::TlsSession> tls_;
  std::unique_ptr<SecureChannel> channel_;
  std::optional<mux::MultistreamDialer> muxer_dialer_;
  std::optional<mux::MultistreamListener> muxer_listener_;
  PeerId remote_;
};

}  // namespace

// --- Served protocols and identify's answer ----------------------------------------------------

std::vector<std::string> ServedProtocols(const Libp2pOptions& options) {
  std::vector<std::string> served = {kPingProtocol, kIdentifyProtocol};
  served.insert(served.end(), options.protocols.begin(), options.protocols.end());
  if (options.registry != nullptr) {
    for (const std::string& p : options.registry->protocols()) {
      if (std::find(served.begin(), served.end(), p) == served.end()) served.push_back(p);
    }
  }
  return served;
}

std::string FramedIdentifyAnswer(const Libp2pOptions& options,
                                 const std::optional<Multiaddr>& observed) {
  IdentifyInfo info;
  info.agent_version = options.agent_version;
  info.protocol_version = "ipfs/0.1.0";
  info.protocols = ServedProtocols(options);
  if (options.listen_addresses) info.listen_addresses = options.listen_addresses();
  info.observed_address = observed;
  info.public_key = options.identity.PublicKeyProtobuf();
  const std::string message = EncodeIdentify(info);
  std::string framed;
  noise::AppendProtobufVarint(message.size(), &framed);
  framed += message;
  return framed;
}

std::optional<IdentifyInfo> ParseFramedIdentify(absl::string_view framed) {
  uint64_t length = 0;
  if (!noise::ReadProtobufVarint(&framed, &length) || length > framed.size()) return std::nullopt;
  absl::StatusOr<IdentifyInfo> info = DecodeIdentify(framed.substr(0, length));
  if (!info.ok()) return std::nullopt;
  return *std::move(info);
}

// --- Protocol registry -------------------------------------------------------------------------

absl::Status ProtocolRegistry::Add(const std::string& protocol) {
  if (protocol == kPingProtocol || protocol == kIdentifyProtocol) {
    return absl::AlreadyExistsError(
        absl::StrCat("handle ", protocol, ": served by every connection already"));
  }
  // The negotiation's own rules for a protocol name (non-empty, bounded, no newline).
  if (absl::StatusOr<mux::MultistreamDialer> d = mux::MultistreamDialer::Create({protocol});
      !d.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("handle: ", d.status().message()));
  }
  if (Contains(protocol)) return absl::OkStatus();
  if (protocols_.size() >= kMaxProtocols) {
    return absl::ResourceExhaustedError(
        absl::StrCat("handle ", protocol, ": more than ", kMaxProtocols, " protocols"));
  }
  protocols_.push_back(protocol);
  return absl::OkStatus();
}

void ProtocolRegistry::Remove(const std::string& protocol) {
  protocols_.erase(std::remove(protocols_.begin(), protocols_.end(), protocol), protocols_.end());
}

bool ProtocolRegistry::Contains(const std::string& protocol) const {
  return std::find(protocols_.begin(), protocols_.end(), protocol) != protocols_.end();
}

// --- Identify's message
// ----------------------------------------------------------------------------

std::string EncodeIdentify(const IdentifyInfo& info) {
  std::string out;
  noise::AppendBytesField(1, info.public_key, &out);
  for (const Multiaddr& a : info.listen_addresses) noise::AppendBytesField(2, a.ToBytes(), &out);
  for (const std::string& p : info.protocols) noise::AppendBytesField(3, p, &out);
  if (info.observed_address) noise::AppendBytesField(4, info.observed_address->ToBytes(), &out);
  noise::AppendBytesField(5, info.protocol_version, &out);
  noise::AppendBytesField(6, info.agent_version, &out);
  return out;
}

absl::StatusOr<IdentifyInfo> DecodeIdentify(absl::string_view message) {
  IdentifyInfo info;
  noise::ProtobufReader reader(message, kMaxIdentifyBytes);
  noise::ProtobufField field;
  while (reader.Next(&field)) {
    if (field.wire_type != noise::WireType::kLengthDelimited) continue;
    switch (field.number) {
      case 1:
        info.public_key = std::string(field.bytes);
        break;
      case 2:
        if (info.listen_addresses.size() < kMaxIdentifyItems) {
          if (absl::StatusOr<Multiaddr> a = Multiaddr::FromBytes(field.bytes); a.ok()) {
            info.listen_addresses.push_back(*std::move(a));
          }
        }
        break;
      case 3:
        if (info.protocols.size() < kMaxIdentifyItems) info.protocols.emplace_back(field.bytes);
        break;
      case 4:
        if (absl::StatusOr<Multiaddr> a = Multiaddr::FromBytes(field.bytes); a.ok()) {
          info.observed_address = *std::move(a);
        }
        break;
      case 5:
        info.protocol_version = std::string(field.bytes);
        break;
      case 6:
        info.agent_version = std::string(field.bytes);
        break;
      default:
        break;
    }
  }
  if (!reader.status().ok()) return reader.status();
  return info;
}

// --- The upgrader
// ----------------------------------------------------------------------------------

absl::Status ValidateLibp2pOptions(const Libp2pOptions& options) {
  const std::vector<std::string>& security = options.security_protocols;
  if (security.empty()) {
    return absl::InvalidArgumentError("security_protocols: at least one is required");
  }
  for (size_t i = 0; i < security.size(); ++i) {
    if (security[i] != kNoiseProtocol && security[i] != kTlsProtocol) {
      return absl::InvalidArgumentError(absl::StrCat("security_protocols: \"", security[i],
                                                     "\" is not ", kNoiseProtocol, " or ",
                                                     kTlsProtocol));
    }
    const auto seen = security.begin() + static_cast<ptrdiff_t>(i);
    if (std::find(security.begin(), seen, security[i]) != seen) {
      return absl::InvalidArgumentError(
          absl::StrCat("security_protocols: ", security[i], " is listed twice"));
    }
  }
  return absl::OkStatus();
}

Libp2pUpgrader::Libp2pUpgrader(Libp2pOptions options)
    : options_(std::make_shared<const Libp2pOptions>(std::move(options))) {}

void Libp2pUpgrader::Upgrade(std::shared_ptr<tcp::socket> socket, Direction direction,
                             std::optional<PeerId> expected, ConnectionResources resources,
                             Done done) {
  // The TLS context (this node's certificate) is made on the first TLS connection, then kept.
  auto tls_context = [slot = tls_context_,
                      options = options_]() -> absl::StatusOr<std::shared_ptr<tls::TlsContext>> {
    if (*slot == nullptr) {
      absl::StatusOr<std::shared_ptr<tls::TlsContext>> made =
          tls::TlsContext::Create(options->identity);
      if (!made.ok()) return made.status();
      *slot = *std::move(made);
    }
    return *slot;
  };
  auto run =
      std::make_shared<UpgradeRun>(std::move(socket), direction, std::move(expected), options_,
                                   std::move(tls_context), resources, std::move(done));
  run->Start();
}

}  // namespace connmgr::shell
