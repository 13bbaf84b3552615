// The libp2p upgrader: makes a TCP socket a libp2p connection that js-libp2p, go-libp2p and
// rust-libp2p peers accept —
//   multistream-select "/noise" → Noise XX handshake (an identity key of any libp2p type), or
//   "/tls/1.0.0" → libp2p's TLS 1.3 handshake, in the order Libp2pOptions::security_protocols
//   gives
//   → multistream-select "/yamux/1.0.0" over the encrypted channel → a Yamux session,
// and serves /ipfs/ping/1.0.0 and /ipfs/id/1.0.0 on every connection. Streams are negotiated
// with multistream-select; every stream opened or closed is reported to the driver (so the
// core counts it), and application protocols listed in the options are handed to the host.
//
//   Libp2pOptions options;
//   options.identity = crypto::PrivateKey::Generate(crypto::KeyType::kSecp256k1).value();
//   auto upgrader = std::make_shared<Libp2pUpgrader>(std::move(options));
#ifndef CONNMGR_SHELL_LIBP2P_H_
#define CONNMGR_SHELL_LIBP2P_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/multiaddr.h"
#include "shell/crypto/keys.h"
#include "shell/mux/yamux.h"
#include "shell/noise/identity.h"
#include "shell/upgrader.h"

namespace connmgr::tls {
class TlsContext;
}  // namespace connmgr::tls

namespace connmgr::shell {

inline constexpr char kPingProtocol[] = "/ipfs/ping/1.0.0";
inline constexpr char kIdentifyProtocol[] = "/ipfs/id/1.0.0";
inline constexpr char kNoiseProtocol[] = "/noise";
inline constexpr char kTlsProtocol[] = "/tls/1.0.0";
inline constexpr char kYamuxProtocol[] = "/yamux/1.0.0";

// What a peer said about itself in identify.
struct IdentifyInfo {
  std::string agent_version;
  std::string protocol_version;
  std::vector<std::string> protocols;
  std::vector<Multiaddr> listen_addresses;
  std::optional<Multiaddr> observed_address;  // how the peer sees us
  std::string public_key;                     // the PublicKey protobuf
};

// Identify's protobuf (bounded; unknown fields skipped; bad multiaddrs dropped).
std::string EncodeIdentify(const IdentifyInfo& info);
absl::StatusOr<IdentifyInfo> DecodeIdentify(absl::string_view message);

// The application protocols a host serves, registered at runtime (Host::Handle) and read by
// every connection's multistream listener and identify answer. Shared between the host and its
// upgrader; used on the io_context's thread only.
class ProtocolRegistry {
 public:
  // More protocols than this per host is refused (every inbound stream's negotiation offers
  // them all).
  static constexpr size_t kMaxProtocols = 64;

  absl::Status Add(const std::string& protocol);
  void Remove(const std::string& protocol);
  bool Contains(const std::string& protocol) const;
  const std::vector<std::string>& protocols() const { return protocols_; }

 private:
  std::vector<std::string> protocols_;  // in registration order
};

struct Libp2pOptions {
  // This node's identity key, of any libp2p type (an Ed25519Identity converts to one).
  crypto::PrivateKey identity = noise::Ed25519Identity::Generate();
  std::string agent_version = "connmgr/0.1.0";
  // Application protocols peers may open streams for (besides ping and identify): these, and
  // those in `registry` when it is set (the host sets it for Host::Handle).
  std::vector<std::string> protocols;
  std::shared_ptr<ProtocolRegistry> registry;
  // The addresses identify announces (the host's listen addresses).
  std::function<std::vector<Multiaddr>()> listen_addresses;
  // Called when a peer's identify answer arrives.
  std::function<void(const PeerId&, const IdentifyInfo&)> on_identify;
  // Stream counts and frame sizes; the receive window and the queue bounds come from the
  // core's config (stream_receive_window, max_connection_send_bytes) with each connection.
  mux::YamuxLimits yamux;
  // The security protocols offered (outbound, in this order of preference) and accepted
  // (inbound): kNoiseProtocol and kTlsProtocol, each at most once, at least one. Noise first,
  // as js-libp2p.
  std::vector<std::string> security_protocols = {kNoiseProtocol, kTlsProtocol};
  // Every connection pings its peer this often and keeps the round trip (js-libp2p's connection
  // monitor does the same); zero: only on request.
  Duration ping_interval = Duration::Seconds(10);
  // Sees every decrypted byte the peer sends after the handshake (debugging, captures).
  std::function<void(absl::string_view)> plaintext_tap;
};

// What every connection serves: ping, identify, the options' protocols and the registry's.
std::vector<std::string> ServedProtocols(const Libp2pOptions& options);
// Identify's answer on a stream (varint length, then the message), and its reading.
std::string FramedIdentifyAnswer(const Libp2pOptions& options,
                                 const std::optional<Multiaddr>& observed);
std::optional<IdentifyInfo> ParseFramedIdentify(absl::string_view framed);

// Checks the options a Libp2pUpgrader is made with (security_protocols); the host calls it.
absl::Status ValidateLibp2pOptions(const Libp2pOptions& options);

class Libp2pUpgrader : public Upgrader {
 public:
  explicit Libp2pUpgrader(Libp2pOptions options);

  void Upgrade(std::shared_ptr<boost::asio::ip::tcp::socket> socket, Direction direction,
               std::optional<PeerId> expected, ConnectionResources resources, Done done) override;

  PeerId local_peer() const { return options_->identity.peer_id(); }
  // Shared with the QUIC transport, whose connections serve the same protocols.
  const std::shared_ptr<const Libp2pOptions>& options() const { return options_; }

 private:
  std::shared_ptr<const Libp2pOptions> options_;
  // The TLS certificate and context, made on the first TLS connection and reused (held apart,
  // so an upgrade still running after the upgrader is gone can reach it).
  std::shared_ptr<std::shared_ptr<tls::TlsContext>> tls_context_ =
      std::make_shared<std::shared_ptr<tls::TlsContext>>();
};

}  // namespace connmgr::shell

#endif  // CONNMGR_SHELL_LIBP2P_H_
