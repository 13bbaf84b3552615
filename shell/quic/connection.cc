#include "shell/quic/connection.h"

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "shell/endpoint.h"
#include "shell/quic/demux.h"

namespace connmgr::quic {
namespace {

// The largest UDP payload written (fits a 1500-byte Ethernet MTU with IPv6 and UDP headers).
constexpr size_t kMaxUdpPayloadBytes = 1'452;
// Packets written per turn before yielding to other handlers (ngtcp2's pacing and congestion
// window usually stop it sooner).
constexpr int kMaxPacketsPerTurn = 64;

ngtcp2_tstamp Now() { return static_cast<ngtcp2_tstamp>(shell::SteadyNow().nanoseconds()); }

ngtcp2_cid RandomCid() {
  ngtcp2_cid cid;
  cid.datalen = kConnectionIdBytes;
  gnutls_rnd(GNUTLS_RND_NONCE, cid.data, cid.datalen);
  return cid;
}

Connection* Self(void* user_data) { return static_cast<Connection*>(user_data); }

}  // namespace

Connection::Connection(boost::asio::io_context& io, ConnectionSetup setup,
                       const udp::endpoint& remote)
    : setup_(std::move(setup)), remote_(remote), timer_(io) {}

Connection::~Connection() {
  Stop();
  if (conn_ != nullptr) ngtcp2_conn_del(conn_);
}

const ngtcp2_callbacks& Connection::Callbacks(bool server) {
  static const std::array<ngtcp2_callbacks, 2> kCallbacks = [] {
    ngtcp2_callbacks c{};
    c.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
    c.encrypt = ngtcp2_crypto_encrypt_cb;
    c.decrypt = ngtcp2_crypto_decrypt_cb;
    c.hp_mask = ngtcp2_crypto_hp_mask_cb;
    c.update_key = ngtcp2_crypto_update_key_cb;
    c.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
    c.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
    c.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
    c.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
    c.handshake_completed = &OnHandshakeCompleted;
    c.recv_stream_data = &OnStreamData;
    c.acked_stream_data_offset = &OnAcked;
    c.stream_open = &OnStreamOpen;
    c.stream_close = &OnStreamClose;
    c.stream_reset = &OnStreamReset;
    c.stream_stop_sending = &OnStopSending;
    c.extend_max_local_streams_bidi = &OnExtendMaxStreams;
    c.extend_max_stream_data = &OnExtendMaxStreamData;
    c.rand = &Random;
    c.get_new_connection_id = &OnNewConnectionId;
    c.remove_connection_id = &OnRemoveConnectionId;
    ngtcp2_callbacks client = c;
    client.client_initial = ngtcp2_crypto_client_initial_cb;
    client.recv_retry = ngtcp2_crypto_recv_retry_cb;
    ngtcp2_callbacks server = c;
    server.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
    return std::array<ngtcp2_callbacks, 2>{client, server};
  }();
  return kCallbacks[server ? 1 : 0];
}

absl::StatusOr<std::shared_ptr<Connection>> Connection::Accept(boost::asio::io_context& io,
                                                               ConnectionSetup setup,
                                                               const ngtcp2_pkt_hd& initial,
                                                               const udp::endpoint& remote) {
  std::shared_ptr<Connection> c(new Connection(io, std::move(setup), remote));
  const ngtcp2_cid scid = RandomCid();
  // The client keeps sending to the id it chose until it learns ours: both route here.
  c->routes_.push_back(CidKey(initial.dcid));
  c->setup_.route(CidKey(initial.dcid), true);
  if (absl::Status s = c->Init(/*server=*/true, initial.scid, scid, &initial.dcid, initial.version);
      !s.ok()) {
    return s;
  }
  return c;
}

absl::StatusOr<std::shared_ptr<Connection>> Connection::Dial(boost::asio::io_context& io,
                                                             ConnectionSetup setup,
                                                             const udp::endpoint& remote,
                                                             std::optional<PeerId> expected) {
  std::shared_ptr<Connection> c(new Connection(io, std::move(setup), remote));
  c->peer_.expected = std::move(expected);
  if (absl::Status s =
          c->Init(/*server=*/false, RandomCid(), RandomCid(), nullptr, NGTCP2_PROTO_VER_V1);
      !s.ok()) {
    return s;
  }
  return c;
}

ngtcp2_path Connection::Path() {
  ngtcp2_path path{};
  path.local.addr = reinterpret_cast<ngtcp2_sockaddr*>(setup_.local.data());
  path.local.addrlen = static_cast<ngtcp2_socklen>(setup_.local.size());
  path.remote.addr = reinterpret_cast<ngtcp2_sockaddr*>(remote_.data());
  path.remote.addrlen = static_cast<ngtcp2_socklen>(remote_.size());
  return path;
}

absl::Status Connection::Init(bool server, const ngtcp2_cid& dcid, const ngtcp2_cid& scid,
                              const ngtcp2_cid* original_dcid, uint32_t version) {
  server_ = server;
  routes_.push_back(CidKey(scid));
  setup_.route(CidKey(scid), true);

  ngtcp2_settings settings;
  ngtcp2_settings_default(&settings);
  settings.initial_ts = Now();
  settings.max_tx_udp_payload_size = kMaxUdpPayloadBytes;
  settings.no_pmtud = 1;
  const uint64_t window = setup_.limits.stream_receive_window;
  settings.max_stream_window = window;
  settings.max_window = 4 * window;

  ngtcp2_transport_params params;
  ngtcp2_transport_params_default(&params);
  params.initial_max_streams_bidi = setup_.limits.max_streams;
  params.initial_max_streams_uni = 0;
  params.initial_max_stream_data_bidi_local = window;
  params.initial_max_stream_data_bidi_remote = window;
  params.initial_max_stream_data_uni = 0;
  params.initial_max_data = 4 * window;
  params.max_idle_timeout = static_cast<ngtcp2_duration>(setup_.limits.idle_timeout.nanoseconds());
  if (original_dcid != nullptr) params.original_dcid = *original_dcid;

  ngtcp2_path path = Path();
  const int rv = server
                     ? ngtcp2_conn_server_new(&conn_, &dcid, &scid, &path, version,
                                              &Callbacks(true), &settings, &params, nullptr, this)
                     : ngtcp2_conn_client_new(&conn_, &dcid, &scid, &path, version,
                                              &Callbacks(false), &settings, &params, nullptr, this);
  if (rv != 0) {
    conn_ = nullptr;
    return absl::InternalError(absl::StrCat("quic: new connection: ", ngtcp2_strerror(rv)));
  }
  peer_.conn = conn_;
  absl::StatusOr<TlsSessionPtr> tls = MakeTlsSession(*setup_.credentials, server, &peer_);
  if (!tls.ok()) return tls.status();
  tls_ = *std::move(tls);
  ngtcp2_conn_set_tls_native_handle(conn_, tls_.get());
  return absl::OkStatus();
}

void Connection::Start() {
  auto self = shared_from_this();
  Flush();
  Deliver();
}

void Connection::Receive(const udp::endpoint& from, absl::string_view datagram) {
  if (closed_) return;
  auto self = shared_from_this();
  ngtcp2_path path = Path();
  udp::endpoint sender = from;
  path.remote.addr = reinterpret_cast<ngtcp2_sockaddr*>(sender.data());
  path.remote.addrlen = static_cast<ngtcp2_socklen>(sender.size());
  ngtcp2_pkt_info info{};
  const int rv =
      ngtcp2_conn_read_pkt(conn_, &path, &info, reinterpret_cast<const uint8_t*>(datagram.data()),
                           datagram.size(), Now());
  if (rv == NGTCP2_ERR_DRAINING) {
    Finish(CloseReason());
  } else if (rv == NGTCP2_ERR_DROP_CONN) {
    Finish(absl::UnavailableError("quic: the connection was dropped"));
  } else if (rv != 0) {
    std::string detail = ngtcp2_strerror(rv);
    if (!peer_.error.empty()) detail = absl::StrCat(detail, ": ", peer_.error);
    Fail(rv, absl::UnauthenticatedError(absl::StrCat("quic: ", detail)));
  } else {
    Flush();
  }
  Deliver();
}

absl::Status Connection::CloseReason() const {
  ngtcp2_connection_close_error error;
  ngtcp2_conn_get_connection_close_error(conn_, &error);
  const std::string reason(reinterpret_cast<const char*>(error.reason), error.reasonlen);
  if (error.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT &&
      error.error_code == NGTCP2_CONNECTION_REFUSED) {
    return absl::UnavailableError("quic: the peer refused the connection (CONNECTION_REFUSED)");
  }
  const bool application = error.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION;
  return absl::UnavailableError(absl::StrCat(
      "quic: the peer closed the connection (", application ? "application" : "transport",
      " error ", error.error_code, reason.empty() ? "" : ": ", reason, ")"));
}

absl::StatusOr<int64_t> Connection::OpenStream() {
  if (closed_) return absl::UnavailableError("quic: the connection closed");
  int64_t id = -1;
  const int rv = ngtcp2_conn_open_bidi_stream(conn_, &id, nullptr);
  if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED) {
    return absl::ResourceExhaustedError("quic: the peer allows no more streams now");
  }
  if (rv != 0) return absl::InternalError(absl::StrCat("quic: open stream: ", ngtcp2_strerror(rv)));
  send_[id];
  return id;
}

absl::Status Connection::Write(int64_t stream, absl::string_view bytes) {
  if (closed_) return absl::UnavailableError("quic: the connection closed");
  auto it = send_.find(stream);
  if (it == send_.end() || it->second.fin) {
    return absl::NotFoundError(absl::StrCat("quic: no stream ", stream, " to write"));
  }
  if (bytes.empty()) return absl::OkStatus();
  it->second.chunks.emplace_back(bytes);
  held_bytes_ += bytes.size();
  auto self = shared_from_this();
  Flush();
  Deliver();
  return absl::OkStatus();
}

absl::Status Connection::CloseWrite(int64_t stream) {
  if (closed_) return absl::UnavailableError("quic: the connection closed");
  auto it = send_.find(stream);
  if (it == send_.end()) return absl::NotFoundError(absl::StrCat("quic: no stream ", stream));
  it->second.fin = true;
  auto self = shared_from_this();
  Flush();
  Deliver();
  return absl::OkStatus();
}

void Connection::ResetStream(int64_t stream) {
  if (closed_) return;
  auto self = shared_from_this();
  ngtcp2_conn_shutdown_stream(conn_, stream, /*app_error_code=*/0);
  DropSendStream(stream);
  Flush();
  Deliver();
}

void Connection::DropSendStream(int64_t stream) {
  auto it = send_.find(stream);
  if (it == send_.end()) return;
  for (const std::string& chunk : it->second.chunks) held_bytes_ -= chunk.size();
  send_.erase(it);
}

void Connection::Close(uint64_t error_code, absl::string_view reason) {
  if (closed_) return;
  if (!ngtcp2_conn_is_in_closing_period(conn_) && !ngtcp2_conn_is_in_draining_period(conn_)) {
    ngtcp2_connection_close_error error;
    ngtcp2_connection_close_error_set_application_error(
        &error, error_code, reinterpret_cast<const uint8_t*>(reason.data()), reason.size());
    SendConnectionClose(error);
  }
  Stop();
}

void Connection::SendConnectionClose(const ngtcp2_connection_close_error& error) {
  std::array<uint8_t, kMaxUdpPayloadBytes> buffer;
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info info{};
  const ngtcp2_ssize n = ngtcp2_conn_write_connection_close(conn_, &ps.path, &info, buffer.data(),
                                                            buffer.size(), &error, Now());
  if (n > 0) {
    setup_.send(remote_, absl::string_view(reinterpret_cast<const char*>(buffer.data()),
                                           static_cast<size_t>(n)));
  }
}

void Connection::Abandon() { Stop(); }

void Connection::Stop() {
  if (closed_) return;
  closed_ = true;
  timer_.cancel();
  for (const std::string& cid : routes_) setup_.route(cid, false);
  routes_.clear();
  deferred_.clear();
}

void Connection::Fail(int liberr, const absl::Status& why) {
  if (closed_) return;
  ngtcp2_connection_close_error error;
  ngtcp2_connection_close_error_set_transport_error_liberr(&error, liberr, nullptr, 0);
  SendConnectionClose(error);
  Finish(why);
}

void Connection::Finish(const absl::Status& why) {
  if (closed_) return;
  const bool handshake_pending = !handshake_reported_;
  Stop();
  // Stop dropped the queued events: what the owner learns is the end alone.
  auto self = shared_from_this();
  deferred_.push_back([this, why, handshake_pending] {
    // Copies: a handler may replace the events it was called from.
    if (handshake_pending) {
      handshake_reported_ = true;
      auto handshake = events_.handshake;
      if (handshake) handshake(why);
      return;
    }
    auto closed = events_.closed;
    if (closed) closed(why);
  });
}

void Connection::Deliver() {
  if (delivering_) return;
  delivering_ = true;
  auto self = shared_from_this();
  // Events queued while one runs (a handler writing, say) run after it, in order; a handler
  // that closes the connection drops the rest.
  while (!deferred_.empty()) {
    std::function<void()> event = std::move(deferred_.front());
    deferred_.pop_front();
    event();
  }
  delivering_ = false;
}

void Connection::Flush() {
  if (closed_) return;
  if (ngtcp2_conn_is_in_closing_period(conn_) || ngtcp2_conn_is_in_draining_period(conn_)) return;
  std::array<uint8_t, kMaxUdpPayloadBytes> buffer;
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info info{};
  const ngtcp2_tstamp now = Now();
  for (auto& [id, s] : send_) s.blocked = false;
  for (int packets = 0; packets < kMaxPacketsPerTurn;) {
    int64_t stream_id = -1;
    SendStream* stream = nullptr;
    for (auto& [id, s] : send_) {
      if (!s.blocked && s.HasUnsent()) {
        stream_id = id;
        stream = &s;
        break;
      }
    }
    ngtcp2_vec data{};
    size_t data_count = 0;
    uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
    if (stream != nullptr) {
      if (stream->unsent_chunk < stream->chunks.size()) {
        std::string& chunk = stream->chunks[stream->unsent_chunk];
        data.base = reinterpret_cast<uint8_t*>(chunk.data()) + stream->unsent_pos;
        data.len = chunk.size() - stream->unsent_pos;
        data_count = 1;
      }
      const bool last = stream->unsent_chunk + 1 >= stream->chunks.size();
      if (stream->fin && last) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
    }
    ngtcp2_ssize written_data = -1;
    const ngtcp2_ssize n = ngtcp2_conn_writev_stream(
        conn_, &ps.path, &info, buffer.data(), buffer.size(), &written_data, flags, stream_id,
        data_count > 0 ? &data : nullptr, data_count, now);
    if (stream != nullptr && written_data >= 0) {
      if (data_count > 0) {
        stream->unsent_pos += static_cast<size_t>(written_data);
        if (stream->unsent_pos >= stream->chunks[stream->unsent_chunk].size()) {
          ++stream->unsent_chunk;
          stream->unsent_pos = 0;
        }
      }
      if ((flags & NGTCP2_WRITE_STREAM_FLAG_FIN) != 0 &&
          stream->unsent_chunk >= stream->chunks.size()) {
        stream->fin_sent = true;
      }
    }
    if (n == NGTCP2_ERR_WRITE_MORE) continue;
    if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
      stream->blocked = true;
      continue;
    }
    if (n == NGTCP2_ERR_STREAM_SHUT_WR || n == NGTCP2_ERR_STREAM_NOT_FOUND) {
      DropSendStream(stream_id);
      continue;
    }
    if (n < 0) {
      Fail(static_cast<int>(n), absl::InternalError(absl::StrCat(
                                    "quic: write: ", ngtcp2_strerror(static_cast<int>(n)))));
      return;
    }
    if (n == 0) break;
    setup_.send(remote_, absl::string_view(reinterpret_cast<const char*>(buffer.data()),
                                           static_cast<size_t>(n)));
    ++packets;
  }
  ArmTimer();
}

void Connection::ArmTimer() {
  if (closed_) return;
  const ngtcp2_tstamp expiry = ngtcp2_conn_get_expiry(conn_);
  if (expiry == UINT64_MAX) {
    timer_.cancel();
    return;
  }
  const ngtcp2_tstamp now = Now();
  const auto wait = std::chrono::nanoseconds(expiry > now ? expiry - now : 0);
  timer_.expires_after(wait);
  std::weak_ptr<Connection> weak = weak_from_this();
  timer_.async_wait([weak](const boost::system::error_code& ec) {
    std::shared_ptr<Connection> self = weak.lock();
    if (ec || self == nullptr || self->closed_) return;
    self->OnTimer();
  });
}

void Connection::OnTimer() {
  auto self = shared_from_this();
  const int rv = ngtcp2_conn_handle_expiry(conn_, Now());
  if (rv == NGTCP2_ERR_IDLE_CLOSE) {
    Finish(absl::DeadlineExceededError("quic: idle timeout"));
  } else if (rv != 0) {
    Fail(rv, absl::InternalError(absl::StrCat("quic: timer: ", ngtcp2_strerror(rv))));
  } else {
    Flush();
  }
  Deliver();
}

void Connection::Acked(int64_t stream, uint64_t up_to) {
  auto it = send_.find(stream);
  if (it == send_.end()) return;
  SendStream& s = it->second;
  while (!s.chunks.empty() && s.unsent_chunk > 0 &&
         s.front_offset + s.chunks.front().size() <= up_to) {
    s.front_offset += s.chunks.front().size();
    held_bytes_ -= s.chunks.front().size();
    s.chunks.pop_front();
    --s.unsent_chunk;
  }
}

// --- ngtcp2 callbacks ---------------------------------------------------------------------------

int Connection::OnHandshakeCompleted(ngtcp2_conn* /*conn*/, void* user_data) {
  Connection* c = Self(user_data);
  c->Defer([c] {
    if (c->handshake_reported_) return;
    c->handshake_reported_ = true;
    absl::StatusOr<PeerId> peer =
        c->peer_.remote ? absl::StatusOr<PeerId>(*c->peer_.remote)
                        : absl::UnauthenticatedError("quic: the peer presented no certificate");
    auto handshake = c->events_.handshake;  // a copy: the handler replaces the events
    if (handshake) handshake(peer);
  });
  return 0;
}

int Connection::OnStreamData(ngtcp2_conn* conn, uint32_t flags, int64_t stream, uint64_t /*offset*/,
                             const uint8_t* data, size_t length, void* user_data,
                             void* /*stream_data*/) {
  Connection* c = Self(user_data);
  // Handed on at once (the session buffers what it must): the peer's credit comes back now.
  ngtcp2_conn_extend_max_stream_offset(conn, stream, length);
  ngtcp2_conn_extend_max_offset(conn, length);
  std::string bytes(reinterpret_cast<const char*>(data), length);
  const bool fin = (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0;
  c->Defer([c, stream, bytes = std::move(bytes), fin]() mutable {
    if (c->events_.stream_data) c->events_.stream_data(stream, std::move(bytes), fin);
  });
  return 0;
}

int Connection::OnAcked(ngtcp2_conn* /*conn*/, int64_t stream, uint64_t offset, uint64_t length,
                        void* user_data, void* /*stream_data*/) {
  Self(user_data)->Acked(stream, offset + length);
  return 0;
}

int Connection::OnStreamOpen(ngtcp2_conn* /*conn*/, int64_t stream, void* user_data) {
  Connection* c = Self(user_data);
  if (!ngtcp2_is_bidi_stream(stream)) return 0;
  c->send_[stream];
  c->Defer([c, stream] {
    if (c->events_.stream_opened) c->events_.stream_opened(stream);
  });
  return 0;
}

int Connection::OnStreamClose(ngtcp2_conn* conn, uint32_t /*flags*/, int64_t stream,
                              uint64_t /*code*/, void* user_data, void* /*stream_data*/) {
  Connection* c = Self(user_data);
  c->DropSendStream(stream);
  // The credit: a stream the peer opened is over, so it may open another.
  if (!ngtcp2_conn_is_local_stream(conn, stream)) ngtcp2_conn_extend_max_streams_bidi(conn, 1);
  c->Defer([c, stream] {
    if (c->events_.stream_closed) c->events_.stream_closed(stream);
  });
  return 0;
}

int Connection::OnStreamReset(ngtcp2_conn* /*conn*/, int64_t stream, uint64_t /*final_size*/,
                              uint64_t /*code*/, void* user_data, void* /*stream_data*/) {
  Connection* c = Self(user_data);
  c->Defer([c, stream] {
    if (c->events_.stream_reset) c->events_.stream_reset(stream);
  });
  return 0;
}

int Connection::OnStopSending(ngtcp2_conn* conn, int64_t stream, uint64_t /*code*/, void* user_data,
                              void* stream_data) {
  return OnStreamReset(conn, stream, 0, 0, user_data, stream_data);
}

int Connection::OnExtendMaxStreams(ngtcp2_conn* /*conn*/, uint64_t /*max_streams*/,
                                   void* user_data) {
  Connection* c = Self(user_data);
  c->Defer([c] {
    if (c->events_.stream_credit) c->events_.stream_credit();
  });
  return 0;
}

int Connection::OnExtendMaxStreamData(ngtcp2_conn* /*conn*/, int64_t stream, uint64_t /*max_data*/,
                                      void* user_data, void* /*stream_data*/) {
  auto it = Self(user_data)->send_.find(stream);
  if (it != Self(user_data)->send_.end()) it->second.blocked = false;
  return 0;
}

void Connection::Random(uint8_t* dest, size_t length, const ngtcp2_rand_ctx* /*ctx*/) {
  gnutls_rnd(GNUTLS_RND_RANDOM, dest, length);
}

int Connection::OnNewConnectionId(ngtcp2_conn* /*conn*/, ngtcp2_cid* cid, uint8_t* token,
                                  size_t length, void* user_data) {
  Connection* c = Self(user_data);
  cid->datalen = length;
  if (gnutls_rnd(GNUTLS_RND_NONCE, cid->data, length) != 0 ||
      gnutls_rnd(GNUTLS_RND_NONCE, token, NGTCP2_STATELESS_RESET_TOKENLEN) != 0) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  c->routes_.push_back(CidKey(*cid));
  c->setup_.route(CidKey(*cid), true);
  return 0;
}

int Connection::OnRemoveConnectionId(ngtcp2_conn* /*conn*/, const ngtcp2_cid* cid,
                                     void* user_data) {
  Connection* c = Self(user_data);
  const std::string key = CidKey(*cid);
  c->setup_.route(key, false);
  c->routes_.erase(std::remove(c->routes_.begin(), c->routes_.end(), key), c->routes_.end());
  return 0;
}

}  // namespace connmgr::quic
