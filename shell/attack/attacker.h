// Attacker: a scripted libp2p peer for the attack tests, on loopback only. It dials a node,
// secures the connection with Noise XX as a real libp2p peer (an Ed25519 identity of its own),
// negotiates Yamux, and then does exactly what the test says — open streams, pipeline
// multistream-select, send raw Yamux frames, read or never read — with the shell's own
// multistream, Noise and Yamux frame code. Blocking calls on a non-blocking socket: every wait
// is bounded by a deadline, so one thread can drive many attackers.
//
//   auto a = Attacker::Connect(node_address, node_peer, {.seed = 7}).value();
//   a->OpenStream(1, "/ipfs/ping/1.0.0", deadline);
//   a->Send(DataFrame(1, std::string(16 * 1024, 'x')), deadline);   // as much as it takes
//   AttackerRead read = a->ReadUntilEnd(deadline);                   // frames, then EOF
#ifndef CONNMGR_SHELL_ATTACK_ATTACKER_H_
#define CONNMGR_SHELL_ATTACK_ATTACKER_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/multiaddr.h"
#include "core/peer_id.h"
#include "shell/mux/yamux.h"
#include "shell/noise/transport.h"

namespace connmgr::shell::attack {

using Deadline = std::chrono::steady_clock::time_point;

struct AttackerOptions {
  uint8_t seed = 1;                         // the attacker's identity: every seed byte this
  std::optional<std::string> source_ip;     // bind to this 127.0.0.0/8 address first
  std::chrono::milliseconds timeout{5000};  // for the connection and its handshakes
};

// One Yamux frame as the node sent it.
struct ReceivedFrame {
  mux::FrameHeader header;
  std::string payload;  // Data frames only
};

struct AttackerRead {
  std::vector<ReceivedFrame> frames;
  bool ended = false;  // EOF or reset after the frames
  absl::Status error;  // the read error that ended it, if not a clean EOF
};

// A Yamux frame: the 12-byte header and, for Data, the payload.
std::string YamuxFrame(mux::FrameType type, uint16_t flags, uint32_t stream, uint32_t length,
                       absl::string_view payload = {});
// A Data frame carrying `payload` on `stream`.
std::string DataFrame(uint32_t stream, absl::string_view payload, uint16_t flags = 0);

class Attacker {
 public:
  // Dials `node` (/ip4/127.x.y.z/tcp/P), runs multistream-select /noise, Noise XX expecting
  // `node_peer`, then /yamux/1.0.0, all before `options.timeout`.
  static absl::StatusOr<std::unique_ptr<Attacker>> Connect(const Multiaddr& node,
                                                           const PeerId& node_peer,
                                                           const AttackerOptions& options);
  ~Attacker();
  Attacker(const Attacker&) = delete;
  Attacker& operator=(const Attacker&) = delete;

  // Opens `stream` (odd: the attacker is the Yamux client) with a SYN and proposes `protocol`
  // at once, without waiting for the answer (pipelined multistream-select).
  bool OpenStream(uint32_t stream, absl::string_view protocol, Deadline deadline);
  // Encrypts `plaintext` (Yamux bytes) and writes what the socket takes until `deadline`;
  // true when everything sent so far went into the socket. What did not stays queued.
  bool Send(absl::string_view plaintext, Deadline deadline);
  // Writes what is still queued until `deadline`; true when nothing is left.
  bool Flush(Deadline deadline);
  size_t unsent_bytes() const { return unsent_.size() - unsent_offset_; }
  // Bytes the socket took since the connection was made (handshakes included).
  uint64_t sent_bytes() const { return sent_bytes_; }

  // Reads and decrypts the node's frames until it closes the connection or `deadline`.
  AttackerRead ReadUntilEnd(Deadline deadline);
  // Whether the node closed the connection (EOF or reset), looking without reading data.
  bool PeerClosed();

  const PeerId& peer() const { return peer_; }

 private:
  Attacker(int fd, PeerId peer) : fd_(fd), peer_(std::move(peer)) {}
  // Raw socket I/O, bounded by `deadline`.
  bool WriteRaw(absl::string_view bytes, Deadline deadline);
  absl::StatusOr<std::string> ReadRaw(Deadline deadline);  // empty: EOF
  absl::Status Handshake(const PeerId& node_peer, uint8_t seed, Deadline deadline);

  int fd_;
  PeerId peer_;
  std::optional<noise::TransportEncoder> encoder_;
  std::optional<noise::TransportDecoder> decoder_;
  std::string unsent_;  // ciphertext the socket has not taken yet
  size_t unsent_offset_ = 0;
  uint64_t sent_bytes_ = 0;
  std::string plaintext_in_;  // decrypted Yamux bytes not parsed yet
};

}  // namespace connmgr::shell::attack

#endif  // CONNMGR_SHELL_ATTACK_ATTACKER_H_
