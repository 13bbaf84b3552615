// Multiaddr: a parsed, validated libp2p multiaddress, convertible between text and binary.
//
//   absl::StatusOr<Multiaddr> addr = Multiaddr::Parse(
//       "/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");
//   if (!addr.ok()) return addr.status();
//   addr->ip();         // 1.2.3.4
//   addr->port();       // 4001
//   addr->transport();  // Transport::kTcp
//   addr->peer_id();    // the 12D3KooW... peer
//
// Only the protocols in `Protocol` are understood; anything else is rejected rather than carried
// along opaquely, so every Multiaddr prints and encodes. Both forms are checked as untrusted
// input: at most kMaxBytes in binary, kMaxComponents components, kMaxTextChars of text.
// Round trips are exact: FromBytes(a.ToBytes()) == a and Parse(a.ToString()) == a, and text in
// canonical form (as ToString prints it) parses and prints back unchanged. Text that is accepted
// but not canonical: IPv6 spellings other than RFC 5952, a /p2p/ peer id written as a CID, the
// "ipfs" alias of "p2p", and a certhash in base32 ('b') rather than base64url ('u').
#ifndef CONNMGR_CORE_MULTIADDR_H_
#define CONNMGR_CORE_MULTIADDR_H_

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/ip.h"
#include "core/peer_id.h"

namespace connmgr {

// Codes from the multiformats multicodec table.
enum class Protocol : uint32_t {
  kIp4 = 0x04,
  kTcp = 0x06,
  kIp6 = 0x29,
  kIp6Zone = 0x2a,
  kIpCidr = 0x2b,
  kDns = 0x35,
  kDns4 = 0x36,
  kDns6 = 0x37,
  kDnsAddr = 0x38,
  kUdp = 0x0111,
  kWebRtcDirect = 0x0118,
  kWebRtc = 0x0119,
  kP2pCircuit = 0x0122,
  kUnix = 0x0190,
  kP2p = 0x01a5,
  kHttps = 0x01bb,
  kTls = 0x01c0,
  kSni = 0x01c1,
  kNoise = 0x01c6,
  kQuic = 0x01cc,
  kQuicV1 = 0x01cd,
  kWebTransport = 0x01d1,
  kCertHash = 0x01d2,
  kWs = 0x01dd,
  kWss = 0x01de,
  kHttp = 0x01e0,
  kMemory = 0x0309,
};

// "ip4", "quic-v1", ...; "unknown" for a value outside the enum.
absl::string_view ProtocolName(Protocol protocol);

struct MultiaddrComponent {
  Protocol protocol;
  // The value as in the binary form, minus the length prefix that variable-length values carry
  // there: 4 bytes for ip4, a big-endian uint16 for tcp, the multihash for p2p, the name for
  // dns, the path for unix. Empty for protocols without a value (tls, ws, quic-v1, ...).
  std::string value;

  friend bool operator==(const MultiaddrComponent&, const MultiaddrComponent&) = default;
};

enum class Transport {
  kTcp,
  kWs,
  kWss,
  kQuic,
  kQuicV1,
  kWebTransport,
  kWebRtc,
  kWebRtcDirect,
  kUnix,
  kMemory,
  kOther,
};

// "tcp", "ws", "webrtc-direct", ..., "other".
absl::string_view TransportName(Transport transport);

class Multiaddr {
 public:
  static constexpr size_t kMaxBytes = 1024;
  static constexpr size_t kMaxComponents = 32;
  // Generous: the text of any multiaddr within kMaxBytes is shorter.
  static constexpr size_t kMaxTextChars = 4096;

  // The empty multiaddr: no components, prints as "" and encodes as "". Parse and FromBytes
  // reject empty input, so they never return it.
  Multiaddr() = default;

  static absl::StatusOr<Multiaddr> Parse(absl::string_view text);
  static absl::StatusOr<Multiaddr> FromBytes(absl::string_view bytes);

  std::string ToString() const;
  const std::string& ToBytes() const { return bytes_; }

  // Decoded from the binary form on each call: a Multiaddr keeps only its bytes (an
  // /ip4/.../tcp/... address fits in the string's inline buffer), so a table of connections
  // holding two each stays small.
  std::vector<MultiaddrComponent> components() const;
  bool empty() const { return bytes_.empty(); }

  // The first ip4 or ip6 component.
  std::optional<IpAddress> ip() const;
  // The first tcp or udp port.
  std::optional<uint16_t> port() const;
  // Decided from the components of the first hop, the ones before any /p2p-circuit:
  // tcp is kTcp, or kWs / kWss when followed by ws / wss (tls then ws is kWss, and sni may sit
  // between); udp then quic, quic-v1 or webrtc-direct; quic-v1 then webtransport; unix; memory.
  // A /webrtc anywhere wins (browser-to-browser WebRTC signalled over a relay). kOther otherwise.
  Transport transport() const;
  // Contains /p2p-circuit.
  bool is_relayed() const;

  // ip(), transport() and is_relayed() from one pass over the components, for code that needs
  // all three (the core, for every new connection).
  struct Facts {
    std::optional<IpAddress> ip;
    Transport transport = Transport::kOther;
    bool relayed = false;
  };
  Facts facts() const;
  // The peer of the last /p2p/ component: the destination, in a relayed address.
  std::optional<PeerId> peer_id() const;

  struct DnsName {
    Protocol protocol;  // kDns, kDns4, kDns6 or kDnsAddr
    std::string name;
    friend bool operator==(const DnsName&, const DnsName&) = default;
  };
  // The first dns, dns4, dns6 or dnsaddr component.
  std::optional<DnsName> dns() const;

  // Appends /p2p/<peer> unless the address already ends with that same /p2p/ component. An
  // empty `peer` changes nothing, and so does an address ending in a path (/unix/...), which
  // nothing may follow. The result may exceed the size limits Parse enforces.
  Multiaddr WithPeerId(const PeerId& peer) const;
  // Drops a trailing /p2p/ component, if there is one.
  Multiaddr WithoutPeerId() const;

  // Ordered by binary form.
  friend bool operator==(const Multiaddr& a, const Multiaddr& b) { return a.bytes_ == b.bytes_; }
  friend std::strong_ordering operator<=>(const Multiaddr& a, const Multiaddr& b) {
    return a.bytes_ <=> b.bytes_;
  }

  template <typename H>
  friend H AbslHashValue(H h, const Multiaddr& m) {
    return H::combine(std::move(h), m.bytes_);
  }

 private:
  explicit Multiaddr(const std::vector<MultiaddrComponent>& components);

  std::string bytes_;  // the binary form, validated on the way in
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_MULTIADDR_H_
