#include "shell/attack/attacker.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "boost/asio/ip/address.hpp"
#include "shell/crypto/keys.h"
#include "shell/endpoint.h"
#include "shell/mux/multistream.h"
#include "shell/noise/handshake.h"
#include "shell/noise/identity.h"

namespace connmgr::shell::attack {
namespace {

// The attacker's identity: every seed byte `seed`.
noise::Ed25519Identity IdentityFromSeed(uint8_t seed) {
  noise::Ed25519Identity::Seed bytes{};
  bytes.fill(seed);
  return noise::Ed25519Identity::FromSeed(bytes);
}

// Milliseconds left until `deadline` for poll(2): 0 when it passed.
int MillisecondsLeft(Deadline deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 60'000));
}

// Waits for `events` on `fd` until `deadline`; false when it passed first.
bool Wait(int fd, short events, Deadline deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int left = MillisecondsLeft(deadline);
    const int n = poll(&p, 1, left);
    if (n > 0) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

}  // namespace

std::string YamuxFrame(mux::FrameType type, uint16_t flags, uint32_t stream, uint32_t length,
                       absl::string_view payload) {
  std::string out;
  mux::AppendFrameHeader(mux::FrameHeader{type, flags, stream, length}, &out);
  out.append(payload.data(), payload.size());
  return out;
}

std::string DataFrame(uint32_t stream, absl::string_view payload, uint16_t flags) {
  return YamuxFrame(mux::FrameType::kData, flags, stream, static_cast<uint32_t>(payload.size()),
                    payload);
}

absl::StatusOr<std::unique_ptr<Attacker>> Attacker::Connect(const Multiaddr& node,
                                                            const PeerId& node_peer,
                                                            const AttackerOptions& options) {
  const Deadline deadline = std::chrono::steady_clock::now() + options.timeout;
  absl::StatusOr<boost::asio::ip::tcp::endpoint> endpoint = TcpEndpointOf(node);
  if (!endpoint.ok()) return endpoint.status();
  if (!endpoint->address().is_loopback()) {
    return absl::InvalidArgumentError("attacker: dials loopback addresses only");
  }
  const int fd =
      socket(endpoint->protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("socket: ", std::strerror(errno)));
  auto attacker = std::unique_ptr<Attacker>(new Attacker(fd, node_peer));
  if (options.source_ip) {
    boost::system::error_code ec;
    const boost::asio::ip::address source = boost::asio::ip::make_address(*options.source_ip, ec);
    if (ec || !source.is_loopback()) {
      return absl::InvalidArgumentError(
          absl::StrCat("attacker: source ", *options.source_ip, " is not a loopback address"));
    }
    const boost::asio::ip::tcp::endpoint local(source, 0);
    if (bind(fd, local.data(), static_cast<socklen_t>(local.size())) != 0) {
      return absl::UnavailableError(absl::StrCat("bind: ", std::strerror(errno)));
    }
  }
  if (connect(fd, endpoint->data(), static_cast<socklen_t>(endpoint->size())) != 0) {
    if (errno != EINPROGRESS) {
      return absl::UnavailableError(absl::StrCat("connect: ", std::strerror(errno)));
    }
    if (!Wait(fd, POLLOUT, deadline)) return absl::DeadlineExceededError("connect: timed out");
    int error = 0;
    socklen_t size = sizeof(error);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
    if (error != 0) return absl::UnavailableError(absl::StrCat("connect: ", std::strerror(error)));
  }
  if (absl::Status s = attacker->Handshake(node_peer, options.seed, deadline); !s.ok()) return s;
  return attacker;
}

Attacker::~Attacker() { close(fd_); }

absl::Status Attacker::Handshake(const PeerId& node_peer, uint8_t seed, Deadline deadline) {
  // multistream-select /noise, in the clear.
  mux::MultistreamDialer security = mux::MultistreamDialer::Create({"/noise"}).value();
  if (!WriteRaw(security.TakeOutput(), deadline)) return absl::DeadlineExceededError("write");
  while (security.state() == mux::NegotiationState::kInProgress) {
    absl::StatusOr<std::string> chunk = ReadRaw(deadline);
    if (!chunk.ok()) return chunk.status();
    if (chunk->empty()) return absl::UnavailableError("the node closed during /noise");
    security.Feed(*chunk);
    if (!WriteRaw(security.TakeOutput(), deadline)) return absl::DeadlineExceededError("write");
  }
  if (security.state() != mux::NegotiationState::kSelected) {
    return absl::UnavailableError("the node refused /noise");
  }
  // Noise XX as the initiator.
  noise::Handshake noise = noise::Handshake::Initiator(crypto::PrivateKey(IdentityFromSeed(seed)),
                                                       noise::HandshakeKeys::Random(), node_peer);
  if (!WriteRaw(noise.PollSend(), deadline)) return absl::DeadlineExceededError("write");
  std::string received = security.TakeLeftover();
  while (!noise.done()) {
    if (received.empty()) {
      absl::StatusOr<std::string> chunk = ReadRaw(deadline);
      if (!chunk.ok()) return chunk.status();
      if (chunk->empty()) return absl::UnavailableError("the node closed during Noise");
      received = *std::move(chunk);
    }
    if (absl::Status s = noise.HandleReceived(received); !s.ok()) return s;
    received.clear();
    if (!WriteRaw(noise.PollSend(), deadline)) return absl::DeadlineExceededError("write");
  }
  const noise::TransportCiphers ciphers = noise.Split();
  encoder_.emplace(ciphers.send);
  decoder_.emplace(ciphers.receive);
  std::string plaintext;
  if (absl::Status s = decoder_->Decode(noise.TakeLeftover(), &plaintext); !s.ok()) return s;
  // multistream-select /yamux/1.0.0, encrypted.
  mux::MultistreamDialer muxer = mux::MultistreamDialer::Create({"/yamux/1.0.0"}).value();
  if (!Send(muxer.TakeOutput(), deadline)) return absl::DeadlineExceededError("write");
  muxer.Feed(plaintext);
  while (muxer.state() == mux::NegotiationState::kInProgress) {
    absl::StatusOr<std::string> chunk = ReadRaw(deadline);
    if (!chunk.ok()) return chunk.status();
    if (chunk->empty()) return absl::UnavailableError("the node closed during /yamux/1.0.0");
    plaintext.clear();
    if (absl::Status s = decoder_->Decode(*chunk, &plaintext); !s.ok()) return s;
    muxer.Feed(plaintext);
  }
  if (muxer.state() != mux::NegotiationState::kSelected) {
    return absl::UnavailableError("the node refused /yamux/1.0.0");
  }
  plaintext_in_ = muxer.TakeLeftover();
  return absl::OkStatus();
}

bool Attacker::OpenStream(uint32_t stream, absl::string_view protocol, Deadline deadline) {
  std::string negotiation;
  mux::AppendMultistreamMessage(mux::kMultistreamHeader, &negotiation);
  mux::AppendMultistreamMessage(protocol, &negotiation);
  return Send(YamuxFrame(mux::FrameType::kWindowUpdate, mux::kFlagSyn, stream, 0) +
                  DataFrame(stream, negotiation),
              deadline);
}

bool Attacker::Send(absl::string_view plaintext, Deadline deadline) {
  if (!plaintext.empty() && !encoder_->Encode(plaintext, &unsent_).ok()) return false;
  return Flush(deadline);
}

bool Attacker::Flush(Deadline deadline) {
  while (unsent_offset_ < unsent_.size()) {
    const ssize_t n = send(fd_, unsent_.data() + unsent_offset_, unsent_.size() - unsent_offset_,
                           MSG_NOSIGNAL);  // a node that closed is an error, not SIGPIPE
    if (n > 0) {
      unsent_offset_ += static_cast<size_t>(n);
      sent_bytes_ += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;  // reset or closed
    if (!Wait(fd_, POLLOUT, deadline)) break;
  }
  if (unsent_offset_ == unsent_.size()) {
    unsent_.clear();
    unsent_offset_ = 0;
    return true;
  }
  if (unsent_offset_ > unsent_.size() / 2) {
    unsent_.erase(0, unsent_offset_);
    unsent_offset_ = 0;
  }
  return false;
}

bool Attacker::WriteRaw(absl::string_view bytes, Deadline deadline) {
  unsent_.append(bytes.data(), bytes.size());
  return Flush(deadline);
}

absl::StatusOr<std::string> Attacker::ReadRaw(Deadline deadline) {
  std::array<char, size_t{64} * 1024> buffer;
  for (;;) {
    const ssize_t n = read(fd_, buffer.data(), buffer.size());
    if (n >= 0) return std::string(buffer.data(), static_cast<size_t>(n));
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return absl::UnavailableError(absl::StrCat("read: ", std::strerror(errno)));
    }
    if (!Wait(fd_, POLLIN, deadline)) return absl::DeadlineExceededError("read: timed out");
  }
}

AttackerRead Attacker::ReadUntilEnd(Deadline deadline) {
  AttackerRead out;
  for (;;) {
    while (plaintext_in_.size() >= mux::kYamuxHeaderBytes) {
      absl::StatusOr<mux::FrameHeader> header = mux::DecodeFrameHeader(plaintext_in_);
      if (!header.ok()) {
        out.error = header.status();
        return out;
      }
      const size_t payload = header->type == mux::FrameType::kData ? header->length : 0;
      if (plaintext_in_.size() < mux::kYamuxHeaderBytes + payload) break;
      out.frames.push_back({*header, plaintext_in_.substr(mux::kYamuxHeaderBytes, payload)});
      plaintext_in_.erase(0, mux::kYamuxHeaderBytes + payload);
    }
    absl::StatusOr<std::string> chunk = ReadRaw(deadline);
    if (!chunk.ok()) {
      out.ended = chunk.status().code() != absl::StatusCode::kDeadlineExceeded;
      out.error = chunk.status();
      return out;
    }
    if (chunk->empty()) {
      out.ended = true;
      return out;
    }
    if (absl::Status s = decoder_->Decode(*chunk, &plaintext_in_); !s.ok()) {
      out.error = s;
      return out;
    }
  }
}

bool Attacker::PeerClosed() {
  pollfd p{fd_, POLLRDHUP, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

}  // namespace connmgr::shell::attack
