// Connection: one QUIC v1 connection on ngtcp2 (with GnuTLS for its handshake, shell/quic/tls.h),
// sans socket: the endpoint hands it the datagrams addressed to its connection ids and sends
// what it writes. It keeps ngtcp2's one timer (retransmission, idle timeout, as ngtcp2 computes
// them), each stream's unacknowledged send data (ngtcp2 does not copy it), and reports what
// happened through Events — always after ngtcp2 returned, never from inside its callbacks, so an
// event handler may close the connection.
//
//   auto c = Connection::Dial(io, setup, remote_endpoint, expected_peer).value();
//   c->SetEvents(events);             // handshake(peer), stream_opened, stream_data, closed ...
//   c->Start();                       // sends the client's Initial
//   endpoint: c->Receive(from, datagram);
//   c->OpenStream(); c->Write(id, bytes); c->CloseWrite(id);
//   c->Close(0, "pruned");            // CONNECTION_CLOSE the peer sees
//
// Streams are bidirectional only (the peer gets no unidirectional credit). The peer may open
// max_streams at once: each stream it opened that ends gives it one more (MAX_STREAMS).
#ifndef CONNMGR_SHELL_QUIC_CONNECTION_H_
#define CONNMGR_SHELL_QUIC_CONNECTION_H_

#include <ngtcp2/ngtcp2.h>

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
#include "boost/asio/ip/udp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "core/peer_id.h"
#include "core/time.h"
#include "shell/quic/tls.h"

namespace connmgr::quic {

using boost::asio::ip::udp;

struct ConnectionLimits {
  // Streams the peer may have open at once (the core's max_streams_per_connection).
  uint64_t max_streams = 1'024;
  // Each stream's receive window (the core's stream_receive_window); the connection's is four.
  uint64_t stream_receive_window = uint64_t{256} * 1024;
  Duration idle_timeout = Duration::Seconds(30);
};

// What a connection needs from its endpoint: the socket to send on, and the table of ids.
struct ConnectionSetup {
  std::shared_ptr<TlsCredentials> credentials;
  ConnectionLimits limits;
  udp::endpoint local;
  std::function<void(const udp::endpoint& to, absl::string_view datagram)> send;
  // Adds (true) or removes (false) one of this connection's ids in the endpoint's table.
  std::function<void(const std::string& cid, bool add)> route;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  struct Events {
    std::function<void(const absl::StatusOr<PeerId>&)> handshake;  // once
    std::function<void(int64_t stream)> stream_opened;             // by the peer
    std::function<void(int64_t stream, std::string bytes, bool fin)> stream_data;
    std::function<void(int64_t stream)> stream_reset;     // the peer reset it or stopped reading
    std::function<void(int64_t stream)> stream_closed;    // both directions are over
    std::function<void()> stream_credit;                  // more streams may be opened
    std::function<void(const absl::Status& why)> closed;  // the peer, an error or idleness
  };

  // A server connection for the client's first Initial (already admitted by the core).
  static absl::StatusOr<std::shared_ptr<Connection>> Accept(boost::asio::io_context& io,
                                                            ConnectionSetup setup,
                                                            const ngtcp2_pkt_hd& initial,
                                                            const udp::endpoint& remote);
  // A client connection to `remote`; `expected` is the peer dialled.
  static absl::StatusOr<std::shared_ptr<Connection>> Dial(boost::asio::io_context& io,
                                                          ConnectionSetup setup,
                                                          const udp::endpoint& remote,
                                                          std::optional<PeerId> expected);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void SetEvents(Events events) { events_ = std::move(events); }
  // Sends what there is to send (a client's Initial) and arms the timer.
  void Start();
  void Receive(const udp::endpoint& from, absl::string_view datagram);

  absl::StatusOr<int64_t> OpenStream();
  // Queues `bytes` on the stream; they stay held until the peer acknowledges them.
  absl::Status Write(int64_t stream, absl::string_view bytes);
  absl::Status CloseWrite(int64_t stream);
  // RESET_STREAM and STOP_SENDING; no stream_closed follows for it.
  void ResetStream(int64_t stream);
  // Sends CONNECTION_CLOSE with this application error code and stops; no event follows.
  void Close(uint64_t error_code, absl::string_view reason);
  // Stops without a word (the endpoint went away).
  void Abandon();

  boost::asio::steady_timer::executor_type executor() { return timer_.get_executor(); }
  bool closed() const { return closed_; }
  bool handshake_done() const { return handshake_reported_; }
  const std::optional<PeerId>& remote_peer() const { return peer_.remote; }
  const udp::endpoint& remote() const { return remote_; }
  // Stream data this side holds: written and not yet acknowledged.
  uint64_t held_bytes() const { return held_bytes_; }

 private:
  struct SendStream {
    std::deque<std::string> chunks;  // never modified once queued: ngtcp2 points into them
    uint64_t front_offset = 0;       // the stream offset of chunks.front()[0]
    size_t unsent_chunk = 0;         // the first chunk with unsent bytes
    size_t unsent_pos = 0;           // its first unsent byte
    bool fin = false;                // CloseWrite was called
    bool fin_sent = false;
    bool blocked = false;  // flow control: waits for the peer's credit
    bool HasUnsent() const { return unsent_chunk < chunks.size() || (fin && !fin_sent); }
  };

  Connection(boost::asio::io_context& io, ConnectionSetup setup, const udp::endpoint& remote);
  absl::Status Init(bool server, const ngtcp2_cid& dcid, const ngtcp2_cid& scid,
                    const ngtcp2_cid* original_dcid, uint32_t version);
  ngtcp2_path Path();
  // Writes every packet ngtcp2 has for now (at most a bounded number per turn), then re-arms.
  void Flush();
  void ArmTimer();
  void OnTimer();
  // Ends the connection for a library error: a CONNECTION_CLOSE saying so, then `closed`.
  // Writes one CONNECTION_CLOSE carrying `error` to the peer (nothing if ngtcp2 has none to send).
  void SendConnectionClose(const ngtcp2_connection_close_error& error);
  void Fail(int liberr, const absl::Status& why);
  void Finish(const absl::Status& why);  // reports `closed` (deferred) and stops
  void Stop();
  // Runs the events queued by ngtcp2's callbacks, in order, while the connection lives.
  void Deliver();
  void Defer(std::function<void()> event) { deferred_.push_back(std::move(event)); }
  void Acked(int64_t stream, uint64_t up_to);
  void DropSendStream(int64_t stream);
  absl::Status CloseReason() const;  // why the peer closed, from its CONNECTION_CLOSE

  static const ngtcp2_callbacks& Callbacks(bool server);
  // ngtcp2 callbacks (user_data is the Connection).
  static int OnHandshakeCompleted(ngtcp2_conn* conn, void* user_data);
  static int OnStreamData(ngtcp2_conn* conn, uint32_t flags, int64_t stream, uint64_t offset,
                          const uint8_t* data, size_t length, void* user_data, void* stream_data);
  static int OnAcked(ngtcp2_conn* conn, int64_t stream, uint64_t offset, uint64_t length,
                     void* user_data, void* stream_data);
  static int OnStreamOpen(ngtcp2_conn* conn, int64_t stream, void* user_data);
  static int OnStreamClose(ngtcp2_conn* conn, uint32_t flags, int64_t stream, uint64_t code,
                           void* user_data, void* stream_data);
  static int OnStreamReset(ngtcp2_conn* conn, int64_t stream, uint64_t final_size, uint64_t code,
                           void* user_data, void* stream_data);
  static int OnStopSending(ngtcp2_conn* conn, int64_t stream, uint64_t code, void* user_data,
                           void* stream_data);
  static int OnExtendMaxStreams(ngtcp2_conn* conn, uint64_t max_streams, void* user_data);
  static int OnExtendMaxStreamData(ngtcp2_conn* conn, int64_t stream, uint64_t max_data,
                                   void* user_data, void* stream_data);
  static void Random(uint8_t* dest, size_t length, const ngtcp2_rand_ctx* ctx);
  static int OnNewConnectionId(ngtcp2_conn* conn, ngtcp2_cid* cid, uint8_t* token, size_t length,
                               void* user_data);
  static int OnRemoveConnectionId(ngtcp2_conn* conn, const ngtcp2_cid* cid, void* user_data);

  ConnectionSetup setup_;
  udp::endpoint remote_;
  bool server_ = false;
  HandshakePeer peer_;
  TlsSessionPtr tls_;
  ngtcp2_conn* conn_ = nullptr;
  boost::asio::steady_timer timer_;
  Events events_;
  std::deque<std::function<void()>> deferred_;
  std::vector<std::string> routes_;  // ids in the endpoint's table
  absl::flat_hash_map<int64_t, SendStream> send_;
  uint64_t held_bytes_ = 0;
  bool closed_ = false;
  bool handshake_reported_ = false;
  bool delivering_ = false;
};

}  // namespace connmgr::quic

#endif  // CONNMGR_SHELL_QUIC_CONNECTION_H_
