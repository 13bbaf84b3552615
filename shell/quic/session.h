// QuicSession: a libp2p session over one QUIC connection's native streams (libp2p over QUIC:
// no security or muxer upgrade; each stream negotiates its protocol with multistream-select).
// It serves /ipfs/ping/1.0.0 and /ipfs/id/1.0.0, pings the peer every ping_interval, and hands
// application protocols to the driver exactly as the Yamux session does (shell/upgrader.h).
//
// Memory: the connection's fixed charge (kConnectionStateBytes: ngtcp2's and GnuTLS's state,
// which they do not report) plus what the streams hold — unacknowledged send data and
// negotiation buffers — is reserved with the connection's ConnectionMemory after every turn; a
// refusal ends the connection with memory_limit. A write past max_send_bytes held, or one the
// core does not grant memory for, is refused (ResourceExhausted).
//
// Stream ids are QUIC's; a stream whose id does not fit a StreamId (2^30 streams per direction
// and kind) is reset.
#ifndef CONNMGR_SHELL_QUIC_SESSION_H_
#define CONNMGR_SHELL_QUIC_SESSION_H_

#include <memory>
#include <optional>

#include "core/multiaddr.h"
#include "shell/libp2p.h"
#include "shell/quic/connection.h"
#include "shell/upgrader.h"

namespace connmgr::quic {

// What one QUIC connection's ngtcp2 and GnuTLS state is charged to the core, which they do not
// report: one chunk. An idle QUIC connection measured 118 KB of heap in all (core, driver,
// session, ngtcp2, GnuTLS; docs/performance.md), which this and the stream chunks cover.
inline constexpr uint64_t kConnectionStateBytes = uint64_t{64} * 1024;

// The session for `connection` once its handshake gave `remote`. `observed` is the peer's
// address as this side sees it (identify's observed address).
std::unique_ptr<shell::Session> MakeQuicSession(std::shared_ptr<Connection> connection,
                                                PeerId remote, Multiaddr observed,
                                                std::shared_ptr<const shell::Libp2pOptions> options,
                                                shell::ConnectionResources resources);

}  // namespace connmgr::quic

#endif  // CONNMGR_SHELL_QUIC_SESSION_H_
