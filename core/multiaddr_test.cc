#include "core/multiaddr.h"

#include <ostream>
#include <string>
#include <vector>

#include "absl/hash/hash_testing.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr {

// Readable gtest failure output.
void PrintTo(const Multiaddr& addr, std::ostream* os) { *os << addr.ToString(); }
void PrintTo(const IpAddress& ip, std::ostream* os) { *os << ip.ToString(); }
void PrintTo(const PeerId& peer, std::ostream* os) { *os << peer.ToString(); }

namespace {

constexpr char kQm[] = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
constexpr char kQmCid[] = "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe";
constexpr char kEd[] = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
// sha2-256("abc") as a multihash, in multibase base64url ('u') and base32 ('b').
constexpr char kCertHash[] = "uEiC6eBa_jwHP6kFBQN5driIjsANho5YXepy0EP9h8gAVrQ";
constexpr char kCertHashBase32[] = "bciqlu6awx6hqdt7kifaubxs5vyrchmadmgrzmf32ts2bb73b6iablli";

Multiaddr Ma(absl::string_view text) {
  absl::StatusOr<Multiaddr> addr = Multiaddr::Parse(text);
  EXPECT_TRUE(addr.ok()) << addr.status();
  return addr.value_or(Multiaddr());
}

PeerId Peer(absl::string_view text) {
  absl::StatusOr<PeerId> peer = PeerId::Parse(text);
  EXPECT_TRUE(peer.ok()) << peer.status();
  return peer.value_or(PeerId());
}

// Binary encodings worked out by hand from the multicodec table: varint code, then the value
// (fixed size, or varint length first).
TEST(MultiaddrTest, KnownBinaryEncodings) {
  const std::pair<std::string, std::string> cases[] = {
      {"/ip4/127.0.0.1/tcp/4001", "047f000001060fa1"},
      {"/ip6/::1/udp/4001/quic-v1",
       "29"
       "00000000000000000000000000000001"
       "9102"
       "0fa1"
       "cd03"},
      {"/ip4/1.2.3.4/udp/4001/quic",
       "0401020304"
       "91020fa1"
       "cc03"},
      {"/ip4/1.2.3.0/ipcidr/24",
       "0401020300"
       "2b18"},
      {"/ip6zone/eth0/ip6/fe80::1/tcp/80",
       "2a04"
       "65746830"
       "29fe800000000000000000000000000001"
       "060050"},
      {"/dns/example.com/tcp/80/http",
       "350b"
       "6578616d706c652e636f6d"
       "060050"
       "e003"},
      {"/dns4/example.com/tcp/443/wss",
       "360b"
       "6578616d706c652e636f6d"
       "0601bb"
       "de03"},
      {"/dns6/example.com/tcp/443/https",
       "370b"
       "6578616d706c652e636f6d"
       "0601bb"
       "bb03"},
      {"/dnsaddr/bootstrap.libp2p.io",
       "3813"
       "626f6f7473747261702e6c69627032702e696f"},
      {"/dns/example.com/tcp/443/tls/sni/example.com/ws",
       "350b6578616d706c652e636f6d"
       "0601bb"
       "c003"
       "c1030b6578616d706c652e636f6d"
       "dd03"},
      {"/ip4/1.2.3.4/tcp/4001/noise",
       "0401020304"
       "060fa1"
       "c603"},
      {"/unix/tmp/p2p.sock",
       "9003"
       "0d"
       "2f746d702f7032702e736f636b"},
      {"/memory/1234",
       "8906"
       "00000000000004d2"},
      {"/memory/18446744073709551615",
       "8906"
       "ffffffffffffffff"},
      {absl::StrCat("/p2p/", kQm),
       "a503"
       "22"
       "12209dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21bf6f0b9"},
      {absl::StrCat("/ip4/1.2.3.4/udp/4001/quic-v1/webtransport/certhash/", kCertHash),
       "0401020304"
       "91020fa1"
       "cd03"
       "d103"
       "d203"
       "22"
       "1220ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {absl::StrCat("/ip4/1.2.3.4/udp/4001/webrtc-direct/certhash/", kCertHash),
       "0401020304"
       "91020fa1"
       "9802"
       "d203"
       "22"
       "1220ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {absl::StrCat("/p2p/", kQm, "/p2p-circuit/webrtc/p2p/", kEd),
       "a503"
       "22"
       "12209dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21bf6f0b9"
       "a202"
       "9902"
       "a503"
       "26"
       "0024080112202ffa35a99d3a3cfbb17bb7c1dc5561b18a8dcca4df38dc613ea859c37eb1336b"},
  };
  for (const auto& [text, hex] : cases) {
    const Multiaddr addr = Ma(text);
    EXPECT_EQ(absl::BytesToHexString(addr.ToBytes()), hex) << text;
    absl::StatusOr<Multiaddr> decoded = Multiaddr::FromBytes(absl::HexStringToBytes(hex));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->ToString(), text);
    EXPECT_EQ(*decoded, addr);
  }
}

// Canonical text: text -> bytes -> text and bytes -> text -> bytes are both exact. Together the
// cases use every protocol.
TEST(MultiaddrTest, RoundTripsEveryProtocol) {
  const std::string texts[] = {
      "/ip4/0.0.0.0/tcp/0",
      "/ip4/255.255.255.255/tcp/65535/ws",
      "/ip6/2001:db8::1/tcp/443/wss",
      "/ip6/::ffff:1.2.3.4/udp/53",
      "/ip6zone/en%200/ip6/fe80::1/udp/4001/quic",
      "/ip4/10.0.0.0/ipcidr/8",
      "/ip6/2001:db8::/ipcidr/255",
      "/dns/xn--bcher-kva.example/tcp/80/http",
      "/dns4/bücher.example/tcp/443/https",
      "/dns6/example.com/udp/443/quic-v1/webtransport",
      "/dnsaddr/bootstrap.libp2p.io/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N",
      "/ip4/1.2.3.4/tcp/443/tls/sni/example.com/ws",
      "/ip4/1.2.3.4/tcp/4001/tls",
      "/ip4/1.2.3.4/tcp/4001/noise",
      absl::StrCat("/ip4/1.2.3.4/udp/1/quic-v1/webtransport/certhash/", kCertHash, "/certhash/",
                   kCertHash),
      absl::StrCat("/ip6/::1/udp/1/webrtc-direct/certhash/", kCertHash, "/p2p/", kEd),
      absl::StrCat("/ip4/1.2.3.4/tcp/1/p2p/", kQm, "/p2p-circuit/p2p/", kEd),
      absl::StrCat("/p2p/", kEd, "/p2p-circuit/webrtc/p2p/", kQm),
      "/unix/tmp/p2p.sock",
      "/unix/a b/with//double/slashes/",
      "/memory/0",
      "/memory/18446744073709551615",
      "/p2p/16Uiu2HAm3cuhhRL2msUuLF62KRSfneFDx94RsuouyW25Ho42cFMq",
      "/p2p-circuit",
  };
  for (const std::string& text : texts) {
    const Multiaddr addr = Ma(text);
    EXPECT_EQ(addr.ToString(), text);
    absl::StatusOr<Multiaddr> decoded = Multiaddr::FromBytes(addr.ToBytes());
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, addr);
    EXPECT_EQ(decoded->components(), addr.components());
    EXPECT_EQ(decoded->ToString(), text);
    EXPECT_EQ(Ma(decoded->ToString()).ToBytes(), addr.ToBytes());
  }
}

TEST(MultiaddrTest, AcceptsNonCanonicalTextAndPrintsCanonically) {
  const std::pair<std::string, std::string> cases[] = {
      {absl::StrCat("/ipfs/", kQm), absl::StrCat("/p2p/", kQm)},
      {absl::StrCat("/p2p/", kQmCid), absl::StrCat("/p2p/", kQm)},
      {"/ip6/0:0:0:0:0:0:0:1/tcp/1", "/ip6/::1/tcp/1"},
      {"/ip6/2001:DB8::1", "/ip6/2001:db8::1"},
      {absl::StrCat("/certhash/", kCertHashBase32), absl::StrCat("/certhash/", kCertHash)},
  };
  for (const auto& [text, canonical] : cases) {
    EXPECT_EQ(Ma(text).ToString(), canonical) << text;
    EXPECT_EQ(Ma(text), Ma(canonical)) << text;
  }
}

TEST(MultiaddrTest, Components) {
  const Multiaddr addr = Ma("/ip4/1.2.3.4/tcp/80/ws/dns/x");
  const std::vector<MultiaddrComponent> expected = {
      {Protocol::kIp4, "\x01\x02\x03\x04"},
      {Protocol::kTcp, std::string("\x00\x50", 2)},
      {Protocol::kWs, ""},
      {Protocol::kDns, "x"},
  };
  EXPECT_EQ(addr.components(), expected);
  EXPECT_FALSE(addr.empty());
}

TEST(MultiaddrTest, Transport) {
  const std::pair<std::string, Transport> cases[] = {
      {"/ip4/1.2.3.4/tcp/4001", Transport::kTcp},
      {"/ip4/1.2.3.4/tcp/4001/tls", Transport::kTcp},
      {"/ip4/1.2.3.4/tcp/4001/noise", Transport::kTcp},
      {"/dns4/example.com/tcp/80/http", Transport::kTcp},
      {"/ip4/1.2.3.4/tcp/80/ws", Transport::kWs},
      {"/ip4/1.2.3.4/tcp/443/wss", Transport::kWss},
      {"/ip4/1.2.3.4/tcp/443/tls/ws", Transport::kWss},
      {"/dns/example.com/tcp/443/tls/sni/example.com/ws", Transport::kWss},
      {"/ip4/1.2.3.4/udp/4001/quic", Transport::kQuic},
      {"/ip4/1.2.3.4/udp/4001/quic-v1", Transport::kQuicV1},
      {"/ip4/1.2.3.4/udp/4001/quic-v1/webtransport", Transport::kWebTransport},
      {absl::StrCat("/ip4/1.2.3.4/udp/4001/quic-v1/webtransport/certhash/", kCertHash),
       Transport::kWebTransport},
      {absl::StrCat("/ip4/1.2.3.4/udp/4001/webrtc-direct/certhash/", kCertHash),
       Transport::kWebRtcDirect},
      {absl::StrCat("/p2p/", kQm, "/p2p-circuit/webrtc/p2p/", kEd), Transport::kWebRtc},
      {absl::StrCat("/ip4/1.2.3.4/udp/1/quic-v1/p2p/", kQm, "/p2p-circuit/webrtc/p2p/", kEd),
       Transport::kWebRtc},
      {absl::StrCat("/ip4/1.2.3.4/tcp/1/p2p/", kQm, "/p2p-circuit/p2p/", kEd), Transport::kTcp},
      {absl::StrCat("/ip4/1.2.3.4/udp/1/quic-v1/p2p/", kQm, "/p2p-circuit"), Transport::kQuicV1},
      // Only the first hop counts: a /ws after the circuit does not make the relay hop WebSocket.
      {absl::StrCat("/ip4/1.2.3.4/tcp/1/p2p/", kQm, "/p2p-circuit/ws"), Transport::kTcp},
      {"/unix/tmp/p2p.sock", Transport::kUnix},
      {"/memory/7", Transport::kMemory},
      {"/ip4/1.2.3.4/udp/4001", Transport::kOther},
      {"/ip4/1.2.3.4", Transport::kOther},
      {"/ip4/1.2.3.4/ws", Transport::kOther},
      {absl::StrCat("/p2p/", kQm), Transport::kOther},
      {"/dnsaddr/bootstrap.libp2p.io", Transport::kOther},
  };
  for (const auto& [text, transport] : cases) {
    EXPECT_EQ(TransportName(Ma(text).transport()), TransportName(transport)) << text;
    EXPECT_EQ(TransportName(Ma(text).facts().transport), TransportName(transport)) << text;
  }
  EXPECT_EQ(Multiaddr().transport(), Transport::kOther);
}

TEST(MultiaddrTest, FactsAreTheThreeAccessorsInOnePass) {
  for (const std::string& text :
       {std::string("/ip4/1.2.3.4/tcp/4001"), std::string("/ip6/::1/udp/1/quic-v1"),
        // The /ip4|ip6/A/tcp/P shortcut and its near misses (longer, other transport, an
        // address byte equal to the tcp code, a port equal to the ip4 code).
        std::string("/ip6/2001:db8::6/tcp/6"), std::string("/ip4/4.6.6.6/tcp/1030"),
        std::string("/ip4/1.2.3.4/tcp/4001/ws"), std::string("/ip4/1.2.3.4/udp/4001/quic-v1"),
        std::string("/ip4/1.2.3.4/tcp/4001/tls/ws"), std::string("/ip6/::/tcp/0"),
        absl::StrCat("/ip4/1.2.3.4/tcp/4001/p2p/", kEd),
        std::string("/ip6zone/eth0/ip6/fe80::1/udp/53/ip4/1.2.3.4/tcp/1"),
        absl::StrCat("/ip4/9.8.7.6/tcp/1/p2p/", kQm, "/p2p-circuit/p2p/", kEd),
        absl::StrCat("/dns6/relay.example/tcp/443/wss/p2p/", kQm, "/p2p-circuit/p2p/", kEd),
        std::string("/memory/7"), std::string("/dnsaddr/bootstrap.libp2p.io")}) {
    const Multiaddr a = Ma(text);
    const Multiaddr::Facts facts = a.facts();
    EXPECT_EQ(facts.ip, a.ip()) << text;
    EXPECT_EQ(facts.transport, a.transport()) << text;
    EXPECT_EQ(facts.relayed, a.is_relayed()) << text;
  }
  const Multiaddr::Facts zoned = Ma("/ip6zone/eth0/ip6/fe80::1/udp/53/ip4/1.2.3.4/tcp/1").facts();
  EXPECT_EQ(zoned.ip->ToString(), "fe80::1");  // the first IP
  EXPECT_TRUE(Ma(absl::StrCat("/ip4/9.8.7.6/tcp/1/p2p/", kQm, "/p2p-circuit")).facts().relayed);
  EXPECT_EQ(Multiaddr().facts().ip, std::nullopt);
}

TEST(MultiaddrTest, Accessors) {
  const Multiaddr tcp = Ma(absl::StrCat("/ip4/1.2.3.4/tcp/4001/p2p/", kEd));
  EXPECT_EQ(tcp.ip(), IpAddress::V4({1, 2, 3, 4}));
  EXPECT_EQ(tcp.port(), 4001);
  EXPECT_EQ(tcp.peer_id(), Peer(kEd));
  EXPECT_FALSE(tcp.is_relayed());
  EXPECT_EQ(tcp.dns(), std::nullopt);

  const Multiaddr zoned = Ma("/ip6zone/eth0/ip6/fe80::1/udp/53/ip4/1.2.3.4/tcp/1");
  EXPECT_EQ(zoned.ip()->ToString(), "fe80::1");
  EXPECT_EQ(zoned.port(), 53);

  const Multiaddr dns = Ma("/dnsaddr/bootstrap.libp2p.io/dns4/other.example/tcp/0");
  EXPECT_EQ(dns.ip(), std::nullopt);
  EXPECT_EQ(dns.port(), 0);
  EXPECT_EQ(dns.dns(), (Multiaddr::DnsName{Protocol::kDnsAddr, "bootstrap.libp2p.io"}));
  EXPECT_EQ(dns.peer_id(), std::nullopt);

  const Multiaddr relayed =
      Ma(absl::StrCat("/dns6/relay.example/tcp/443/wss/p2p/", kQm, "/p2p-circuit/p2p/", kEd));
  EXPECT_TRUE(relayed.is_relayed());
  EXPECT_EQ(relayed.peer_id(), Peer(kEd));  // the destination, not the relay
  EXPECT_EQ(relayed.dns(), (Multiaddr::DnsName{Protocol::kDns6, "relay.example"}));
  EXPECT_EQ(relayed.transport(), Transport::kWss);

  const Multiaddr unix = Ma("/unix/tmp/p2p.sock");
  EXPECT_EQ(unix.components()[0].value, "/tmp/p2p.sock");
  EXPECT_EQ(unix.ip(), std::nullopt);
  EXPECT_EQ(unix.port(), std::nullopt);

  const Multiaddr empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.ToString(), "");
  EXPECT_EQ(empty.ToBytes(), "");
  EXPECT_EQ(empty.peer_id(), std::nullopt);
}

TEST(MultiaddrTest, WithAndWithoutPeerId) {
  const Multiaddr base = Ma("/ip4/1.2.3.4/tcp/4001");
  const Multiaddr with = base.WithPeerId(Peer(kEd));
  EXPECT_EQ(with.ToString(), absl::StrCat("/ip4/1.2.3.4/tcp/4001/p2p/", kEd));
  EXPECT_EQ(with.WithPeerId(Peer(kEd)), with);
  EXPECT_EQ(with.WithoutPeerId(), base);
  EXPECT_EQ(base.WithoutPeerId(), base);
  EXPECT_EQ(base.WithPeerId(PeerId()), base);
  EXPECT_EQ(with.WithPeerId(Peer(kQm)).ToString(),
            absl::StrCat("/ip4/1.2.3.4/tcp/4001/p2p/", kEd, "/p2p/", kQm));

  const Multiaddr circuit = Ma(absl::StrCat("/ip4/1.2.3.4/tcp/1/p2p/", kQm, "/p2p-circuit"));
  EXPECT_EQ(circuit.WithPeerId(Peer(kQm)).peer_id(), Peer(kQm));
  EXPECT_EQ(circuit.WithPeerId(Peer(kQm)).components().size(), 5u);
  EXPECT_EQ(circuit.WithoutPeerId(), circuit);
  EXPECT_EQ(Multiaddr().WithPeerId(Peer(kEd)).ToString(), absl::StrCat("/p2p/", kEd));
}

TEST(MultiaddrTest, OrderingAndHash) {
  const std::vector<Multiaddr> sorted = {
      Ma("/ip4/1.2.3.4"),              // 04 01020304
      Ma("/ip4/1.2.3.4/tcp/1"),        // 04 01020304 06 ...
      Ma("/ip4/9.9.9.9"),              // 04 09090909
      Ma("/tcp/0"),                    // 06
      Ma("/ip6/::"),                   // 29
      Ma(absl::StrCat("/p2p/", kEd)),  // a503
  };
  for (size_t i = 0; i + 1 < sorted.size(); ++i) {
    EXPECT_LT(sorted[i], sorted[i + 1]) << i;
  }
  EXPECT_TRUE(absl::VerifyTypeImplementsAbslHashCorrectly(
      {Multiaddr(), sorted[0], sorted[1], sorted[4], Ma("/ip6/::/ws")}));
}

TEST(MultiaddrTest, Names) {
  EXPECT_EQ(ProtocolName(Protocol::kQuicV1), "quic-v1");
  EXPECT_EQ(ProtocolName(Protocol::kP2p), "p2p");
  EXPECT_EQ(ProtocolName(static_cast<Protocol>(12345)), "unknown");
  EXPECT_EQ(TransportName(Transport::kWebRtcDirect), "webrtc-direct");
}

TEST(MultiaddrTest, ParseErrorMessagesNameTheComponent) {
  EXPECT_EQ(Multiaddr::Parse("/ip4/1.2.3/tcp/1").status().message(),
            "multiaddr \"/ip4/1.2.3/tcp/1\": component 1 (ip4): \"1.2.3\" is not an IPv4 address");
  EXPECT_EQ(Multiaddr::Parse("/ip4/1.2.3.4/tcp").status().message(),
            "multiaddr \"/ip4/1.2.3.4/tcp\": component 2 (tcp): missing value");
  EXPECT_EQ(Multiaddr::Parse("/ip4/1.2.3.4/").status().message(),
            "multiaddr \"/ip4/1.2.3.4/\": component 2: empty protocol name (trailing '/')");
  EXPECT_EQ(Multiaddr::Parse("/ip4/1.2.3.4/quic-v2").status().message(),
            "multiaddr \"/ip4/1.2.3.4/quic-v2\": component 2: unknown protocol \"quic-v2\"");
}

TEST(MultiaddrTest, ParseRejects) {
  const std::string dns255 = absl::StrCat("/dns/", std::string(255, 'a'));
  std::string tls33;
  for (int i = 0; i < 33; ++i) tls33 += "/tls";
  const std::pair<std::string, std::string> cases[] = {
      {"", "empty"},
      {"ip4/1.2.3.4", "must start with '/'"},
      {"/", "component 1: empty protocol name (trailing '/')"},
      {"/ip4/1.2.3.4//tcp/1", "component 2: empty protocol name (\"//\")"},
      {"/ip4/1.2.3.4/tcp/1/", "component 3: empty protocol name (trailing '/')"},
      {"/foo/1", "component 1: unknown protocol \"foo\""},
      {"/IP4/1.2.3.4", "unknown protocol \"IP4\""},
      {"/ip4", "component 1 (ip4): missing value"},
      {"/ip4/", "component 1 (ip4): \"\" is not an IPv4 address"},
      {"/ip4/::1", "\"::1\" is not an IPv4 address"},
      {"/ip4/1.2.3.256", "\"1.2.3.256\" is not an IPv4 address"},
      {"/ip6/1.2.3.4", "\"1.2.3.4\" is not an IPv6 address"},
      {"/ip6/fe80::1%eth0", "is not an IPv6 address"},
      {"/ip4/1.2.3.4/tcp/65536", "component 2 (tcp): \"65536\" is not a port number"},
      {"/ip4/1.2.3.4/udp/-1", "component 2 (udp): \"-1\" is not a port number"},
      {"/tcp/+1", "\"+1\" is not a port number"},
      {"/tcp/01", "\"01\" is not a port number"},
      {"/tcp/0x10", "\"0x10\" is not a port number"},
      {"/tcp/99999999999999999999999", "is not a port number"},
      {"/ipcidr/256", "component 1 (ipcidr): \"256\" is not a prefix length"},
      {"/memory/18446744073709551616", "is not a decimal 64-bit unsigned number"},
      {"/memory/x", "is not a decimal 64-bit unsigned number"},
      {"/dns//tcp/1", "component 1 (dns): value is empty"},
      {"/dns/\xff", "component 1 (dns): \"\\xff\" is not valid UTF-8"},
      {"/dns/\xc0\xaf", "is not valid UTF-8"},      // overlong '/'
      {"/sni/\xed\xa0\x80", "is not valid UTF-8"},  // a surrogate
      {absl::StrCat(dns255, "a"), "value is 256 bytes, over the 255-byte limit"},
      {"/ip6zone", "component 1 (ip6zone): missing value"},
      {"/p2p/", "component 1 (p2p): peer id \"\": empty"},
      {"/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx50", "not valid base58btc"},
      {"/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5S", "digest bytes"},
      {"/p2p/bafybeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe", "CID codec 0x70"},
      {"/certhash/", "component 1 (certhash): \"\" is not multibase"},
      {"/certhash/zabc", "\"zabc\" is not multibase"},
      {"/certhash/u!!", "outside its multibase alphabet"},
      {"/certhash/uEiC6=", "outside its multibase alphabet"},
      {"/certhash/BCIQLU6AWX6HQDT7KIFAUBXS5VYRCHMADMGRZMF32TSABB73B6IABLLQ", "is not multibase"},
      {"/certhash/bCIQLU6AWX6HQDT7KIFAUBXS5VYRCHMADMGRZMF32TSABB73B6IABLLQ", "is not multibase"},
      {"/certhash/uEiC6", "component 1 (certhash): value is not a multihash"},
      {"/certhash/u", "value is not a multihash"},
      {"/unix", "component 1 (unix): missing path"},
      {"/unix/", "component 1 (unix): missing path"},
      {tls33, "more than 32 components"},
      {absl::StrCat(dns255, dns255, dns255, dns255), "component 4 (dns): binary form exceeds 1024"},
      {std::string(4097, '/'), "over the 4096-character limit"},
  };
  for (const auto& [text, error] : cases) {
    absl::StatusOr<Multiaddr> addr = Multiaddr::Parse(text);
    ASSERT_FALSE(addr.ok()) << text;
    EXPECT_EQ(addr.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(addr.status().message(), error)) << addr.status();
  }
}

TEST(MultiaddrTest, AcceptsInputAtTheLimits) {
  std::string tls32;
  for (int i = 0; i < 32; ++i) tls32 += "/tls";
  EXPECT_EQ(Ma(tls32).components().size(), 32u);

  const std::string dns255 = absl::StrCat("/dns/", std::string(255, 'a'));
  EXPECT_EQ(Ma(absl::StrCat(dns255, dns255, dns255)).ToBytes().size(), 3 * (1 + 2 + 255u));

  // One /unix/ path fills the 1024 bytes exactly: code (2) + length varint (2) + 1020.
  const std::string path(1020, 'p');
  const Multiaddr unix = Ma(absl::StrCat("/unix/", path.substr(1)));
  EXPECT_EQ(unix.ToBytes().size(), Multiaddr::kMaxBytes);
  EXPECT_FALSE(Multiaddr::Parse(absl::StrCat("/unix/", path)).ok());
}

TEST(MultiaddrTest, FromBytesRejects) {
  const std::string valid = "047f000001060fa1";  // /ip4/127.0.0.1/tcp/4001
  const std::pair<std::string, std::string> cases[] = {
      {"", "empty"},
      {"80", "component 1: protocol code is not a valid varint"},
      {"8400", "component 1: protocol code is not a valid varint"},  // non-minimal 4
      {"ffffffffffffffffff01", "component 1: protocol code is not a valid varint"},
      {"ffff03", "component 1: unknown protocol code 65535 (0xffff)"},
      {"00", "unknown protocol code 0"},
      {"047f0000", "component 1 (ip4): value needs 4 bytes, 3 left"},
      {"047f000001060f", "component 2 (tcp): value needs 2 bytes, 1 left"},
      {valid + "ff", "component 3: protocol code is not a valid varint"},
      {valid + "63", "component 3: unknown protocol code 99"},
      {valid + "06", "component 3 (tcp): value needs 2 bytes, 0 left"},
      {"3580", "component 1 (dns): value length is not a valid varint"},
      {"350a616263", "component 1 (dns): value length 10 exceeds the 3 bytes left"},
      {"3500", "component 1 (dns): value is empty"},
      {"3503612f62", "component 1 (dns): \"a/b\" contains '/'"},
      {"2a01ff", "component 1 (ip6zone): \"\\xff\" is not valid UTF-8"},
      {"a503"
       "04"
       "00010203",
       "component 1 (p2p): peer id multihash (4 bytes): multihash says 1 digest bytes but 2"},
      {"a5030413010203", "multihash code 0x13 is not accepted"},
      {"a50300", "component 1 (p2p): peer id multihash (0 bytes): multihash is empty"},
      {"d20302120f", "component 1 (certhash): value is not a multihash"},
      {"d203031201aa"
       "00",
       "component 2: unknown protocol code 0"},
      {"d2030412010000", "value is not a multihash"},
      {"9003"
       "03"
       "612f62",
       "component 1 (unix): path \"a/b\" is not absolute"},
      {"9003"
       "01"
       "2f",
       "path \"/\" is not absolute and non-empty"},
      {"9003"
       "03"
       "2f6100",
       "contains a NUL byte"},
  };
  for (const auto& [hex, error] : cases) {
    absl::StatusOr<Multiaddr> addr = Multiaddr::FromBytes(absl::HexStringToBytes(hex));
    ASSERT_FALSE(addr.ok()) << hex;
    EXPECT_EQ(addr.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(addr.status().message(), error)) << addr.status();
  }
}

TEST(MultiaddrTest, PathProtocolMustBeLast) {
  // Found by the multiaddr fuzzer: two unix components in binary printed as text that parsed
  // back as one path.
  const std::string two_paths("\x90\x03\x03/iP\x90\x03\x03/#s", 12);
  absl::StatusOr<Multiaddr> m = Multiaddr::FromBytes(two_paths);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(m.status().message()),
              testing::HasSubstr("a path protocol must be the last component"));
  const Multiaddr unix_addr = Multiaddr::Parse("/unix/tmp/p2p.sock").value();
  const PeerId peer = PeerId::Parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").value();
  EXPECT_EQ(unix_addr.WithPeerId(peer), unix_addr);
}

TEST(MultiaddrTest, FromBytesEnforcesSizeLimits) {
  std::string tls33;
  for (int i = 0; i < 33; ++i) tls33 += "\xc0\x03";
  EXPECT_TRUE(
      absl::StrContains(Multiaddr::FromBytes(tls33).status().message(), "more than 32 components"));
  EXPECT_TRUE(Multiaddr::FromBytes(tls33.substr(2)).ok());

  const std::string too_big(Multiaddr::kMaxBytes + 1, '\x04');
  EXPECT_EQ(Multiaddr::FromBytes(too_big).status().message(),
            "multiaddr is 1025 bytes, over the 1024-byte limit");

  // A length varint far past the input, and one past 63 bits, must fail cleanly.
  EXPECT_FALSE(Multiaddr::FromBytes(absl::HexStringToBytes("35ffffffffffffffff7f")).ok());
  EXPECT_FALSE(Multiaddr::FromBytes(absl::HexStringToBytes("35ffffffffffffffffff01")).ok());
}

}  // namespace
}  // namespace connmgr
