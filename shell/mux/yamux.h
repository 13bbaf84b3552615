// Yamux without I/O: the 12-byte frame codec and the session state machine of one connection
// (hashicorp/yamux spec.md, as adopted by libp2p under "/yamux/1.0.0").
//
//   YamuxSession session = YamuxSession::Create(YamuxRole::kClient, YamuxLimits{}).value();
//   uint32_t id = session.OpenStream().value();       // queues a SYN frame
//   session.Write(id, "hello");                        // queued, sent within the peer's window
//   send(session.TakeOutput());
//   for (const YamuxEvent& event : session.Feed(received_bytes, now)) {
//     if (event.kind == YamuxEvent::Kind::kData) {
//       deliver(event.stream_id, event.data);
//       session.Consume(event.stream_id, event.data.size());  // once the application read it
//     }
//   }
//   send(session.TakeOutput());                        // after every call that can emit frames
//
// The session never reads a clock: Feed and Ping take `now`, used only for ping round trips.
// Events come only from Feed, one whole frame at a time, so the events do not depend on how
// the input was split into chunks. Any violation by the peer (bad header, a frame past our
// window, a stream id that cannot be right) queues GoAway(protocol error), reports
// kSessionError, and ends the session: later calls fail or do nothing.
//
// Memory bounds: input holds at most one frame (header plus the receive window); queued
// outgoing data is capped per stream and per session (YamuxLimits); data handed out but not
// yet Consume()d is at most the receive window per stream, so at most max_inbound_streams +
// max_outbound_streams times that per session. Control frames the session sends on its own
// (ping answers, refusals) are at most one per frame received. buffered_bytes() says what the
// session holds at any moment, for the caller's memory accounting.
#ifndef CONNMGR_SHELL_MUX_YAMUX_H_
#define CONNMGR_SHELL_MUX_YAMUX_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/time.h"

namespace connmgr::mux {

// --- Frame codec ------------------------------------------------------------------------------

inline constexpr uint8_t kYamuxVersion = 0;
inline constexpr size_t kYamuxHeaderBytes = 12;
// Every stream starts with this receive window in both directions (spec: 256 KiB).
inline constexpr uint32_t kInitialStreamWindowBytes = 256 * 1024;
// The largest receive window a session grants (YamuxLimits::receive_window).
inline constexpr uint32_t kMaxStreamWindowBytes = 16 * 1024 * 1024;

enum class FrameType : uint8_t { kData = 0, kWindowUpdate = 1, kPing = 2, kGoAway = 3 };

inline constexpr uint16_t kFlagSyn = 0x1;
inline constexpr uint16_t kFlagAck = 0x2;
inline constexpr uint16_t kFlagFin = 0x4;
inline constexpr uint16_t kFlagRst = 0x8;
inline constexpr uint16_t kKnownFlags = kFlagSyn | kFlagAck | kFlagFin | kFlagRst;

enum class GoAwayCode : uint32_t { kNormal = 0, kProtocolError = 1, kInternalError = 2 };

// `length` is the payload size for Data, the window delta for WindowUpdate, the opaque value
// for Ping and the error code for GoAway. The version is always kYamuxVersion.
struct FrameHeader {
  FrameType type = FrameType::kData;
  uint16_t flags = 0;
  uint32_t stream_id = 0;
  uint32_t length = 0;

  friend bool operator==(const FrameHeader&, const FrameHeader&) = default;
};

// Appends the 12 header bytes, big-endian.
void AppendFrameHeader(const FrameHeader& header, std::string* out);

// Decodes the first kYamuxHeaderBytes of `bytes` (it must hold at least that many). Fails on a
// version other than 0, an unknown type or unknown flag bits.
absl::StatusOr<FrameHeader> DecodeFrameHeader(absl::string_view bytes);

// --- Session ----------------------------------------------------------------------------------

// The client opens odd stream ids, the server even ones.
enum class YamuxRole { kClient, kServer };

struct YamuxLimits {
  // Concurrent streams the peer opened; a SYN beyond this is answered with RST.
  uint32_t max_inbound_streams = 256;
  // Concurrent streams we opened; OpenStream fails beyond this.
  uint32_t max_outbound_streams = 256;
  // Streams we opened that the peer has not acknowledged yet (libp2p: "ACK backlog").
  uint32_t max_unacked_outbound_streams = 256;
  // Largest payload of one Data frame we send; 1 to kInitialStreamWindowBytes.
  uint32_t max_data_frame_bytes = 16 * 1024;
  // Written bytes waiting for the peer's window (bytes the window takes at once do not
  // count); Write fails past either bound.
  size_t max_queued_bytes_per_stream = size_t{1024} * 1024;
  size_t max_queued_bytes_per_session = size_t{16} * 1024 * 1024;
  // Pings sent and not answered yet.
  uint32_t max_outstanding_pings = 16;
  // The receive window we grant each stream, kInitialStreamWindowBytes to
  // kMaxStreamWindowBytes: how much the peer may send on it before we read. Beyond the initial
  // window, the rest is granted with the stream's first frame (SYN or ACK).
  uint32_t receive_window = kInitialStreamWindowBytes;
};

struct YamuxEvent {
  enum class Kind {
    kStreamOpened,      // the peer opened stream_id
    kData,              // data arrived on stream_id
    kStreamHalfClosed,  // the peer sent FIN on stream_id: no more data from it
    kStreamReset,       // the peer reset (or refused) stream_id; the stream is gone
    kPingAnswered,      // our ping came back after rtt
    kGoAwayReceived,    // the peer opens no more streams and accepts no more; see go_away_code
    kSessionError,      // the peer broke the protocol; see error. The session is over.
  };

  Kind kind = Kind::kSessionError;
  uint32_t stream_id = 0;
  std::string data;
  Duration rtt;
  GoAwayCode go_away_code = GoAwayCode::kNormal;
  absl::Status error;

  friend bool operator==(const YamuxEvent&, const YamuxEvent&) = default;
};

class YamuxSession {
 public:
  static absl::StatusOr<YamuxSession> Create(YamuxRole role, const YamuxLimits& limits);

  // --- Input ---
  // The peer's bytes, in chunks of any size. `now` times ping answers.
  std::vector<YamuxEvent> Feed(absl::string_view bytes, Instant now);

  // --- Commands (each may queue frames; call TakeOutput afterwards) ---
  // Opens a stream at once with a WindowUpdate frame carrying SYN. Fails after either side's
  // GoAway, past the stream limits, or when the ids are used up.
  absl::StatusOr<uint32_t> OpenStream();
  // Queues `bytes` and sends as much as the peer's window allows; the rest goes out as
  // WindowUpdates arrive. Nothing is queued when it fails (unknown stream, already closed for
  // writing, or a queue limit).
  absl::Status Write(uint32_t stream_id, absl::string_view bytes);
  // Half-closes our direction: FIN goes out after the queued data.
  absl::Status CloseWrite(uint32_t stream_id);
  // Sends RST and forgets the stream and its queued data.
  absl::Status Reset(uint32_t stream_id);
  // The application has read `bytes` of the data delivered on the stream. Once half the
  // receive window has been read since the last update, sends a WindowUpdate for it. A
  // stream that is gone ignores this.
  absl::Status Consume(uint32_t stream_id, size_t bytes);
  // Sends a Ping with a fresh opaque value; its answer becomes a kPingAnswered event.
  absl::Status Ping(Instant now);
  // Sends GoAway(code) once: no new streams either way from then on.
  absl::Status GoAway(GoAwayCode code);

  // --- Output ---
  // Bytes to send to the peer, in order; empties the queue.
  std::string TakeOutput();

  // --- State ---
  // What the session holds: the partial frame received, the frames not yet taken, and
  // written data waiting for the peer's window.
  size_t buffered_bytes() const { return input_.size() + output_.size() + queued_bytes_; }
  // Written data waiting for the peer's window, all streams together.
  size_t queued_bytes() const { return queued_bytes_; }
  bool failed() const { return failed_; }
  size_t stream_count() const { return streams_.size(); }
  bool HasStream(uint32_t stream_id) const { return streams_.contains(stream_id); }
  // The peer's remaining receive window on the stream (how much we may still send), or 0.
  uint32_t SendWindowForTest(uint32_t stream_id) const;
  size_t QueuedBytesForTest(uint32_t stream_id) const;

 private:
  struct Stream {
    bool opened_by_us = false;
    bool acknowledged = false;   // ours: the peer sent ACK
    bool ack_pending = false;    // theirs: our next frame on it carries ACK
    bool fin_requested = false;  // CloseWrite was called
    bool fin_sent = false;
    bool fin_received = false;
    uint32_t send_window = kInitialStreamWindowBytes;
    uint32_t receive_window = kInitialStreamWindowBytes;
    size_t delivered_unconsumed = 0;
    uint32_t consumed_since_update = 0;
    std::string send_queue;
  };

  YamuxSession(YamuxRole role, const YamuxLimits& limits);
  bool IsOurs(uint32_t stream_id) const;
  // The header has been checked; the payload (for Data) is complete.
  void HandleFrame(const FrameHeader& header, absl::string_view payload, Instant now,
                   std::vector<YamuxEvent>* events);
  void HandleStreamFrame(const FrameHeader& header, absl::string_view payload,
                         std::vector<YamuxEvent>* events);
  void HandlePing(const FrameHeader& header, Instant now, std::vector<YamuxEvent>* events);
  void ProtocolError(absl::string_view why, std::vector<YamuxEvent>* events);
  // Sends queued data within the window, then FIN when everything has gone.
  void Flush(uint32_t stream_id, Stream& stream);
  // Sends the peer's new inbound stream the window we grant beyond the initial one (with ACK).
  void GrantWindowBeyondInitial(uint32_t stream_id, Stream& stream);
  // Flags every frame we send on `stream` carries: ACK on the first one of an inbound stream.
  uint16_t TakeStreamFlags(Stream& stream);
  void SendFrame(FrameType type, uint16_t flags, uint32_t stream_id, uint32_t length,
                 absl::string_view payload = {});
  void RemoveStream(uint32_t stream_id);
  void RemoveIfClosedBothWays(uint32_t stream_id, const Stream& stream);
  absl::StatusOr<Stream*> FindWritable(uint32_t stream_id);

  YamuxRole role_;
  YamuxLimits limits_;
  bool failed_ = false;
  bool go_away_sent_ = false;
  bool go_away_received_ = false;
  uint64_t next_stream_id_;
  uint32_t highest_peer_stream_id_ = 0;
  uint32_t inbound_streams_ = 0;
  uint32_t outbound_streams_ = 0;
  uint32_t unacked_outbound_streams_ = 0;
  size_t queued_bytes_ = 0;
  uint32_t next_ping_value_ = 1;
  std::map<uint32_t, Instant> pings_in_flight_;  // opaque value -> when sent
  std::map<uint32_t, Stream> streams_;
  std::string input_;
  std::string output_;
};

}  // namespace connmgr::mux

#endif  // CONNMGR_SHELL_MUX_YAMUX_H_
