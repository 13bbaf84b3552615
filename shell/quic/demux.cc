#include "shell/quic/demux.h"

namespace connmgr::quic {

DatagramHeader ReadDatagramHeader(absl::string_view datagram) {
  DatagramHeader out;
  // An empty datagram is legal UDP; ngtcp2's decoder asserts on one.
  if (datagram.empty()) return out;
  const auto* data = reinterpret_cast<const uint8_t*>(datagram.data());
  ngtcp2_version_cid vc{};
  if (ngtcp2_pkt_decode_version_cid(&vc, data, datagram.size(), kConnectionIdBytes) != 0) {
    return out;  // malformed, or a version to negotiate: this endpoint speaks v1 only
  }
  if (vc.dcid == nullptr || vc.dcidlen > NGTCP2_MAX_CIDLEN) return out;
  out.dcid.assign(reinterpret_cast<const char*>(vc.dcid), vc.dcidlen);
  const bool long_header = (data[0] & 0x80) != 0;
  if (!long_header) {
    out.kind = DatagramKind::kShort;
    return out;
  }
  if (vc.version != NGTCP2_PROTO_VER_V1) return out;
  // ngtcp2_accept checks a client's first Initial: the header, the minimum datagram size and
  // the id lengths. Anything else long-headed is for a connection that exists, or nothing.
  if (ngtcp2_accept(&out.initial, data, datagram.size()) == 0 &&
      out.initial.type == NGTCP2_PKT_INITIAL) {
    // RFC 9000 7.2: a client's first destination id has at least 8 bytes (ngtcp2_accept does
    // not check it on every path).
    if (out.initial.dcid.datalen < NGTCP2_MIN_INITIAL_DCIDLEN) return DatagramHeader{};
    out.kind = DatagramKind::kInitial;
  } else {
    out.kind = DatagramKind::kLong;
  }
  return out;
}

}  // namespace connmgr::quic
