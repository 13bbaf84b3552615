#include "shell/quic/endpoint.h"

#include <ngtcp2/ngtcp2_crypto.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace connmgr::quic {

Endpoint::Endpoint(boost::asio::io_context& io, std::shared_ptr<TlsCredentials> credentials,
                   OnInitial on_initial)
    : io_(io),
      socket_(io),
      credentials_(std::move(credentials)),
      on_initial_(std::move(on_initial)) {}

Endpoint::~Endpoint() { Close(); }

absl::StatusOr<std::shared_ptr<Endpoint>> Endpoint::Open(
    boost::asio::io_context& io, const udp::endpoint& local,
    std::shared_ptr<TlsCredentials> credentials, OnInitial on_initial) {
  std::shared_ptr<Endpoint> e(new Endpoint(io, std::move(credentials), std::move(on_initial)));
  boost::system::error_code ec;
  e->socket_.open(local.protocol(), ec);
  if (!ec) e->socket_.bind(local, ec);
  if (!ec) e->socket_.non_blocking(true, ec);
  if (!ec) e->local_ = e->socket_.local_endpoint(ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("quic: bind udp ", local.address().to_string(), ":",
                                               local.port(), ": ", ec.message()));
  }
  return e;
}

void Endpoint::Start() { ReadNext(); }

void Endpoint::Close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
  auto routes = std::move(routes_);
  routes_.clear();
  for (auto& [cid, slot] : routes) {
    if (std::shared_ptr<Connection> c = slot->lock()) c->Abandon();
  }
}

void Endpoint::ReadNext() {
  if (closed_) return;
  std::weak_ptr<Endpoint> weak = weak_from_this();
  socket_.async_receive_from(
      boost::asio::buffer(buffer_), sender_, [weak](const boost::system::error_code& ec, size_t n) {
        std::shared_ptr<Endpoint> self = weak.lock();
        if (self == nullptr || self->closed_ || ec == boost::asio::error::operation_aborted) {
          return;
        }
        if (!ec) self->OnDatagram(self->sender_, absl::string_view(self->buffer_.data(), n));
        // Take the datagrams already waiting, up to the cap, then yield.
        for (int i = 1; i < kMaxDatagramsPerTurn && !self->closed_; ++i) {
          boost::system::error_code again;
          udp::endpoint from;
          const size_t m =
              self->socket_.receive_from(boost::asio::buffer(self->buffer_), from, 0, again);
          if (again) break;
          self->OnDatagram(from, absl::string_view(self->buffer_.data(), m));
        }
        self->ReadNext();
      });
}

void Endpoint::OnDatagram(const udp::endpoint& from, absl::string_view datagram) {
  DatagramHeader header = ReadDatagramHeader(datagram);
  if (header.kind == DatagramKind::kDrop) {
    ++dropped_;
    return;
  }
  if (auto it = routes_.find(header.dcid); it != routes_.end()) {
    if (std::shared_ptr<Connection> c = it->second->lock()) {
      c->Receive(from, datagram);
      return;
    }
  }
  if (header.kind != DatagramKind::kInitial || !on_initial_) {
    ++dropped_;
    return;
  }
  InitialPacket initial{from, header.initial, std::string(datagram)};
  if (routes_.size() >= kMaxRoutes) {
    ++refused_full_;
    Refuse(initial);
    return;
  }
  on_initial_(initial);
}

ConnectionSetup Endpoint::Setup(const ConnectionLimits& limits, const Slot& slot) {
  ConnectionSetup setup;
  setup.credentials = credentials_;
  setup.limits = limits;
  setup.local = local_;
  std::weak_ptr<Endpoint> weak = weak_from_this();
  setup.send = [weak](const udp::endpoint& to, absl::string_view datagram) {
    if (std::shared_ptr<Endpoint> self = weak.lock()) self->Send(to, datagram);
  };
  setup.route = [weak, slot](const std::string& cid, bool add) {
    std::shared_ptr<Endpoint> self = weak.lock();
    if (self == nullptr || self->closed_) return;
    if (add) {
      self->routes_[cid] = slot;
    } else if (auto it = self->routes_.find(cid); it != self->routes_.end() && it->second == slot) {
      self->routes_.erase(it);
    }
  };
  return setup;
}

absl::StatusOr<std::shared_ptr<Connection>> Endpoint::Accept(const InitialPacket& initial,
                                                             const ConnectionLimits& limits,
                                                             Connection::Events events) {
  if (closed_) return absl::UnavailableError("quic: the endpoint closed");
  auto slot = std::make_shared<std::weak_ptr<Connection>>();
  absl::StatusOr<std::shared_ptr<Connection>> c =
      Connection::Accept(io_, Setup(limits, slot), initial.header, initial.remote);
  if (!c.ok()) return c.status();
  *slot = *c;
  (*c)->SetEvents(std::move(events));
  (*c)->Receive(initial.remote, initial.datagram);
  return c;
}

void Endpoint::Refuse(const InitialPacket& initial) {
  std::array<uint8_t, 256> buffer;
  const ngtcp2_ssize n = ngtcp2_crypto_write_connection_close(
      buffer.data(), buffer.size(), initial.header.version, &initial.header.scid,
      &initial.header.dcid, NGTCP2_CONNECTION_REFUSED, nullptr, 0);
  if (n > 0) {
    Send(initial.remote,
         absl::string_view(reinterpret_cast<const char*>(buffer.data()), static_cast<size_t>(n)));
  }
}

absl::StatusOr<std::shared_ptr<Connection>> Endpoint::Dial(const udp::endpoint& remote,
                                                           const ConnectionLimits& limits,
                                                           std::optional<PeerId> expected,
                                                           Connection::Events events) {
  if (closed_) return absl::UnavailableError("quic: the endpoint closed");
  auto slot = std::make_shared<std::weak_ptr<Connection>>();
  absl::StatusOr<std::shared_ptr<Connection>> c =
      Connection::Dial(io_, Setup(limits, slot), remote, std::move(expected));
  if (!c.ok()) return c.status();
  *slot = *c;
  (*c)->SetEvents(std::move(events));
  (*c)->Start();
  return c;
}

void Endpoint::Send(const udp::endpoint& to, absl::string_view datagram) {
  if (closed_) return;
  boost::system::error_code ec;
  // Non-blocking: a datagram the kernel cannot take now is lost, and QUIC retransmits it.
  socket_.send_to(boost::asio::buffer(datagram.data(), datagram.size()), to, 0, ec);
}

}  // namespace connmgr::quic
