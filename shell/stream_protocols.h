// StreamProtocols: the libp2p protocols of one connection's streams, whatever multiplexer
// carries them — Yamux over Noise or TLS (shell/libp2p.h) or QUIC's native streams
// (shell/quic/session.h). Each stream negotiates its protocol with multistream-select; ping
// (/ipfs/ping/1.0.0) and identify (/ipfs/id/1.0.0) are served here, and application protocols
// are reported to the session's Events as the driver expects (shell/upgrader.h).
//
//   class YamuxCarrier : public StreamCarrier { ... };       // Open, Write, CloseWrite, Reset
//   StreamProtocols protocols(carrier, options, remote, observed, active);
//   protocols.set_events(&events);
//   muxer says a stream opened:  protocols.OnRemoteOpened(id);
//   bytes arrived on it:         protocols.OnData(id, bytes);
//   the peer closed its side:    protocols.OnRemoteClosed(id);
//   protocols.Open(kIdentifyProtocol, StreamProtocols::Role::kIdentifyClient, nullptr, nullptr);
//
// The carrier's writes are the muxer's business (Yamux queues frames the session flushes; QUIC
// queues stream data); nothing here touches a socket.
#ifndef CONNMGR_SHELL_STREAM_PROTOCOLS_H_
#define CONNMGR_SHELL_STREAM_PROTOCOLS_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/multiaddr.h"
#include "core/peer_id.h"
#include "core/time.h"
#include "shell/libp2p.h"
#include "shell/mux/multistream.h"
#include "shell/upgrader.h"

namespace connmgr::shell {

// What a multiplexer offers the protocols: streams by id.
class StreamCarrier {
 public:
  virtual ~StreamCarrier() = default;
  virtual absl::StatusOr<StreamId> Open() = 0;
  virtual void Write(StreamId stream, absl::string_view bytes) = 0;
  virtual void CloseWrite(StreamId stream) = 0;
  virtual void Reset(StreamId stream) = 0;
};

class StreamProtocols {
 public:
  enum class Role { kApp, kPingServer, kPingClient, kIdentifyServer, kIdentifyClient };
  using OpenDone = std::function<void(absl::StatusOr<StreamId>)>;
  using PingDone = std::function<void(absl::StatusOr<Duration>)>;

  // `observed`: the peer's address as this side sees it (identify's observed address).
  // `active`: false once the connection is closing; nothing more is opened or answered then.
  StreamProtocols(StreamCarrier& carrier, std::shared_ptr<const Libp2pOptions> options,
                  PeerId remote, std::function<std::optional<Multiaddr>()> observed,
                  std::function<bool()> active);

  // The session's events (it owns them; set before the first stream is reported).
  void set_events(const Session::Events* events) { events_ = events; }

  // From the muxer.
  void OnRemoteOpened(StreamId id);
  void OnData(StreamId id, absl::string_view data);
  void OnRemoteClosed(StreamId id);
  // The peer reset the stream (the carrier was told already, if it must answer).
  void OnReset(StreamId id);

  // Opens a stream and negotiates `protocol` for `role`; the callbacks get the stream (an
  // application stream, which the driver then counts) or the round trip, or why not.
  void Open(const std::string& protocol, Role role, OpenDone open_done, PingDone ping_done);
  // Pings the peer and keeps the round trip.
  void Ping(PingDone done);
  // A stream the application may write on: negotiated, not closed.
  bool Writable(StreamId id) const;
  bool Has(StreamId id) const { return streams_.contains(id); }
  void CloseLocal(StreamId id);
  // Forgets a stream the driver reset (the caller resets it in the muxer).
  void Forget(StreamId id) { streams_.erase(id); }
  // The connection ended: every waiting callback fails, every stream is forgotten.
  void FailAll();

  // Negotiation and protocol buffers held, for the connection's memory account.
  uint64_t held_bytes() const;
  std::optional<Duration> round_trip() const { return round_trip_; }

 private:
  struct Stream {
    Direction direction = Direction::kInbound;
    Role role = Role::kApp;
    std::optional<mux::MultistreamDialer> dialer;
    std::optional<mux::MultistreamListener> listener;
    bool selected = false;
    bool reported = false;  // the driver was told (the core counts it)
    bool local_closed = false;
    std::string protocol;
    std::string buffer;
    OpenDone open_done;
    PingDone ping_done;
    std::string ping_payload;
    Instant ping_sent;
  };

  void OnSelected(StreamId id, const std::string& leftover);
  void OnProtocolBytes(StreamId id, absl::string_view data);
  // The stream is over: tell whoever waits for it, and the driver if it counted it.
  void EndStream(StreamId id, const absl::Status& why);

  StreamCarrier& carrier_;
  std::shared_ptr<const Libp2pOptions> options_;
  PeerId remote_;
  std::function<std::optional<Multiaddr>()> observed_;
  std::function<bool()> active_;
  const Session::Events* events_ = nullptr;
  absl::flat_hash_map<StreamId, Stream> streams_;
  std::optional<Duration> round_trip_;
};

}  // namespace connmgr::shell

#endif  // CONNMGR_SHELL_STREAM_PROTOCOLS_H_
