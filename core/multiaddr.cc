#include "core/multiaddr.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/encoding.h"

namespace connmgr {
namespace {

// How a protocol's value is laid out in the binary form.
enum class ValueKind {
  kNone,   // no value
  kFixed,  // exactly `fixed_size` bytes
  kSized,  // varint length, then the bytes
  kPath,   // like kSized; in text it takes the rest of the string, slashes included
};

struct ProtocolInfo {
  Protocol protocol;
  absl::string_view name;
  ValueKind kind;
  size_t fixed_size;
};

constexpr ProtocolInfo kProtocols[] = {
    {Protocol::kIp4, "ip4", ValueKind::kFixed, 4},
    {Protocol::kTcp, "tcp", ValueKind::kFixed, 2},
    {Protocol::kIp6, "ip6", ValueKind::kFixed, 16},
    {Protocol::kIp6Zone, "ip6zone", ValueKind::kSized, 0},
    {Protocol::kIpCidr, "ipcidr", ValueKind::kFixed, 1},
    {Protocol::kDns, "dns", ValueKind::kSized, 0},
    {Protocol::kDns4, "dns4", ValueKind::kSized, 0},
    {Protocol::kDns6, "dns6", ValueKind::kSized, 0},
    {Protocol::kDnsAddr, "dnsaddr", ValueKind::kSized, 0},
    {Protocol::kUdp, "udp", ValueKind::kFixed, 2},
    {Protocol::kWebRtcDirect, "webrtc-direct", ValueKind::kNone, 0},
    {Protocol::kWebRtc, "webrtc", ValueKind::kNone, 0},
    {Protocol::kP2pCircuit, "p2p-circuit", ValueKind::kNone, 0},
    {Protocol::kUnix, "unix", ValueKind::kPath, 0},
    {Protocol::kP2p, "p2p", ValueKind::kSized, 0},
    {Protocol::kHttps, "https", ValueKind::kNone, 0},
    {Protocol::kTls, "tls", ValueKind::kNone, 0},
    {Protocol::kSni, "sni", ValueKind::kSized, 0},
    {Protocol::kNoise, "noise", ValueKind::kNone, 0},
    {Protocol::kQuic, "quic", ValueKind::kNone, 0},
    {Protocol::kQuicV1, "quic-v1", ValueKind::kNone, 0},
    {Protocol::kWebTransport, "webtransport", ValueKind::kNone, 0},
    {Protocol::kCertHash, "certhash", ValueKind::kSized, 0},
    {Protocol::kWs, "ws", ValueKind::kNone, 0},
    {Protocol::kWss, "wss", ValueKind::kNone, 0},
    {Protocol::kHttp, "http", ValueKind::kNone, 0},
    {Protocol::kMemory, "memory", ValueKind::kFixed, 8},
};

// Longest value of the name-like protocols (dns*, sni, ip6zone), in bytes.
constexpr size_t kMaxNameBytes = 255;

const ProtocolInfo* FindByCode(uint64_t code) {
  for (const ProtocolInfo& info : kProtocols) {
    if (static_cast<uint64_t>(info.protocol) == code) return &info;
  }
  return nullptr;
}

const ProtocolInfo* FindByName(absl::string_view name) {
  if (name == "ipfs") name = "p2p";  // the legacy name
  for (const ProtocolInfo& info : kProtocols) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

const ProtocolInfo& Info(Protocol protocol) {
  const ProtocolInfo* info = FindByCode(static_cast<uint64_t>(protocol));
  static constexpr ProtocolInfo kUnknown = {Protocol{0}, "unknown", ValueKind::kNone, 0};
  return info != nullptr ? *info : kUnknown;
}

bool IsNameLike(Protocol protocol) {
  switch (protocol) {
    case Protocol::kDns:
    case Protocol::kDns4:
    case Protocol::kDns6:
    case Protocol::kDnsAddr:
    case Protocol::kSni:
    case Protocol::kIp6Zone:
      return true;
    default:
      return false;
  }
}

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t lead = static_cast<uint8_t>(s[i]);
    size_t extra = 0;
    uint32_t min = 0;
    uint32_t code_point = 0;
    if (lead < 0x80) {
      code_point = lead;
    } else if ((lead & 0xe0) == 0xc0) {
      extra = 1;
      min = 0x80;
      code_point = lead & 0x1f;
    } else if ((lead & 0xf0) == 0xe0) {
      extra = 2;
      min = 0x800;
      code_point = lead & 0x0f;
    } else if ((lead & 0xf8) == 0xf0) {
      extra = 3;
      min = 0x10000;
      code_point = lead & 0x07;
    } else {
      return false;
    }
    if (s.size() - i - 1 < extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const uint8_t next = static_cast<uint8_t>(s[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code_point = (code_point << 6) | (next & 0x3f);
    }
    const bool overlong = code_point < min;
    const bool surrogate = code_point >= 0xd800 && code_point <= 0xdfff;
    if (overlong || surrogate || code_point > 0x10ffff) return false;
    i += extra + 1;
  }
  return true;
}

// True if `multihash` is a varint code, a varint length, and exactly that many bytes.
bool IsWellFormedMultihash(absl::string_view multihash) {
  uint64_t code = 0;
  uint64_t length = 0;
  return ReadUvarint(&multihash, &code) && ReadUvarint(&multihash, &length) &&
         length == multihash.size();
}

// "0", or digits without a leading zero, at most `max`.
std::optional<uint64_t> ParseDecimal(absl::string_view text, uint64_t max) {
  if (text.empty() || text.size() > 20 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (max - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

uint64_t ReadBigEndian(absl::string_view bytes) {
  uint64_t value = 0;
  for (char c : bytes) value = (value << 8) | static_cast<uint8_t>(c);
  return value;
}

std::string BigEndian(uint64_t value, size_t size) {
  std::string out(size, '\0');
  for (size_t i = size; i-- > 0; value >>= 8) out[i] = static_cast<char>(value & 0xff);
  return out;
}

std::string Quote(absl::string_view text) {
  constexpr size_t kMaxQuoted = 200;
  if (text.size() <= kMaxQuoted) return absl::StrCat("\"", absl::CHexEscape(text), "\"");
  return absl::StrCat("\"", absl::CHexEscape(text.substr(0, kMaxQuoted)), "\"...");
}

// What is wrong with a binary component value, or "" if nothing. The size of fixed-size values
// is checked by the callers.
std::string ValueProblem(Protocol protocol, absl::string_view value) {
  if (IsNameLike(protocol)) {
    if (value.empty()) return "value is empty";
    if (value.size() > kMaxNameBytes) {
      return absl::StrFormat("value is %d bytes, over the %d-byte limit", value.size(),
                             kMaxNameBytes);
    }
    if (value.find('/') != absl::string_view::npos) {
      return absl::StrCat(Quote(value), " contains '/'");
    }
    if (!IsValidUtf8(value)) return absl::StrCat(Quote(value), " is not valid UTF-8");
    return "";
  }
  switch (protocol) {
    case Protocol::kP2p: {
      absl::StatusOr<PeerId> peer = PeerId::FromBytes(value);
      return peer.ok() ? "" : std::string(peer.status().message());
    }
    case Protocol::kCertHash:
      if (!IsWellFormedMultihash(value)) {
        return "value is not a multihash (varint code, varint length, that many bytes)";
      }
      return "";
    case Protocol::kUnix:
      if (value.size() < 2 || value[0] != '/') {
        return absl::StrCat("path ", Quote(value), " is not absolute and non-empty");
      }
      if (value.find('\0') != absl::string_view::npos) {
        return absl::StrCat("path ", Quote(value), " contains a NUL byte");
      }
      return "";
    default:
      return "";
  }
}

// Converts the text of a value to its binary form, or says why it cannot.
absl::StatusOr<std::string> ValueFromText(Protocol protocol, absl::string_view text) {
  switch (protocol) {
    case Protocol::kIp4:
    case Protocol::kIp6: {
      const bool v6 = protocol == Protocol::kIp6;
      absl::StatusOr<IpAddress> ip = IpAddress::Parse(text);
      if (ip.ok() && ip->is_v6() == v6) {
        return std::string(ip->bytes().begin(), ip->bytes().end());
      }
      return absl::InvalidArgumentError(
          absl::StrCat(Quote(text), " is not an ", v6 ? "IPv6" : "IPv4", " address"));
    }
    case Protocol::kTcp:
    case Protocol::kUdp: {
      std::optional<uint64_t> port = ParseDecimal(text, 65535);
      if (!port) {
        return absl::InvalidArgumentError(
            absl::StrCat(Quote(text), " is not a port number (0 to 65535, no leading zeros)"));
      }
      return BigEndian(*port, 2);
    }
    case Protocol::kIpCidr: {
      std::optional<uint64_t> length = ParseDecimal(text, 255);
      if (!length) {
        return absl::InvalidArgumentError(
            absl::StrCat(Quote(text), " is not a prefix length (0 to 255, no leading zeros)"));
      }
      return BigEndian(*length, 1);
    }
    case Protocol::kMemory: {
      std::optional<uint64_t> id = ParseDecimal(text, std::numeric_limits<uint64_t>::max());
      if (!id) {
        return absl::InvalidArgumentError(absl::StrCat(
            Quote(text), " is not a decimal 64-bit unsigned number (no leading zeros)"));
      }
      return BigEndian(*id, 8);
    }
    case Protocol::kP2p: {
      absl::StatusOr<PeerId> peer = PeerId::Parse(text);
      if (!peer.ok()) return peer.status();
      return std::string(peer->bytes());
    }
    case Protocol::kCertHash: {
      std::optional<std::string> multihash;
      if (!text.empty() && text[0] == 'u') {
        multihash = Base64UrlDecode(text.substr(1));
      } else if (!text.empty() && text[0] == 'b' &&
                 text.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == absl::string_view::npos) {
        multihash = Base32Decode(text.substr(1));
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            Quote(text),
            " is not multibase base64url ('u' prefix) or lowercase base32 ('b' prefix)"));
      }
      if (!multihash) {
        return absl::InvalidArgumentError(
            absl::StrCat(Quote(text),
                         " has characters outside its multibase alphabet, or "
                         "a length or padding bits that encoding never produces"));
      }
      return *std::move(multihash);
    }
    default:  // names and paths are their own binary form
      return std::string(text);
  }
}

std::string ValueToText(const MultiaddrComponent& component) {
  const absl::string_view value = component.value;
  switch (component.protocol) {
    case Protocol::kIp4:
    case Protocol::kIp6:
      return IpAddress::FromBytes(value).value_or(IpAddress()).ToString();
    case Protocol::kTcp:
    case Protocol::kUdp:
    case Protocol::kIpCidr:
    case Protocol::kMemory:
      return absl::StrCat(ReadBigEndian(value));
    case Protocol::kP2p:
      return Base58Encode(value);
    case Protocol::kCertHash:
      return absl::StrCat("u", Base64UrlEncode(value));
    default:
      return std::string(value);
  }
}

void AppendComponent(const MultiaddrComponent& component, std::string* out) {
  AppendUvarint(static_cast<uint64_t>(component.protocol), out);
  const ValueKind kind = Info(component.protocol).kind;
  if (kind == ValueKind::kSized || kind == ValueKind::kPath) {
    AppendUvarint(component.value.size(), out);
  }
  out->append(component.value);
}

size_t EncodedSize(const MultiaddrComponent& component) {
  std::string encoded;
  AppendComponent(component, &encoded);
  return encoded.size();
}

std::string ComponentLabel(size_t index, const ProtocolInfo* info) {
  if (info == nullptr) return absl::StrCat("component ", index + 1);
  return absl::StrCat("component ", index + 1, " (", info->name, ")");
}

}  // namespace

absl::string_view ProtocolName(Protocol protocol) { return Info(protocol).name; }

absl::string_view TransportName(Transport transport) {
  switch (transport) {
    case Transport::kTcp:
      return "tcp";
    case Transport::kWs:
      return "ws";
    case Transport::kWss:
      return "wss";
    case Transport::kQuic:
      return "quic";
    case Transport::kQuicV1:
      return "quic-v1";
    case Transport::kWebTransport:
      return "webtransport";
    case Transport::kWebRtc:
      return "webrtc";
    case Transport::kWebRtcDirect:
      return "webrtc-direct";
    case Transport::kUnix:
      return "unix";
    case Transport::kMemory:
      return "memory";
    case Transport::kOther:
      return "other";
  }
  return "other";
}

namespace {

// Reads the next component of binary form that was validated before; false at the end.
bool NextTrustedComponent(absl::string_view* rest, Protocol* protocol, absl::string_view* value) {
  if (rest->empty()) return false;
  uint64_t code = 0;
  ReadUvarint(rest, &code);
  const ProtocolInfo* info = FindByCode(code);
  size_t size = 0;
  if (info->kind == ValueKind::kFixed) {
    size = info->fixed_size;
  } else if (info->kind != ValueKind::kNone) {
    uint64_t length = 0;
    ReadUvarint(rest, &length);
    size = static_cast<size_t>(length);
  }
  *protocol = info->protocol;
  *value = rest->substr(0, size);
  rest->remove_prefix(size);
  return true;
}

// One component of a validated binary form, pointing into it.
struct ComponentView {
  Protocol protocol;
  absl::string_view value;
};
// Enough inline room for every address seen in practice; the accessors below run on every
// connection, so they read the components without a heap allocation.
using ComponentViews = absl::InlinedVector<ComponentView, 8>;

ComponentViews Views(absl::string_view bytes) {
  ComponentViews out;
  ComponentView view;
  while (NextTrustedComponent(&bytes, &view.protocol, &view.value)) out.push_back(view);
  return out;
}

// See Multiaddr::transport.
Transport TransportOf(const ComponentViews& cs) {
  const auto has = [&cs](Protocol p) {
    return std::any_of(cs.begin(), cs.end(),
                       [p](const ComponentView& c) { return c.protocol == p; });
  };
  if (has(Protocol::kWebRtc)) return Transport::kWebRtc;

  const auto hop_end = std::find_if(cs.begin(), cs.end(), [](const ComponentView& c) {
    return c.protocol == Protocol::kP2pCircuit;
  });
  // The next component of the hop after `it` that is not an /sni/.
  const auto next = [hop_end](auto it) {
    do {
      ++it;
    } while (it != hop_end && it->protocol == Protocol::kSni);
    return it;
  };
  for (auto it = cs.begin(); it != hop_end; ++it) {
    switch (it->protocol) {
      case Protocol::kUnix:
        return Transport::kUnix;
      case Protocol::kMemory:
        return Transport::kMemory;
      case Protocol::kTcp: {
        auto after = next(it);
        const bool tls = after != hop_end && after->protocol == Protocol::kTls;
        if (tls) after = next(after);
        if (after != hop_end && after->protocol == Protocol::kWss) return Transport::kWss;
        if (after != hop_end && after->protocol == Protocol::kWs) {
          return tls ? Transport::kWss : Transport::kWs;
        }
        return Transport::kTcp;
      }
      case Protocol::kUdp: {
        const auto after = next(it);
        if (after == hop_end) return Transport::kOther;
        switch (after->protocol) {
          case Protocol::kQuic:
            return Transport::kQuic;
          case Protocol::kQuicV1: {
            const auto then = next(after);
            return then != hop_end && then->protocol == Protocol::kWebTransport
                       ? Transport::kWebTransport
                       : Transport::kQuicV1;
          }
          case Protocol::kWebRtcDirect:
            return Transport::kWebRtcDirect;
          default:
            return Transport::kOther;
        }
      }
      default:
        break;
    }
  }
  return Transport::kOther;
}

}  // namespace

Multiaddr::Multiaddr(const std::vector<MultiaddrComponent>& components) {
  for (const MultiaddrComponent& component : components) AppendComponent(component, &bytes_);
}

std::vector<MultiaddrComponent> Multiaddr::components() const {
  // bytes_ was validated when the address was made, so every read here succeeds.
  std::vector<MultiaddrComponent> out;
  absl::string_view rest = bytes_;
  Protocol protocol;
  absl::string_view value;
  while (NextTrustedComponent(&rest, &protocol, &value))
    out.push_back({protocol, std::string(value)});
  return out;
}

absl::StatusOr<Multiaddr> Multiaddr::Parse(absl::string_view text) {
  if (text.size() > kMaxTextChars) {
    return absl::InvalidArgumentError(
        absl::StrFormat("multiaddr text is %d characters, over the %d-character limit", text.size(),
                        kMaxTextChars));
  }
  auto error = [text](absl::string_view problem) {
    return absl::InvalidArgumentError(absl::StrCat("multiaddr ", Quote(text), ": ", problem));
  };
  if (text.empty()) return error("empty");
  if (text[0] != '/') return error("must start with '/'");

  std::vector<MultiaddrComponent> components;
  size_t encoded_size = 0;
  absl::string_view rest = text;  // always empty or starting with '/'
  while (!rest.empty()) {
    const size_t index = components.size();
    if (index == kMaxComponents) {
      return error(absl::StrCat("more than ", kMaxComponents, " components"));
    }
    rest.remove_prefix(1);
    const absl::string_view name = rest.substr(0, rest.find('/'));
    rest.remove_prefix(name.size());
    if (name.empty()) {
      return error(absl::StrCat(ComponentLabel(index, nullptr), ": empty protocol name (",
                                rest.empty() ? "trailing '/'" : "\"//\"", ")"));
    }
    const ProtocolInfo* info = FindByName(name);
    if (info == nullptr) {
      return error(
          absl::StrCat(ComponentLabel(index, nullptr), ": unknown protocol ", Quote(name)));
    }
    const std::string label = ComponentLabel(index, info);

    MultiaddrComponent component{info->protocol, ""};
    if (info->kind != ValueKind::kNone) {
      absl::string_view value_text;
      if (info->kind == ValueKind::kPath) {
        value_text = rest;
        rest = {};
        if (value_text.size() < 2) return error(absl::StrCat(label, ": missing path"));
      } else {
        if (rest.empty()) return error(absl::StrCat(label, ": missing value"));
        rest.remove_prefix(1);
        value_text = rest.substr(0, rest.find('/'));
        rest.remove_prefix(value_text.size());
      }
      absl::StatusOr<std::string> value = ValueFromText(info->protocol, value_text);
      if (!value.ok()) return error(absl::StrCat(label, ": ", value.status().message()));
      if (std::string problem = ValueProblem(info->protocol, *value); !problem.empty()) {
        return error(absl::StrCat(label, ": ", problem));
      }
      component.value = *std::move(value);
    }
    encoded_size += EncodedSize(component);
    if (encoded_size > kMaxBytes) {
      return error(absl::StrCat(label, ": binary form exceeds ", kMaxBytes, " bytes"));
    }
    components.push_back(std::move(component));
  }
  return Multiaddr(components);
}

absl::StatusOr<Multiaddr> Multiaddr::FromBytes(absl::string_view bytes) {
  if (bytes.size() > kMaxBytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("multiaddr is %d bytes, over the %d-byte limit", bytes.size(), kMaxBytes));
  }
  auto error = [&bytes](absl::string_view problem) {
    return absl::InvalidArgumentError(
        absl::StrFormat("multiaddr bytes (%d bytes): %s", bytes.size(), problem));
  };
  if (bytes.empty()) return error("empty");

  std::vector<MultiaddrComponent> components;
  absl::string_view rest = bytes;
  while (!rest.empty()) {
    const size_t index = components.size();
    if (index == kMaxComponents) {
      return error(absl::StrCat("more than ", kMaxComponents, " components"));
    }
    uint64_t code = 0;
    if (!ReadUvarint(&rest, &code)) {
      return error(absl::StrCat(ComponentLabel(index, nullptr),
                                ": protocol code is not a valid varint (truncated, over 9 "
                                "bytes, or not minimal)"));
    }
    const ProtocolInfo* info = FindByCode(code);
    if (info == nullptr) {
      return error(absl::StrFormat("%s: unknown protocol code %d (0x%x)",
                                   ComponentLabel(index, nullptr), code, code));
    }
    const std::string label = ComponentLabel(index, info);

    size_t size = 0;
    switch (info->kind) {
      case ValueKind::kNone:
        break;
      case ValueKind::kFixed:
        size = info->fixed_size;
        break;
      case ValueKind::kSized:
      case ValueKind::kPath: {
        uint64_t length = 0;
        if (!ReadUvarint(&rest, &length)) {
          return error(absl::StrCat(label, ": value length is not a valid varint"));
        }
        if (length > rest.size()) {
          return error(absl::StrFormat("%s: value length %d exceeds the %d bytes left", label,
                                       length, rest.size()));
        }
        size = static_cast<size_t>(length);
        break;
      }
    }
    if (size > rest.size()) {
      return error(absl::StrFormat("%s: value needs %d bytes, %d left", label, size, rest.size()));
    }
    MultiaddrComponent component{info->protocol, std::string(rest.substr(0, size))};
    rest.remove_prefix(size);
    if (std::string problem = ValueProblem(info->protocol, component.value); !problem.empty()) {
      return error(absl::StrCat(label, ": ", problem));
    }
    // In text a path takes the rest of the address, so nothing can follow it in binary either.
    if (info->kind == ValueKind::kPath && !rest.empty()) {
      return error(absl::StrCat(label, ": a path protocol must be the last component"));
    }
    components.push_back(std::move(component));
  }
  return Multiaddr(components);
}

std::string Multiaddr::ToString() const {
  const std::vector<MultiaddrComponent> parts = components();
  std::string out;
  for (const MultiaddrComponent& component : parts) {
    const ProtocolInfo& info = Info(component.protocol);
    absl::StrAppend(&out, "/", info.name);
    if (info.kind == ValueKind::kPath) {
      absl::StrAppend(&out, component.value);  // starts with '/'
    } else if (info.kind != ValueKind::kNone) {
      absl::StrAppend(&out, "/", ValueToText(component));
    }
  }
  return out;
}

std::optional<IpAddress> Multiaddr::ip() const {
  // Reads the components in place: this is on the path of every inbound connection.
  absl::string_view rest = bytes_;
  Protocol protocol;
  absl::string_view value;
  while (NextTrustedComponent(&rest, &protocol, &value)) {
    if (protocol == Protocol::kIp4 || protocol == Protocol::kIp6)
      return IpAddress::FromBytes(value);
  }
  return std::nullopt;
}

std::optional<uint16_t> Multiaddr::port() const {
  for (const ComponentView& c : Views(bytes_)) {
    if (c.protocol == Protocol::kTcp || c.protocol == Protocol::kUdp) {
      return static_cast<uint16_t>(ReadBigEndian(c.value));
    }
  }
  return std::nullopt;
}

Transport Multiaddr::transport() const { return TransportOf(Views(bytes_)); }

Multiaddr::Facts Multiaddr::facts() const {
  Facts facts;
  // Nearly every connection's address is /ip4|ip6/A/tcp/P: its bytes are the code, the address,
  // 0x06 and the port (all one-byte codes), read here without the general walk below.
  const size_t ip_size = bytes_.empty()                                   ? 0
                         : bytes_[0] == static_cast<char>(Protocol::kIp4) ? 4
                         : bytes_[0] == static_cast<char>(Protocol::kIp6) ? 16
                                                                          : 0;
  if (ip_size != 0 && bytes_.size() == 1 + ip_size + 3 &&
      bytes_[1 + ip_size] == static_cast<char>(Protocol::kTcp)) {
    facts.ip = IpAddress::FromBytes(absl::string_view(bytes_).substr(1, ip_size));
    facts.transport = Transport::kTcp;
    return facts;
  }
  const ComponentViews cs = Views(bytes_);
  facts.transport = TransportOf(cs);
  for (const ComponentView& c : cs) {
    if (!facts.ip && (c.protocol == Protocol::kIp4 || c.protocol == Protocol::kIp6)) {
      facts.ip = IpAddress::FromBytes(c.value);
    }
    facts.relayed = facts.relayed || c.protocol == Protocol::kP2pCircuit;
  }
  return facts;
}

bool Multiaddr::is_relayed() const {
  absl::string_view rest = bytes_;
  Protocol protocol;
  absl::string_view value;
  while (NextTrustedComponent(&rest, &protocol, &value)) {
    if (protocol == Protocol::kP2pCircuit) return true;
  }
  return false;
}

std::optional<PeerId> Multiaddr::peer_id() const {
  const ComponentViews parts = Views(bytes_);
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (it->protocol != Protocol::kP2p) continue;
    absl::StatusOr<PeerId> peer = PeerId::FromBytes(it->value);
    if (peer.ok()) return *std::move(peer);
    return std::nullopt;  // unreachable: values were validated on the way in
  }
  return std::nullopt;
}

std::optional<Multiaddr::DnsName> Multiaddr::dns() const {
  for (const ComponentView& c : Views(bytes_)) {
    switch (c.protocol) {
      case Protocol::kDns:
      case Protocol::kDns4:
      case Protocol::kDns6:
      case Protocol::kDnsAddr:
        return DnsName{c.protocol, std::string(c.value)};
      default:
        break;
    }
  }
  return std::nullopt;
}

Multiaddr Multiaddr::WithPeerId(const PeerId& peer) const {
  const std::vector<MultiaddrComponent> parts = components();
  if (peer.is_empty()) return *this;
  // Nothing may follow a path (/unix/...): its text form would swallow the /p2p/ component.
  if (!parts.empty() && Info(parts.back().protocol).kind == ValueKind::kPath) {
    return *this;
  }
  if (!parts.empty() && parts.back().protocol == Protocol::kP2p &&
      parts.back().value == peer.bytes()) {
    return *this;
  }
  std::vector<MultiaddrComponent> with_peer = parts;
  with_peer.push_back({Protocol::kP2p, std::string(peer.bytes())});
  return Multiaddr(with_peer);
}

Multiaddr Multiaddr::WithoutPeerId() const {
  const std::vector<MultiaddrComponent> parts = components();
  if (parts.empty() || parts.back().protocol != Protocol::kP2p) return *this;
  return Multiaddr(std::vector<MultiaddrComponent>(parts.begin(), parts.end() - 1));
}

}  // namespace connmgr
