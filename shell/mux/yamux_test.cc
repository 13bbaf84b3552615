#include "shell/mux/yamux.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "core/random.h"
#include "gtest/gtest.h"

namespace connmgr::mux {
namespace {

using Kind = YamuxEvent::Kind;

Instant Ms(int64_t ms) { return Instant::FromNanoseconds(ms * 1'000'000); }

std::string Hex(absl::string_view bytes) { return absl::BytesToHexString(bytes); }
std::string Bytes(absl::string_view hex) { return absl::HexStringToBytes(hex); }

std::string Frame(FrameType type, uint16_t flags, uint32_t stream_id, uint32_t length) {
  std::string out;
  AppendFrameHeader(FrameHeader{type, flags, stream_id, length}, &out);
  return out;
}

YamuxSession Session(YamuxRole role, YamuxLimits limits = {}) {
  absl::StatusOr<YamuxSession> session = YamuxSession::Create(role, limits);
  EXPECT_TRUE(session.ok()) << session.status();
  return *std::move(session);
}

// One end of an in-memory connection plus what its application saw.
struct Peer {
  explicit Peer(YamuxRole role, YamuxLimits limits = {}) : session(Session(role, limits)) {}
  YamuxSession session;
  std::vector<YamuxEvent> events;
  std::map<uint32_t, std::string> received;
  // When set, the application reads everything at once (calls Consume).
  bool reads_immediately = true;
};

void Deliver(Peer& peer, absl::string_view bytes, Instant now) {
  for (YamuxEvent& event : peer.session.Feed(bytes, now)) {
    if (event.kind == Kind::kData) {
      peer.received[event.stream_id] += event.data;
      if (peer.reads_immediately) {
        EXPECT_TRUE(peer.session.Consume(event.stream_id, event.data.size()).ok());
      }
    }
    peer.events.push_back(std::move(event));
  }
}

// Carries bytes both ways until neither side has anything to send. Returns the rounds taken.
int Pump(Peer& a, Peer& b, Instant now = Ms(0)) {
  for (int round = 0; round < 100000; ++round) {
    const std::string a_to_b = a.session.TakeOutput();
    const std::string b_to_a = b.session.TakeOutput();
    if (a_to_b.empty() && b_to_a.empty()) return round;
    Deliver(b, a_to_b, now);
    Deliver(a, b_to_a, now);
  }
  ADD_FAILURE() << "sessions never went quiet";
  return -1;
}

int CountEvents(const Peer& peer, Kind kind, uint32_t stream_id = 0) {
  int count = 0;
  for (const YamuxEvent& event : peer.events) {
    if (event.kind == kind && (stream_id == 0 || event.stream_id == stream_id)) ++count;
  }
  return count;
}

std::string Pattern(size_t size, uint32_t seed) {
  SplitMix64 rng(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng.NextByte());
  return out;
}

// --- Frame codec: bytes computed by hand from the spec (version, type, flags BE16, id BE32,
// length BE32). ---

TEST(YamuxFrameTest, EncodesEachTypeAndFlag) {
  EXPECT_EQ(Hex(Frame(FrameType::kData, kFlagSyn, 1, 5)), "000000010000000100000005");
  EXPECT_EQ(Hex(Frame(FrameType::kData, 0, 0x01020304, 0x10)), "000000000102030400000010");
  EXPECT_EQ(Hex(Frame(FrameType::kData, kFlagFin, 3, 0)), "000000040000000300000000");
  EXPECT_EQ(Hex(Frame(FrameType::kWindowUpdate, kFlagAck, 2, 0x40000)), "000100020000000200040000");
  EXPECT_EQ(Hex(Frame(FrameType::kWindowUpdate, kFlagRst, 0xfffffffe, 0)),
            "00010008fffffffe00000000");
  EXPECT_EQ(Hex(Frame(FrameType::kPing, kFlagSyn, 0, 0xdeadbeef)), "0002000100000000deadbeef");
  EXPECT_EQ(Hex(Frame(FrameType::kPing, kFlagAck, 0, 7)), "000200020000000000000007");
  EXPECT_EQ(Hex(Frame(FrameType::kGoAway, 0, 0, 0)), "000300000000000000000000");
  EXPECT_EQ(Hex(Frame(FrameType::kGoAway, 0, 0, 1)), "000300000000000000000001");
  EXPECT_EQ(Hex(Frame(FrameType::kGoAway, 0, 0, 2)), "000300000000000000000002");
  EXPECT_EQ(Hex(Frame(FrameType::kData, kFlagSyn | kFlagAck | kFlagFin | kFlagRst, 9, 0)),
            "0000000f0000000900000000");
}

TEST(YamuxFrameTest, DecodesWhatItEncodes) {
  const FrameHeader header{FrameType::kWindowUpdate, kFlagAck | kFlagFin, 0x80000001, 0xfedcba98};
  std::string bytes;
  AppendFrameHeader(header, &bytes);
  ASSERT_EQ(bytes.size(), kYamuxHeaderBytes);
  absl::StatusOr<FrameHeader> decoded = DecodeFrameHeader(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, header);
}

TEST(YamuxFrameTest, RejectsUnknownVersionTypeFlagsAndShortInput) {
  EXPECT_FALSE(DecodeFrameHeader(Bytes("010000000000000100000000")).ok());  // version 1
  EXPECT_FALSE(DecodeFrameHeader(Bytes("000400000000000100000000")).ok());  // type 4
  EXPECT_FALSE(DecodeFrameHeader(Bytes("000000100000000100000000")).ok());  // flag 0x10
  EXPECT_FALSE(DecodeFrameHeader(Bytes("000001000000000100000000")).ok());  // flag 0x100
  EXPECT_FALSE(DecodeFrameHeader(Bytes("0000000000000001000000")).ok());    // 11 bytes
}

// --- Session ---

TEST(YamuxSessionTest, OpenStreamSendsSynWindowUpdateWithOddIdsForTheClient) {
  YamuxSession client = Session(YamuxRole::kClient);
  EXPECT_EQ(client.OpenStream().value(), 1u);
  EXPECT_EQ(client.OpenStream().value(), 3u);
  EXPECT_EQ(Hex(client.TakeOutput()), "000100010000000100000000000100010000000300000000");
  YamuxSession server = Session(YamuxRole::kServer);
  EXPECT_EQ(server.OpenStream().value(), 2u);
}

TEST(YamuxSessionTest, FirstFrameOnAnInboundStreamCarriesAck) {
  Peer client(YamuxRole::kClient);
  Peer server(YamuxRole::kServer);
  const uint32_t id = client.session.OpenStream().value();
  Deliver(server, client.session.TakeOutput(), Ms(0));
  ASSERT_EQ(CountEvents(server, Kind::kStreamOpened, id), 1);
  ASSERT_TRUE(server.session.Write(id, "hi").ok());
  ASSERT_TRUE(server.session.Write(id, "!").ok());
  EXPECT_EQ(Hex(server.session.TakeOutput()),
            "000000020000000100000002" + Hex("hi") + "000000000000000100000001" + Hex("!"));
}

TEST(YamuxSessionTest, ManyStreamsLargerThanTheWindowArriveIntact) {
  Peer client(YamuxRole::kClient);
  Peer server(YamuxRole::kServer);
  constexpr size_t kBytesPerStream = 3 * kInitialStreamWindowBytes + 12345;
  std::map<uint32_t, std::string> client_sent;
  for (uint32_t seed = 0; seed < 3; ++seed) {
    const uint32_t id = client.session.OpenStream().value();
    client_sent[id] = Pattern(kBytesPerStream, seed);
  }
  const uint32_t server_stream = server.session.OpenStream().value();
  const std::string server_sent = Pattern(kBytesPerStream, 99);
  for (const auto& [id, data] : client_sent) ASSERT_TRUE(client.session.Write(id, data).ok());
  ASSERT_TRUE(server.session.Write(server_stream, server_sent).ok());
  for (const auto& [id, data] : client_sent) {
    EXPECT_EQ(client.session.QueuedBytesForTest(id), kBytesPerStream - kInitialStreamWindowBytes);
    EXPECT_EQ(client.session.SendWindowForTest(id), 0u);
  }

  Pump(client, server);
  for (const auto& [id, data] : client_sent) {
    EXPECT_TRUE(server.received[id] == data) << "stream " << id;
    EXPECT_EQ(client.session.QueuedBytesForTest(id), 0u);
  }
  EXPECT_TRUE(client.received[server_stream] == server_sent);
}

TEST(YamuxSessionTest, FlowControlMakesProgressOnlyThroughWindowUpdates) {
  Peer client(YamuxRole::kClient);
  Peer server(YamuxRole::kServer);
  server.reads_immediately = false;
  const uint32_t id = client.session.OpenStream().value();
  const std::string data = Pattern(size_t{2} * kInitialStreamWindowBytes, 7);
  ASSERT_TRUE(client.session.Write(id, data).ok());
  Pump(client, server);
  // Without reads the server grants nothing: exactly one window went through.
  EXPECT_EQ(server.received[id].size(), kInitialStreamWindowBytes);
  EXPECT_EQ(client.session.SendWindowForTest(id), 0u);
  EXPECT_EQ(client.session.QueuedBytesForTest(id), kInitialStreamWindowBytes);

  // Reading just under half a window grants nothing yet.
  ASSERT_TRUE(server.session.Consume(id, kInitialStreamWindowBytes / 2 - 1).ok());
  EXPECT_EQ(server.session.TakeOutput(), "");
  // The byte that completes half a window sends its update (with the stream's first ACK).
  ASSERT_TRUE(server.session.Consume(id, 1).ok());
  const std::string update = server.session.TakeOutput();
  EXPECT_EQ(Hex(update), "000100020000000100020000");
  Deliver(client, update, Ms(0));
  EXPECT_EQ(client.session.QueuedBytesForTest(id), kInitialStreamWindowBytes / 2);
  Pump(client, server);
  EXPECT_EQ(server.received[id].size(), kInitialStreamWindowBytes * 3 / 2);

  server.reads_immediately = true;
  ASSERT_TRUE(
      server.session.Consume(id, server.received[id].size() - kInitialStreamWindowBytes / 2).ok());
  Pump(client, server);
  EXPECT_TRUE(server.received[id] == data);
  EXPECT_FALSE(server.session.Consume(id, 1).ok());  // more than was delivered
}

TEST(YamuxSessionTest, StreamsBeyondTheCapAreRefusedWithRst) {
  YamuxLimits limits;
  limits.max_inbound_streams = 2;
  Peer client(YamuxRole::kClient);
  Peer server(YamuxRole::kServer, limits);
  ASSERT_EQ(client.session.OpenStream().value(), 1u);
  ASSERT_EQ(client.session.OpenStream().value(), 3u);
  ASSERT_EQ(client.session.OpenStream().value(), 5u);
  Deliver(server, client.session.TakeOutput(), Ms(0));
  EXPECT_EQ(CountEvents(server, Kind::kStreamOpened), 2);
  EXPECT_EQ(server.session.stream_count(), 2u);
  const std::string refusal = server.session.TakeOutput();
  EXPECT_EQ(Hex(refusal), "000100080000000500000000");
  Deliver(client, refusal, Ms(0));
  EXPECT_EQ(CountEvents(client, Kind::kStreamReset, 5), 1);
  EXPECT_FALSE(client.session.HasStream(5));
  // Late data for the refused stream is dropped quietly.
  Deliver(server, Frame(FrameType::kData, 0, 5, 3) + "abc", Ms(0));
  EXPECT_FALSE(server.session.failed());

  // Once a stream is gone there is room again.
  ASSERT_TRUE(client.session.Reset(1).ok());
  ASSERT_EQ(client.session.OpenStream().value(), 7u);
  Pump(client, server);
  EXPECT_EQ(CountEvents(server, Kind::kStreamOpened, 7), 1);
  EXPECT_EQ(CountEvents(client, Kind::kStreamReset, 7), 0);
}

TEST(YamuxSessionTest, OverflowingTheWindowIsAProtocolError) {
  Peer server(YamuxRole::kServer);
  server.reads_immediately = false;
  Deliver(server, Frame(FrameType::kData, kFlagSyn, 1, kInitialStreamWindowBytes), Ms(0));
  Deliver(server, std::string(kInitialStreamWindowBytes, 'x'), Ms(0));
  EXPECT_EQ(server.received[1].size(), kInitialStreamWindowBytes);
  EXPECT_FALSE(server.session.failed());
  server.session.TakeOutput();

  Deliver(server, Frame(FrameType::kData, 0, 1, 1) + "y", Ms(0));
  EXPECT_TRUE(server.session.failed());
  ASSERT_FALSE(server.events.empty());
  EXPECT_EQ(server.events.back().kind, Kind::kSessionError);
  EXPECT_EQ(Hex(server.session.TakeOutput()), "000300000000000000000001");
  // A failed session ignores input and refuses commands.
  EXPECT_TRUE(server.session.Feed(Frame(FrameType::kPing, kFlagSyn, 0, 1), Ms(0)).empty());
  EXPECT_EQ(server.session.TakeOutput(), "");
  EXPECT_FALSE(server.session.OpenStream().ok());
}

TEST(YamuxSessionTest, AReceiveWindowBeyondTheInitialOneIsGrantedWithTheFirstFrame) {
  constexpr uint32_t kWindow = 4 * kInitialStreamWindowBytes;
  YamuxLimits limits;
  limits.receive_window = kWindow;
  // Our own stream: the SYN carries the extra window.
  YamuxSession client = Session(YamuxRole::kClient, limits);
  ASSERT_EQ(client.OpenStream().value(), 1u);
  EXPECT_EQ(Hex(client.TakeOutput()), "0001000100000001000c0000");
  // The peer's stream: an ACK with the extra window goes out at once.
  Peer server(YamuxRole::kServer, limits);
  server.reads_immediately = false;
  Deliver(server, Frame(FrameType::kWindowUpdate, kFlagSyn, 1, 0), Ms(0));
  EXPECT_EQ(Hex(server.session.TakeOutput()), "0001000200000001000c0000");
  // The peer may now send the whole window, in one frame, before we read.
  Deliver(server, Frame(FrameType::kData, 0, 1, kWindow) + std::string(kWindow, 'w'), Ms(0));
  EXPECT_EQ(server.received[1].size(), kWindow);
  EXPECT_FALSE(server.session.failed());
  EXPECT_EQ(server.session.buffered_bytes(), 0u);
  // Half the window read grants it again.
  ASSERT_TRUE(server.session.Consume(1, kWindow / 2).ok());
  EXPECT_EQ(Hex(server.session.TakeOutput()), "000100000000000100080000");
  Deliver(server,
          Frame(FrameType::kData, 0, 1, kWindow / 2 + 1) + std::string(kWindow / 2 + 1, 'z'),
          Ms(0));
  EXPECT_TRUE(server.session.failed());  // one byte past the window

  limits.receive_window = kInitialStreamWindowBytes - 1;
  EXPECT_FALSE(YamuxSession::Create(YamuxRole::kClient, limits).ok());
  limits.receive_window = kMaxStreamWindowBytes + 1;
  EXPECT_FALSE(YamuxSession::Create(YamuxRole::kClient, limits).ok());
}

TEST(YamuxSessionTest, BufferedBytesCountThePartialFrameAndTheQueues) {
  Peer client(YamuxRole::kClient);
  const uint32_t id = client.session.OpenStream().value();
  EXPECT_EQ(client.session.buffered_bytes(), 12u);  // the SYN, not taken yet
  client.session.TakeOutput();
  ASSERT_TRUE(client.session.Write(id, std::string(kInitialStreamWindowBytes + 100, 'q')).ok());
  EXPECT_EQ(client.session.queued_bytes(), 100u);
  client.session.TakeOutput();
  EXPECT_EQ(client.session.buffered_bytes(), 100u);
  Deliver(client, Frame(FrameType::kData, 0, 2, 10).substr(0, 7), Ms(0));  // half a header
  EXPECT_EQ(client.session.buffered_bytes(), 107u);
}

TEST(YamuxSessionTest, DataFrameLargerThanAnyWindowFailsAtItsHeader) {
  YamuxSession server = Session(YamuxRole::kServer);
  std::vector<YamuxEvent> events =
      server.Feed(Frame(FrameType::kData, kFlagSyn, 1, kInitialStreamWindowBytes + 1), Ms(0));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::kSessionError);
  EXPECT_EQ(Hex(server.TakeOutput()), "000300000000000000000001");
}

TEST(YamuxSessionTest, PeerViolationsAreProtocolErrors) {
  const std::vector<std::string> violations = {
      Frame(FrameType::kData, kFlagSyn, 2, 0),  // the server's parity from the client
      Frame(FrameType::kData, 0, 0, 0),         // data on stream 0
      Frame(FrameType::kData, 0, 9, 0),         // stream never opened
      Frame(FrameType::kPing, kFlagSyn, 1, 0),  // ping on a stream
      Frame(FrameType::kPing, 0, 0, 0),         // ping without SYN or ACK
      Frame(FrameType::kGoAway, 0, 3, 0),       // GoAway on a stream
      Frame(FrameType::kData, kFlagSyn, 1, 0) + Frame(FrameType::kData, kFlagSyn, 1, 0),
      Frame(FrameType::kData, kFlagSyn, 1, 0) +
          Frame(FrameType::kWindowUpdate, 0, 1, 0xffffffff),  // window past 2^32-1
      Frame(FrameType::kData, kFlagSyn | kFlagFin, 1, 0) + Frame(FrameType::kData, 0, 1, 1) +
          "z",  // data after FIN
      Bytes("010000000000000100000000"),
  };
  for (const std::string& bytes : violations) {
    YamuxSession server = Session(YamuxRole::kServer);
    std::vector<YamuxEvent> events = server.Feed(bytes, Ms(0));
    ASSERT_FALSE(events.empty()) << Hex(bytes);
    EXPECT_EQ(events.back().kind, Kind::kSessionError) << Hex(bytes);
    EXPECT_TRUE(server.failed());
    const std::string output = server.TakeOutput();
    ASSERT_GE(output.size(), kYamuxHeaderBytes);
    EXPECT_EQ(Hex(output.substr(output.size() - kYamuxHeaderBytes)), "000300000000000000000001");
  }
}

TEST(YamuxSessionTest, PingRoundTripReportsRtt) {
  Peer client(YamuxRole::kClient);
  Peer server(YamuxRole::kServer);
  ASSERT_TRUE(client.session.Ping(Ms(1000)).ok());
  const std::string ping = client.session.TakeOutput();
  EXPECT_EQ(Hex(ping), "000200010000000000000001");
  Deliver(server, ping, Ms(1010));
  EXPECT_TRUE(server.events.empty());
  const std::string pong = server.session.TakeOutput();
  EXPECT_EQ(Hex(pong), "000200020000000000000001");
  Deliver(client, pong, Ms(1025));
  ASSERT_EQ(client.events.size(), 1u);
  EXPECT_EQ(client.events[0].kind, Kind::kPingAnswered);
  EXPECT_EQ(client.events[0].rtt, Duration::Milliseconds(25));
  // A repeated or unsolicited answer is ignored.
  Deliver(client, pong, Ms(1030));
  EXPECT_EQ(client.events.size(), 1u);
  EXPECT_FALSE(client.session.failed());
}

TEST(YamuxSessionTest, OutstandingPingsAreBounded) {
  YamuxLimits limits;
  limits.max_outstanding_pings = 2;
  YamuxSession client = Session(YamuxRole::kClient, limits);
  EXPECT_TRUE(client.Ping(Ms(0)).ok());
  EXPECT_TRUE(client.Ping(Ms(0)).ok());
  EXPECT_EQ(client.Ping(Ms(0)).code(), absl::StatusCode::kResourceExhausted);
}

TEST(YamuxSessionTest, FinHalfClosesOneDirection) {
  Peer client(YamuxRole::kClient);
  Peer server(YamuxRole::kServer);
  const uint32_t id = client.session.OpenStream().value();
  ASSERT_TRUE(client.session.Write(id, "request").ok());
  ASSERT_TRUE(client.session.CloseWrite(id).ok());
  const std::string frames = client.session.TakeOutput();
  // SYN window update, the data, then an empty data frame with FIN.
  EXPECT_EQ(Hex(frames),
            "000100010000000100000000"
            "000000000000000100000007" +
                Hex("request") + "000000040000000100000000");
  EXPECT_EQ(client.session.Write(id, "more").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(client.session.CloseWrite(id).code(), absl::StatusCode::kFailedPrecondition);
  Deliver(server, frames, Ms(0));
  EXPECT_EQ(CountEvents(server, Kind::kStreamHalfClosed, id), 1);
  EXPECT_EQ(server.received[id], "request");

  // The other direction still works.
  ASSERT_TRUE(server.session.Write(id, "response").ok());
  Pump(client, server);
  EXPECT_EQ(client.received[id], "response");
  EXPECT_TRUE(server.session.HasStream(id));
  ASSERT_TRUE(server.session.CloseWrite(id).ok());
  EXPECT_FALSE(server.session.HasStream(id));  // closed both ways
  Pump(client, server);
  EXPECT_EQ(CountEvents(client, Kind::kStreamHalfClosed, id), 1);
  EXPECT_FALSE(client.session.HasStream(id));
  EXPECT_EQ(client.session.stream_count(), 0u);
  EXPECT_EQ(server.session.stream_count(), 0u);
}

TEST(YamuxSessionTest, FinWaitsForQueuedDataAndRidesOnTheLastFrame) {
  Peer client(YamuxRole::kClient);
  Peer server(YamuxRole::kServer);
  const uint32_t id = client.session.OpenStream().value();
  const std::string data = Pattern(kInitialStreamWindowBytes + 100, 3);
  ASSERT_TRUE(client.session.Write(id, data).ok());
  ASSERT_TRUE(client.session.CloseWrite(id).ok());
  Deliver(server, client.session.TakeOutput(), Ms(0));
  EXPECT_EQ(CountEvents(server, Kind::kStreamHalfClosed, id), 0);
  Pump(client, server);
  EXPECT_EQ(CountEvents(server, Kind::kStreamHalfClosed, id), 1);
  EXPECT_TRUE(server.received[id] == data);
  // The FIN came on the frame with the last 100 bytes, after every data event.
  ASSERT_GE(server.events.size(), 2u);
  EXPECT_EQ(server.events.back().kind, Kind::kStreamHalfClosed);
  EXPECT_EQ(server.events[server.events.size() - 2].data.size(), 100u);
}

TEST(YamuxSessionTest, ResetDropsTheStreamOnBothSides) {
  Peer client(YamuxRole::kClient);
  Peer server(YamuxRole::kServer);
  const uint32_t id = client.session.OpenStream().value();
  ASSERT_TRUE(client.session.Write(id, Pattern(size_t{2} * kInitialStreamWindowBytes, 1)).ok());
  Deliver(server, client.session.TakeOutput(), Ms(0));
  ASSERT_TRUE(server.session.Write(id, "in flight").ok());
  const std::string in_flight = server.session.TakeOutput();

  ASSERT_TRUE(client.session.Reset(id).ok());
  EXPECT_FALSE(client.session.HasStream(id));
  EXPECT_EQ(client.session.QueuedBytesForTest(id), 0u);
  const std::string reset = client.session.TakeOutput();
  EXPECT_EQ(Hex(reset), "000100080000000100000000");
  EXPECT_EQ(client.session.Write(id, "x").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client.session.Reset(id).code(), absl::StatusCode::kNotFound);

  // Frames the server sent before it saw the RST are dropped without error.
  Deliver(client, in_flight, Ms(0));
  EXPECT_FALSE(client.session.failed());
  EXPECT_EQ(client.received[id], "");

  Deliver(server, reset, Ms(0));
  EXPECT_EQ(CountEvents(server, Kind::kStreamReset, id), 1);
  EXPECT_FALSE(server.session.HasStream(id));
  EXPECT_EQ(server.session.Write(id, "x").code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(server.session.Consume(id, 5).ok());  // a stream that is gone ignores reads
}

TEST(YamuxSessionTest, GoAwayStopsNewStreamsBothWays) {
  Peer client(YamuxRole::kClient);
  Peer server(YamuxRole::kServer);
  const uint32_t id = client.session.OpenStream().value();
  Pump(client, server);
  ASSERT_TRUE(server.session.GoAway(GoAwayCode::kNormal).ok());
  EXPECT_EQ(server.session.GoAway(GoAwayCode::kNormal).code(),
            absl::StatusCode::kFailedPrecondition);
  const std::string go_away = server.session.TakeOutput();
  EXPECT_EQ(Hex(go_away), "000300000000000000000000");
  Deliver(client, go_away, Ms(0));
  ASSERT_EQ(CountEvents(client, Kind::kGoAwayReceived), 1);
  EXPECT_EQ(client.events.back().go_away_code, GoAwayCode::kNormal);
  EXPECT_EQ(client.session.OpenStream().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(server.session.OpenStream().status().code(), absl::StatusCode::kFailedPrecondition);
  // Existing streams carry on.
  ASSERT_TRUE(client.session.Write(id, "still here").ok());
  Pump(client, server);
  EXPECT_EQ(server.received[id], "still here");
  // A SYN that crossed the GoAway is refused.
  Deliver(server, Frame(FrameType::kWindowUpdate, kFlagSyn, 3, 0), Ms(0));
  EXPECT_EQ(Hex(server.session.TakeOutput()), "000100080000000300000000");

  YamuxSession other = Session(YamuxRole::kClient);
  ASSERT_TRUE(other.GoAway(GoAwayCode::kInternalError).ok());
  EXPECT_EQ(Hex(other.TakeOutput()), "000300000000000000000002");
  std::vector<YamuxEvent> events =
      Session(YamuxRole::kServer).Feed(Bytes("000300000000000000000001"), Ms(0));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].go_away_code, GoAwayCode::kProtocolError);
}

TEST(YamuxSessionTest, WriteQueueIsBounded) {
  YamuxLimits limits;
  limits.max_queued_bytes_per_stream = 1000;
  limits.max_queued_bytes_per_session = 1500;
  YamuxSession client = Session(YamuxRole::kClient, limits);
  const uint32_t a = client.OpenStream().value();
  const uint32_t b = client.OpenStream().value();
  // Fill both windows so that further writes queue.
  ASSERT_TRUE(client.Write(a, std::string(kInitialStreamWindowBytes, 'a')).ok());
  ASSERT_TRUE(client.Write(b, std::string(kInitialStreamWindowBytes, 'b')).ok());
  EXPECT_TRUE(client.Write(a, std::string(1000, 'a')).ok());
  EXPECT_EQ(client.Write(a, "1").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(client.Write(b, std::string(501, 'b')).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(client.Write(b, std::string(500, 'b')).ok());
  EXPECT_EQ(client.QueuedBytesForTest(a), 1000u);
  EXPECT_EQ(client.QueuedBytesForTest(b), 500u);
  // Resetting gives the session budget back.
  ASSERT_TRUE(client.Reset(a).ok());
  EXPECT_TRUE(client.Write(b, std::string(500, 'b')).ok());
}

TEST(YamuxSessionTest, UnacknowledgedOutboundStreamsAreBounded) {
  YamuxLimits limits;
  limits.max_unacked_outbound_streams = 2;
  Peer client(YamuxRole::kClient, limits);
  Peer server(YamuxRole::kServer);
  const uint32_t first = client.session.OpenStream().value();
  ASSERT_TRUE(client.session.OpenStream().ok());
  EXPECT_EQ(client.session.OpenStream().status().code(), absl::StatusCode::kResourceExhausted);
  Pump(client, server);
  ASSERT_TRUE(server.session.Write(first, "ack").ok());  // carries the ACK
  Pump(client, server);
  EXPECT_TRUE(client.session.OpenStream().ok());
}

TEST(YamuxSessionTest, CreateChecksLimits) {
  YamuxLimits limits;
  limits.max_data_frame_bytes = 0;
  EXPECT_FALSE(YamuxSession::Create(YamuxRole::kClient, limits).ok());
  limits.max_data_frame_bytes = kInitialStreamWindowBytes + 1;
  EXPECT_FALSE(YamuxSession::Create(YamuxRole::kClient, limits).ok());
}

// A client's output covering every frame kind, for the chunking test.
std::string ClientTranscript() {
  YamuxSession client = Session(YamuxRole::kClient);
  const uint32_t a = client.OpenStream().value();
  const uint32_t b = client.OpenStream().value();
  EXPECT_TRUE(client.Write(a, Pattern(40000, 5)).ok());
  EXPECT_TRUE(client.Write(b, "short").ok());
  EXPECT_TRUE(client.Ping(Ms(0)).ok());
  EXPECT_TRUE(client.CloseWrite(a).ok());
  EXPECT_TRUE(client.Reset(b).ok());
  std::string transcript = client.TakeOutput();
  transcript += Frame(FrameType::kWindowUpdate, kFlagSyn, 5, 1000);
  transcript += Frame(FrameType::kData, 0, 5, 3) + "end";
  transcript += Frame(FrameType::kGoAway, 0, 0, 0);
  transcript += Frame(FrameType::kData, 0, 0, 0);  // ends in a protocol error
  return transcript;
}

TEST(YamuxSessionTest, OneByteAtATimeGivesTheSameEventsAsWholeInput) {
  const std::string transcript = ClientTranscript();
  YamuxSession whole = Session(YamuxRole::kServer);
  std::vector<YamuxEvent> whole_events = whole.Feed(transcript, Ms(0));
  ASSERT_GE(whole_events.size(), 8u);
  EXPECT_EQ(whole_events.back().kind, Kind::kSessionError);

  YamuxSession bytewise = Session(YamuxRole::kServer);
  std::vector<YamuxEvent> bytewise_events;
  for (char c : transcript) {
    for (YamuxEvent& event : bytewise.Feed(absl::string_view(&c, 1), Ms(0))) {
      bytewise_events.push_back(std::move(event));
    }
  }
  EXPECT_TRUE(whole_events == bytewise_events);
  EXPECT_EQ(whole.TakeOutput(), bytewise.TakeOutput());
}

TEST(YamuxSessionTest, GarbageNeverCrashes) {
  SplitMix64 rng(0x79616d7578);
  for (int iteration = 0; iteration < 3000; ++iteration) {
    std::string input;
    const size_t frames = rng.Below(12);
    for (size_t f = 0; f < frames; ++f) {
      if (rng.Below(4) == 0) {
        // Raw noise.
        const size_t length = rng.Below(40);
        for (size_t i = 0; i < length; ++i) input.push_back(static_cast<char>(rng.NextByte()));
        continue;
      }
      // A plausible header: valid version and type, small ids, mostly small lengths.
      const auto type = static_cast<FrameType>(rng.Below(4));
      const auto flags = static_cast<uint16_t>(rng.Below(16));
      const auto id = static_cast<uint32_t>(rng.Below(8));
      const uint32_t length = rng.Below(8) == 0 ? static_cast<uint32_t>(rng.Next())
                                                : static_cast<uint32_t>(rng.Below(64));
      input += Frame(type, flags, id, length);
      if (type == FrameType::kData && length < 64) {
        for (uint32_t i = 0; i < length; ++i) input.push_back(static_cast<char>(rng.NextByte()));
      }
    }
    const YamuxRole role = rng.Below(2) == 0 ? YamuxRole::kClient : YamuxRole::kServer;
    YamuxLimits limits;
    limits.max_inbound_streams = static_cast<uint32_t>(rng.Below(4));
    YamuxSession session = Session(role, limits);
    size_t position = 0;
    bool error_seen = false;
    while (position < input.size()) {
      const size_t chunk = 1 + rng.Below(32);
      const absl::string_view piece = absl::string_view(input).substr(position, chunk);
      position += piece.size();
      for (const YamuxEvent& event : session.Feed(piece, Ms(static_cast<int64_t>(position)))) {
        if (event.kind == Kind::kSessionError) {
          EXPECT_FALSE(error_seen);
          error_seen = true;
        }
        if (event.kind == Kind::kData && !session.failed()) {
          EXPECT_TRUE(session.Consume(event.stream_id, event.data.size()).ok());
        }
      }
      // The application pokes at the session between chunks.
      if (rng.Below(4) == 0) (void)session.Write(static_cast<uint32_t>(rng.Below(8)), "x");
      if (rng.Below(8) == 0) (void)session.OpenStream();
      if (rng.Below(8) == 0) (void)session.Reset(static_cast<uint32_t>(rng.Below(8)));
      session.TakeOutput();
    }
    EXPECT_EQ(error_seen, session.failed());
    EXPECT_LE(session.stream_count(), 3u + limits.max_outbound_streams);
  }
}

}  // namespace
}  // namespace connmgr::mux
