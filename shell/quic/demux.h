// Demux: what one UDP datagram arriving at a QUIC endpoint is, read from its header alone
// (no crypto, no state): a packet for a known connection (by its destination connection id), an
// Initial that would create a connection, or something to drop. The endpoint looks the id up in
// its table; only an Initial for an unknown id goes to admission.
//
//   DatagramHeader h = ReadDatagramHeader(datagram);
//   if (h.kind == DatagramKind::kShort || h.kind == DatagramKind::kLong) table.find(h.dcid);
//   else if (h.kind == DatagramKind::kInitial) Admit(h.initial);
#ifndef CONNMGR_SHELL_QUIC_DEMUX_H_
#define CONNMGR_SHELL_QUIC_DEMUX_H_

#include <ngtcp2/ngtcp2.h>

#include <string>

#include "absl/strings/string_view.h"

namespace connmgr::quic {

// Every connection id this side issues has this length (short headers carry no length).
inline constexpr size_t kConnectionIdBytes = 18;

enum class DatagramKind {
  kDrop,     // malformed, too short, an unsupported version
  kShort,    // a short-header packet: for a known connection or nothing
  kLong,     // a long-header packet that does not create state (Handshake, 0-RTT, Initial
             // too small to be a client's first)
  kInitial,  // a client's Initial: creates a connection if admitted and the id is unknown
};

struct DatagramHeader {
  DatagramKind kind = DatagramKind::kDrop;
  std::string dcid;         // the destination connection id's bytes (kShort, kLong, kInitial)
  ngtcp2_pkt_hd initial{};  // the decoded header (kInitial only)
};

DatagramHeader ReadDatagramHeader(absl::string_view datagram);

// The id as a table key.
inline std::string CidKey(const ngtcp2_cid& cid) {
  return std::string(reinterpret_cast<const char*>(cid.data), cid.datalen);
}

}  // namespace connmgr::quic

#endif  // CONNMGR_SHELL_QUIC_DEMUX_H_
