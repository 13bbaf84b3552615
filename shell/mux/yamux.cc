#include "shell/mux/yamux.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace connmgr::mux {
namespace {

constexpr uint32_t kLastStreamId = std::numeric_limits<uint32_t>::max();
// An input buffer emptied with more capacity than this gives its memory back.
constexpr size_t kKeptInputCapacityBytes = size_t{4} * 1024;

void AppendBigEndian32(uint32_t value, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xFF));
  }
}

uint32_t ReadBigEndian32(absl::string_view bytes) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  return value;
}

}  // namespace

void AppendFrameHeader(const FrameHeader& header, std::string* out) {
  out->push_back(static_cast<char>(kYamuxVersion));
  out->push_back(static_cast<char>(header.type));
  out->push_back(static_cast<char>(header.flags >> 8));
  out->push_back(static_cast<char>(header.flags & 0xFF));
  AppendBigEndian32(header.stream_id, out);
  AppendBigEndian32(header.length, out);
}

absl::StatusOr<FrameHeader> DecodeFrameHeader(absl::string_view bytes) {
  if (bytes.size() < kYamuxHeaderBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("header needs ", kYamuxHeaderBytes, " bytes, got ", bytes.size()));
  }
  const uint8_t version = static_cast<uint8_t>(bytes[0]);
  if (version != kYamuxVersion) {
    return absl::InvalidArgumentError(absl::StrCat("unknown version ", version));
  }
  const uint8_t type = static_cast<uint8_t>(bytes[1]);
  if (type > static_cast<uint8_t>(FrameType::kGoAway)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown frame type ", type));
  }
  const uint16_t flags =
      static_cast<uint16_t>((static_cast<uint8_t>(bytes[2]) << 8) | static_cast<uint8_t>(bytes[3]));
  if ((flags & ~kKnownFlags) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("unknown flags 0x", absl::Hex(flags)));
  }
  FrameHeader header;
  header.type = static_cast<FrameType>(type);
  header.flags = flags;
  header.stream_id = ReadBigEndian32(bytes.substr(4, 4));
  header.length = ReadBigEndian32(bytes.substr(8, 4));
  return header;
}

absl::StatusOr<YamuxSession> YamuxSession::Create(YamuxRole role, const YamuxLimits& limits) {
  if (limits.max_data_frame_bytes == 0 || limits.max_data_frame_bytes > kInitialStreamWindowBytes) {
    return absl::InvalidArgumentError(absl::StrCat("max_data_frame_bytes must be 1 to ",
                                                   kInitialStreamWindowBytes, ", not ",
                                                   limits.max_data_frame_bytes));
  }
  if (limits.receive_window < kInitialStreamWindowBytes ||
      limits.receive_window > kMaxStreamWindowBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("receive_window must be ", kInitialStreamWindowBytes, " to ",
                     kMaxStreamWindowBytes, ", not ", limits.receive_window));
  }
  return YamuxSession(role, limits);
}

YamuxSession::YamuxSession(YamuxRole role, const YamuxLimits& limits)
    : role_(role), limits_(limits), next_stream_id_(role == YamuxRole::kClient ? 1 : 2) {}

bool YamuxSession::IsOurs(uint32_t stream_id) const {
  return (stream_id % 2 == 1) == (role_ == YamuxRole::kClient);
}

std::vector<YamuxEvent> YamuxSession::Feed(absl::string_view bytes, Instant now) {
  std::vector<YamuxEvent> events;
  if (failed_) return events;
  input_.append(bytes.data(), bytes.size());
  size_t offset = 0;
  while (!failed_ && input_.size() - offset >= kYamuxHeaderBytes) {
    const absl::string_view unparsed = absl::string_view(input_).substr(offset);
    absl::StatusOr<FrameHeader> header = DecodeFrameHeader(unparsed);
    if (!header.ok()) {
      ProtocolError(header.status().message(), &events);
      break;
    }
    size_t payload_bytes = 0;
    if (header->type == FrameType::kData) {
      // Checked before waiting for the payload, so the input never holds more than this.
      if (header->length > limits_.receive_window) {
        ProtocolError(
            absl::StrCat("data frame of ", header->length, " bytes is larger than any window"),
            &events);
        break;
      }
      payload_bytes = header->length;
    }
    if (unparsed.size() < kYamuxHeaderBytes + payload_bytes) break;
    HandleFrame(*header, unparsed.substr(kYamuxHeaderBytes, payload_bytes), now, &events);
    offset += kYamuxHeaderBytes + payload_bytes;
  }
  if (failed_) {
    input_.clear();
  } else {
    input_.erase(0, offset);
  }
  if (input_.empty() && input_.capacity() > kKeptInputCapacityBytes) std::string().swap(input_);
  return events;
}

void YamuxSession::HandleFrame(const FrameHeader& header, absl::string_view payload, Instant now,
                               std::vector<YamuxEvent>* events) {
  switch (header.type) {
    case FrameType::kData:
    case FrameType::kWindowUpdate:
      HandleStreamFrame(header, payload, events);
      return;
    case FrameType::kPing:
      HandlePing(header, now, events);
      return;
    case FrameType::kGoAway: {
      if (header.stream_id != 0) {
        ProtocolError("GoAway on a stream other than 0", events);
        return;
      }
      go_away_received_ = true;
      YamuxEvent event;
      event.kind = YamuxEvent::Kind::kGoAwayReceived;
      event.go_away_code = static_cast<GoAwayCode>(header.length);
      events->push_back(std::move(event));
      return;
    }
  }
}

void YamuxSession::HandleStreamFrame(const FrameHeader& header, absl::string_view payload,
                                     std::vector<YamuxEvent>* events) {
  const uint32_t id = header.stream_id;
  if (id == 0) {
    ProtocolError("data or window update on stream 0", events);
    return;
  }
  if (header.flags & kFlagSyn) {
    if (IsOurs(id)) {
      ProtocolError(absl::StrCat("peer opened stream ", id, ", which has our parity"), events);
      return;
    }
    if (id <= highest_peer_stream_id_) {
      ProtocolError(absl::StrCat("peer opened stream ", id, " after ", highest_peer_stream_id_),
                    events);
      return;
    }
    highest_peer_stream_id_ = id;
    if (go_away_sent_ || inbound_streams_ >= limits_.max_inbound_streams) {
      SendFrame(FrameType::kWindowUpdate, kFlagRst, id, 0);
      return;
    }
    Stream& stream = streams_[id];
    stream.ack_pending = true;
    ++inbound_streams_;
    GrantWindowBeyondInitial(id, stream);
    YamuxEvent event;
    event.kind = YamuxEvent::Kind::kStreamOpened;
    event.stream_id = id;
    events->push_back(std::move(event));
  }

  auto it = streams_.find(id);
  if (it == streams_.end()) {
    const bool never_opened = IsOurs(id) ? id >= next_stream_id_ : id > highest_peer_stream_id_;
    if (never_opened) {
      ProtocolError(absl::StrCat("frame for stream ", id, ", which was never opened"), events);
    }
    // Otherwise a frame sent before the peer learnt that we closed, reset or refused it.
    return;
  }
  Stream& stream = it->second;

  if ((header.flags & kFlagAck) && stream.opened_by_us && !stream.acknowledged) {
    stream.acknowledged = true;
    --unacked_outbound_streams_;
  }
  if (header.type == FrameType::kWindowUpdate) {
    if (uint64_t{stream.send_window} + header.length > kLastStreamId) {
      ProtocolError(absl::StrCat("window update on stream ", id, " overflows 32 bits"), events);
      return;
    }
    stream.send_window += header.length;
  }
  if (header.type == FrameType::kData && header.length > 0) {
    if (stream.fin_received) {
      ProtocolError(absl::StrCat("data on stream ", id, " after its FIN"), events);
      return;
    }
    if (header.length > stream.receive_window) {
      ProtocolError(absl::StrCat(header.length, " bytes on stream ", id, " overflow the ",
                                 stream.receive_window, "-byte window"),
                    events);
      return;
    }
    stream.receive_window -= header.length;
    stream.delivered_unconsumed += header.length;
    YamuxEvent event;
    event.kind = YamuxEvent::Kind::kData;
    event.stream_id = id;
    event.data = std::string(payload);
    events->push_back(std::move(event));
  }
  if (header.flags & kFlagRst) {
    YamuxEvent event;
    event.kind = YamuxEvent::Kind::kStreamReset;
    event.stream_id = id;
    events->push_back(std::move(event));
    RemoveStream(id);
    return;
  }
  if ((header.flags & kFlagFin) && !stream.fin_received) {
    stream.fin_received = true;
    YamuxEvent event;
    event.kind = YamuxEvent::Kind::kStreamHalfClosed;
    event.stream_id = id;
    events->push_back(std::move(event));
  }
  Flush(id, stream);
  RemoveIfClosedBothWays(id, stream);
}

void YamuxSession::HandlePing(const FrameHeader& header, Instant now,
                              std::vector<YamuxEvent>* events) {
  if (header.stream_id != 0) {
    ProtocolError("ping on a stream other than 0", events);
    return;
  }
  if (header.flags & kFlagSyn) {
    SendFrame(FrameType::kPing, kFlagAck, 0, header.length);
    return;
  }
  if (header.flags & kFlagAck) {
    auto it = pings_in_flight_.find(header.length);
    if (it == pings_in_flight_.end()) return;  // not ours, or answered twice
    YamuxEvent event;
    event.kind = YamuxEvent::Kind::kPingAnswered;
    event.rtt = now - it->second;
    events->push_back(std::move(event));
    pings_in_flight_.erase(it);
    return;
  }
  ProtocolError("ping with neither SYN nor ACK", events);
}

void YamuxSession::ProtocolError(absl::string_view why, std::vector<YamuxEvent>* events) {
  if (failed_) return;
  failed_ = true;
  SendFrame(FrameType::kGoAway, 0, 0, static_cast<uint32_t>(GoAwayCode::kProtocolError));
  YamuxEvent event;
  event.kind = YamuxEvent::Kind::kSessionError;
  event.error = absl::InvalidArgumentError(absl::StrCat("yamux protocol error: ", why));
  events->push_back(std::move(event));
}

void YamuxSession::GrantWindowBeyondInitial(uint32_t stream_id, Stream& stream) {
  const uint32_t extra = limits_.receive_window - kInitialStreamWindowBytes;
  if (extra == 0) return;
  SendFrame(FrameType::kWindowUpdate, TakeStreamFlags(stream), stream_id, extra);
  stream.receive_window += extra;
}

uint16_t YamuxSession::TakeStreamFlags(Stream& stream) {
  if (!stream.ack_pending) return 0;
  stream.ack_pending = false;
  return kFlagAck;
}

void YamuxSession::SendFrame(FrameType type, uint16_t flags, uint32_t stream_id, uint32_t length,
                             absl::string_view payload) {
  AppendFrameHeader(FrameHeader{type, flags, stream_id, length}, &output_);
  output_.append(payload.data(), payload.size());
}

void YamuxSession::Flush(uint32_t stream_id, Stream& stream) {
  size_t sent_bytes = 0;
  while (sent_bytes < stream.send_queue.size() && stream.send_window > 0) {
    const size_t chunk_bytes =
        std::min({stream.send_queue.size() - sent_bytes, size_t{stream.send_window},
                  size_t{limits_.max_data_frame_bytes}});
    uint16_t flags = TakeStreamFlags(stream);
    const bool empties_queue = sent_bytes + chunk_bytes == stream.send_queue.size();
    if (empties_queue && stream.fin_requested) {
      flags |= kFlagFin;
      stream.fin_sent = true;
    }
    SendFrame(FrameType::kData, flags, stream_id, static_cast<uint32_t>(chunk_bytes),
              absl::string_view(stream.send_queue).substr(sent_bytes, chunk_bytes));
    stream.send_window -= static_cast<uint32_t>(chunk_bytes);
    sent_bytes += chunk_bytes;
  }
  stream.send_queue.erase(0, sent_bytes);
  if (stream.send_queue.empty()) std::string().swap(stream.send_queue);  // its memory too
  queued_bytes_ -= sent_bytes;
  if (stream.fin_requested && !stream.fin_sent && stream.send_queue.empty()) {
    SendFrame(FrameType::kData, TakeStreamFlags(stream) | kFlagFin, stream_id, 0);
    stream.fin_sent = true;
  }
}

void YamuxSession::RemoveStream(uint32_t stream_id) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return;
  const Stream& stream = it->second;
  queued_bytes_ -= stream.send_queue.size();
  if (stream.opened_by_us) {
    --outbound_streams_;
    if (!stream.acknowledged) --unacked_outbound_streams_;
  } else {
    --inbound_streams_;
  }
  streams_.erase(it);
}

void YamuxSession::RemoveIfClosedBothWays(uint32_t stream_id, const Stream& stream) {
  if (stream.fin_sent && stream.fin_received) RemoveStream(stream_id);
}

absl::StatusOr<YamuxSession::Stream*> YamuxSession::FindWritable(uint32_t stream_id) {
  if (failed_) return absl::FailedPreconditionError("session failed");
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) {
    return absl::NotFoundError(absl::StrCat("no stream ", stream_id));
  }
  if (it->second.fin_requested) {
    return absl::FailedPreconditionError(
        absl::StrCat("stream ", stream_id, " is closed for writing"));
  }
  return &it->second;
}

absl::StatusOr<uint32_t> YamuxSession::OpenStream() {
  if (failed_) return absl::FailedPreconditionError("session failed");
  if (go_away_sent_) return absl::FailedPreconditionError("we sent GoAway");
  if (go_away_received_) return absl::FailedPreconditionError("peer sent GoAway");
  if (outbound_streams_ >= limits_.max_outbound_streams) {
    return absl::ResourceExhaustedError(
        absl::StrCat(outbound_streams_, " outbound streams open, the limit"));
  }
  if (unacked_outbound_streams_ >= limits_.max_unacked_outbound_streams) {
    return absl::ResourceExhaustedError(
        absl::StrCat(unacked_outbound_streams_, " outbound streams not acknowledged, the limit"));
  }
  if (next_stream_id_ > kLastStreamId) return absl::ResourceExhaustedError("stream ids used up");
  const uint32_t id = static_cast<uint32_t>(next_stream_id_);
  next_stream_id_ += 2;
  Stream& stream = streams_[id];
  stream.opened_by_us = true;
  ++outbound_streams_;
  ++unacked_outbound_streams_;
  // The SYN carries what we grant beyond the initial window.
  SendFrame(FrameType::kWindowUpdate, kFlagSyn, id,
            limits_.receive_window - kInitialStreamWindowBytes);
  stream.receive_window = limits_.receive_window;
  return id;
}

absl::Status YamuxSession::Write(uint32_t stream_id, absl::string_view bytes) {
  absl::StatusOr<Stream*> stream = FindWritable(stream_id);
  if (!stream.ok()) return stream.status();
  if (bytes.empty()) return absl::OkStatus();
  // The limits count only what the peer's window cannot take now.
  const size_t already_queued = (*stream)->send_queue.size();
  const size_t would_queue =
      std::max(already_queued + bytes.size(), size_t{(*stream)->send_window}) -
      (*stream)->send_window;
  if (would_queue > limits_.max_queued_bytes_per_stream) {
    return absl::ResourceExhaustedError(
        absl::StrCat("stream ", stream_id, " would queue more than ",
                     limits_.max_queued_bytes_per_stream, " bytes"));
  }
  if (queued_bytes_ - already_queued + would_queue > limits_.max_queued_bytes_per_session) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "session would queue more than ", limits_.max_queued_bytes_per_session, " bytes"));
  }
  (*stream)->send_queue.append(bytes.data(), bytes.size());
  queued_bytes_ += bytes.size();
  Flush(stream_id, **stream);
  return absl::OkStatus();
}

absl::Status YamuxSession::CloseWrite(uint32_t stream_id) {
  absl::StatusOr<Stream*> stream = FindWritable(stream_id);
  if (!stream.ok()) return stream.status();
  (*stream)->fin_requested = true;
  Flush(stream_id, **stream);
  RemoveIfClosedBothWays(stream_id, **stream);
  return absl::OkStatus();
}

absl::Status YamuxSession::Reset(uint32_t stream_id) {
  if (failed_) return absl::FailedPreconditionError("session failed");
  if (!streams_.contains(stream_id)) {
    return absl::NotFoundError(absl::StrCat("no stream ", stream_id));
  }
  SendFrame(FrameType::kWindowUpdate, kFlagRst, stream_id, 0);
  RemoveStream(stream_id);
  return absl::OkStatus();
}

absl::Status YamuxSession::Consume(uint32_t stream_id, size_t bytes) {
  if (failed_) return absl::FailedPreconditionError("session failed");
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return absl::OkStatus();
  Stream& stream = it->second;
  if (bytes > stream.delivered_unconsumed) {
    return absl::InvalidArgumentError(absl::StrCat("consumed ", bytes, " bytes of stream ",
                                                   stream_id, ", only ",
                                                   stream.delivered_unconsumed, " delivered"));
  }
  stream.delivered_unconsumed -= bytes;
  // delivered_unconsumed never exceeds the window, so this fits.
  stream.consumed_since_update += static_cast<uint32_t>(bytes);
  if (!stream.fin_received && stream.consumed_since_update >= limits_.receive_window / 2) {
    SendFrame(FrameType::kWindowUpdate, TakeStreamFlags(stream), stream_id,
              stream.consumed_since_update);
    stream.receive_window += stream.consumed_since_update;
    stream.consumed_since_update = 0;
  }
  return absl::OkStatus();
}

absl::Status YamuxSession::Ping(Instant now) {
  if (failed_) return absl::FailedPreconditionError("session failed");
  if (pings_in_flight_.size() >= limits_.max_outstanding_pings) {
    return absl::ResourceExhaustedError(
        absl::StrCat(pings_in_flight_.size(), " pings unanswered, the limit"));
  }
  uint32_t value = next_ping_value_++;
  while (pings_in_flight_.contains(value)) value = next_ping_value_++;
  pings_in_flight_[value] = now;
  SendFrame(FrameType::kPing, kFlagSyn, 0, value);
  return absl::OkStatus();
}

absl::Status YamuxSession::GoAway(GoAwayCode code) {
  if (failed_) return absl::FailedPreconditionError("session failed");
  if (go_away_sent_) return absl::FailedPreconditionError("GoAway already sent");
  go_away_sent_ = true;
  SendFrame(FrameType::kGoAway, 0, 0, static_cast<uint32_t>(code));
  return absl::OkStatus();
}

std::string YamuxSession::TakeOutput() { return std::exchange(output_, {}); }

uint32_t YamuxSession::SendWindowForTest(uint32_t stream_id) const {
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? 0 : it->second.send_window;
}

size_t YamuxSession::QueuedBytesForTest(uint32_t stream_id) const {
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? 0 : it->second.send_queue.size();
}

}  // namespace connmgr::mux
