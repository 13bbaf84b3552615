// The wire on real loopback sockets: what it reserves for what it holds, the send cap, slow
// readers, memory refusals and the flush before close. The peer is a plain socket the test
// reads from, or not.
#include "shell/wire.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/read.hpp"
#include "boost/asio/write.hpp"
#include "core/output.h"
#include "gtest/gtest.h"
#include "shell/close_reason.h"
#include "shell/test_util.h"

namespace connmgr::shell {
namespace {

using boost::asio::ip::tcp;

constexpr uint64_t kChunk = ConnectionMemory::kChunkBytes;
constexpr size_t kKiB = 1024;

// The core's side of a connection's memory: grants up to `limit`, counts what is held.
struct FakeLedger {
  uint64_t limit = UINT64_MAX;
  uint64_t held = 0;
  int reserves = 0;
  int refusals = 0;

  std::shared_ptr<ConnectionMemory> Memory() {
    ConnectionMemory::Scope scope;
    scope.reserve = [this](uint64_t bytes, uint8_t) {
      if (held + bytes > limit) {
        ++refusals;
        return false;
      }
      ++reserves;
      held += bytes;
      return true;
    };
    scope.release = [this](uint64_t bytes) { held -= bytes; };
    return std::make_shared<ConnectionMemory>(std::move(scope));
  }
};

class WireTest : public ::testing::Test {
 protected:
  // A connected pair: the wire's socket and the peer's. Small kernel buffers, so a peer that
  // does not read stops the wire's writes soon.
  void Connect(bool small_buffers = false) {
    tcp::acceptor acceptor(io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    peer_ = std::make_unique<tcp::socket>(io_);
    peer_->open(tcp::v4());
    if (small_buffers) peer_->set_option(boost::asio::socket_base::receive_buffer_size(4096));
    peer_->connect(acceptor.local_endpoint());
    ours_ = std::make_shared<tcp::socket>(io_);
    acceptor.accept(*ours_);
    if (small_buffers) ours_->set_option(boost::asio::socket_base::send_buffer_size(4096));
  }

  std::shared_ptr<Wire> MakeWire(WireLimits limits) {
    auto wire = std::make_shared<Wire>(ours_, ledger_.Memory(), limits);
    wire->SetHandlers(
        [this](absl::string_view bytes) { received_.append(bytes.data(), bytes.size()); },
        [this](absl::Status why) { ended_ = std::move(why); });
    return wire;
  }

  bool RunUntil(const std::function<bool()>& done,
                std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    return testing_util::RunUntil(io_, done, limit);
  }

  // Reads what the peer was sent until `bytes` arrived or EOF.
  std::string PeerReads(size_t bytes) {
    std::string out(bytes, '\0');
    boost::system::error_code ec;
    const size_t n = boost::asio::read(*peer_, boost::asio::buffer(out), ec);
    out.resize(n);
    return out;
  }

  boost::asio::io_context io_;
  std::unique_ptr<tcp::socket> peer_;
  std::shared_ptr<tcp::socket> ours_;
  FakeLedger ledger_;
  std::string received_;
  std::optional<absl::Status> ended_;
};

TEST_F(WireTest, ReservesWhatItQueuesBeforeWritingIt) {
  Connect();
  auto wire = MakeWire({});
  wire->Send(std::string(100 * kKiB, 'x'));
  // Before any byte reached the socket: the read buffer and the 100 KiB, in whole chunks.
  EXPECT_EQ(Wire::kReadBufferBytes + 100 * kKiB, wire->held_bytes());
  EXPECT_EQ(ledger_.held, 3 * kChunk);
  ASSERT_TRUE(RunUntil([&] { return wire->queued_bytes() == 0; }));
  EXPECT_EQ(PeerReads(100 * kKiB), std::string(100 * kKiB, 'x'));
  // Drained: the read buffer and one read's headroom (two chunks) plus the spare chunk stay.
  EXPECT_EQ(ledger_.held, 3 * kChunk);
  wire->StartReading();
  EXPECT_EQ(ledger_.held, 3 * kChunk);
  boost::asio::write(*peer_, boost::asio::buffer(std::string("hello")));
  ASSERT_TRUE(RunUntil([&] { return received_ == "hello"; }));
  EXPECT_FALSE(ended_.has_value());
}

TEST_F(WireTest, StopsReadingWhileTheSendQueueIsFullAndClosesASlowReader) {
  Connect(/*small_buffers=*/true);
  WireLimits limits;
  limits.max_send_bytes = 64 * kKiB;
  limits.slow_reader_timeout = Duration::Milliseconds(300);
  auto wire = MakeWire(limits);
  // More than any kernel buffer of this pair takes: the peer never reads.
  for (int i = 0; i < 64; ++i) wire->Send(std::string(64 * kKiB, 'q'));
  wire->StartReading();
  EXPECT_TRUE(wire->waits_for_send_queue());
  boost::asio::write(*peer_, boost::asio::buffer(std::string("ping")));
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(RunUntil([&] { return ended_.has_value(); }));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(CloseReasonOf(*ended_), CloseReason::kSlowReader) << *ended_;
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_EQ(received_, "");  // the full send queue kept it from reading
}

TEST_F(WireTest, AnIdleConnectionWhoseLastAnswerDrainedIsNoSlowReader) {
  Connect();
  WireLimits limits;
  limits.slow_reader_timeout = Duration::Milliseconds(200);
  auto wire = MakeWire(limits);
  Wire* raw = wire.get();
  // Answers every read at once, from inside the read handler, as the protocols do.
  wire->SetHandlers([raw](absl::string_view) { raw->Send("pong"); },
                    [this](absl::Status why) { ended_ = std::move(why); });
  wire->StartReading();
  auto idle = [&](std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    RunUntil([&] { return ended_.has_value() || std::chrono::steady_clock::now() >= until; });
  };
  // The peer reads each answer at once; between them, silences longer than the timeout.
  // Nothing ever waits for the socket, so nothing closes.
  for (int i = 0; i < 3; ++i) {
    boost::asio::write(*peer_, boost::asio::buffer(std::string("ping")));
    idle(std::chrono::milliseconds(50));
    EXPECT_EQ(PeerReads(4), "pong");
    idle(std::chrono::milliseconds(400));
    ASSERT_FALSE(ended_.has_value()) << "after answer " << i << ": " << *ended_;
  }
  EXPECT_EQ(wire->queued_bytes(), 0u);
}

TEST_F(WireTest, ReadingWaitsForMemoryAndResumesWhenGranted) {
  Connect();
  ledger_.limit = kChunk;  // the read buffer fits, not one read's headroom
  WireLimits limits;
  limits.slow_reader_timeout = Duration::Seconds(30);
  auto wire = MakeWire(limits);
  wire->StartReading();
  EXPECT_TRUE(wire->waits_for_memory());
  boost::asio::write(*peer_, boost::asio::buffer(std::string("data")));
  io_.run_for(std::chrono::milliseconds(250));  // retries every 100 ms, refused each time
  EXPECT_EQ(received_, "");
  EXPECT_GE(ledger_.refusals, 3);
  ledger_.limit = UINT64_MAX;
  ASSERT_TRUE(RunUntil([&] { return received_ == "data"; }, std::chrono::seconds(2)));
  EXPECT_FALSE(wire->waits_for_memory());
  EXPECT_FALSE(ended_.has_value());
}

TEST_F(WireTest, MemoryRefusedForTheTimeoutClosesWithMemoryLimit) {
  Connect();
  ledger_.limit = 0;
  WireLimits limits;
  limits.slow_reader_timeout = Duration::Milliseconds(300);
  auto wire = MakeWire(limits);
  wire->StartReading();
  ASSERT_TRUE(RunUntil([&] { return ended_.has_value(); }, std::chrono::seconds(5)));
  EXPECT_EQ(CloseReasonOf(*ended_), CloseReason::kMemoryLimit) << *ended_;
}

TEST_F(WireTest, HeldBytesTheCoreRefusesEndTheConnectionAfterTheCall) {
  Connect();
  ledger_.limit = 2 * kChunk;
  auto wire = MakeWire({});
  wire->Send(std::string(200 * kKiB, 'm'));  // 232 KiB held: four chunks, two granted
  EXPECT_FALSE(ended_.has_value());          // never inside the owner's own call
  EXPECT_TRUE(wire->stopped());
  ASSERT_TRUE(RunUntil([&] { return ended_.has_value(); }, std::chrono::seconds(2)));
  EXPECT_EQ(CloseReasonOf(*ended_), CloseReason::kMemoryLimit) << *ended_;
}

TEST_F(WireTest, AdmitWriteRefusesBeyondTheSendCap) {
  Connect(/*small_buffers=*/true);
  WireLimits limits;
  limits.max_send_bytes = 64 * kKiB;
  auto wire = MakeWire(limits);
  EXPECT_TRUE(wire->AdmitWrite(64 * kKiB).ok());
  EXPECT_EQ(wire->AdmitWrite(64 * kKiB + 1).code(), absl::StatusCode::kResourceExhausted);
  for (int i = 0; i < 64; ++i) wire->Send(std::string(64 * kKiB, 'q'));
  EXPECT_EQ(wire->AdmitWrite(1).code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(WireTest, CloseAfterFlushSendsWhatIsQueuedThenShutsTheSendingSide) {
  Connect();
  auto wire = MakeWire({});
  wire->StartReading();
  wire->Send("go-away frame");
  wire->CloseAfterFlush(
      WithCloseReason(absl::InvalidArgumentError("bad frame"), CloseReason::kProtocolError));
  ASSERT_TRUE(RunUntil([&] { return ended_.has_value(); }));
  EXPECT_EQ(CloseReasonOf(*ended_), CloseReason::kProtocolError);
  // The peer reads the bytes, then EOF: the socket is shut for sending, not reset.
  EXPECT_EQ(PeerReads(64), "go-away frame");
}

}  // namespace
}  // namespace connmgr::shell
