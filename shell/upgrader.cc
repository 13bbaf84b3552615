#include "shell/upgrader.h"

#include <array>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "boost/asio/read.hpp"
#include "boost/asio/write.hpp"
#include "shell/close_reason.h"

namespace connmgr::shell {
namespace {

// Reads and drops whatever arrives until the connection ends.
class PlaintextSession : public Session {
 public:
  explicit PlaintextSession(std::shared_ptr<boost::asio::ip::tcp::socket> socket)
      : state_(std::make_shared<State>()) {
    state_->socket = std::move(socket);
  }
  ~PlaintextSession() override { Close(); }

  void Start(Events events) override {
    state_->events = std::move(events);
    Read(state_);
  }
  // Streams are logical here: counted by the core, carrying no bytes. Closing one's write side
  // ends it.
  void OpenStream(const std::string& protocol,
                  std::function<void(absl::StatusOr<StreamId>)> done) override {
    const StreamId stream = next_stream_++;
    protocols_[stream] = protocol;
    done(stream);
  }
  absl::Status Write(StreamId, std::string) override {
    return absl::FailedPreconditionError("plaintext streams carry no bytes");
  }
  absl::Status CloseWrite(StreamId stream) override {
    auto it = protocols_.find(stream);
    if (it == protocols_.end()) return absl::NotFoundError("no such stream");
    const std::string protocol = std::move(it->second);
    protocols_.erase(it);
    if (state_->events.stream_closed) {
      state_->events.stream_closed(stream, protocol, Direction::kOutbound);
    }
    return absl::OkStatus();
  }
  void ResetStream(StreamId stream) override { protocols_.erase(stream); }
  void Close() override { state_->stopped = true; }

 private:
  struct State {
    std::shared_ptr<boost::asio::ip::tcp::socket> socket;
    Events events;
    std::array<char, 1'024> buffer;
    bool stopped = false;
  };

  static void Read(const std::shared_ptr<State>& state) {
    state->socket->async_read_some(
        boost::asio::buffer(state->buffer), [state](const boost::system::error_code& ec, size_t) {
          if (state->stopped) return;
          if (!ec) return Read(state);
          state->stopped = true;
          if (state->events.closed) {
            state->events.closed(absl::UnavailableError(absl::StrCat("read: ", ec.message())));
          }
        });
  }

  std::shared_ptr<State> state_;
  StreamId next_stream_ = 1;
  absl::flat_hash_map<StreamId, std::string> protocols_;  // open logical streams
};

constexpr char kGreeting[] = "/connmgr/plaintext/1\n";
constexpr size_t kGreetingSize = sizeof(kGreeting) - 1;

// The handshake's state, kept alive by its own pending operations.
struct Handshake : std::enable_shared_from_this<Handshake> {
  std::shared_ptr<boost::asio::ip::tcp::socket> socket;
  std::optional<PeerId> expected;
  Upgrader::Done done;
  std::string out;
  std::array<char, kGreetingSize + 1> head{};
  std::string body;
  int remaining = 2;  // the write and the read
  absl::StatusOr<PeerId> result = absl::UnknownError("handshake not finished");
  bool failed = false;

  void Start() {
    auto self = shared_from_this();
    boost::asio::async_write(*socket, boost::asio::buffer(out),
                             [self](const boost::system::error_code& ec, size_t) {
                               if (ec) self->Fail(absl::StrCat("plaintext: write: ", ec.message()));
                               self->Finish();
                             });
    boost::asio::async_read(
        *socket, boost::asio::buffer(head),
        [self](const boost::system::error_code& ec, size_t) { self->OnHead(ec); });
  }

  void OnHead(const boost::system::error_code& ec) {
    if (ec) {
      Fail(absl::StrCat("plaintext: read: ", ec.message()));
      return Finish();
    }
    if (std::string_view(head.data(), kGreetingSize) != kGreeting) {
      Fail("plaintext: the remote does not speak /connmgr/plaintext/1",
           CloseReason::kHandshakeFailed);
      return Finish();
    }
    const size_t length = static_cast<uint8_t>(head[kGreetingSize]);
    if (length == 0 || length > PeerId::kMaxMultihashBytes) {
      Fail(absl::StrCat("plaintext: peer id length ", length, " out of range"),
           CloseReason::kHandshakeFailed);
      return Finish();
    }
    body.resize(length);
    auto self = shared_from_this();
    boost::asio::async_read(
        *socket, boost::asio::buffer(body),
        [self](const boost::system::error_code& ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(const boost::system::error_code& ec) {
    if (ec) {
      Fail(absl::StrCat("plaintext: read: ", ec.message()));
      return Finish();
    }
    absl::StatusOr<PeerId> peer = PeerId::FromBytes(body);
    if (!peer.ok()) {
      Fail(absl::StrCat("plaintext: ", peer.status().message()), CloseReason::kHandshakeFailed);
    } else if (expected && *peer != *expected) {
      Fail(absl::StrCat("plaintext: dialled ", expected->ToString(), " but reached ",
                        peer->ToString()),
           CloseReason::kHandshakeFailed);
    } else if (!failed) {
      result = *std::move(peer);
    }
    Finish();
  }

  void Fail(absl::string_view why, CloseReason reason = CloseReason::kTransport) {
    if (failed) return;
    failed = true;
    result = WithCloseReason(absl::UnavailableError(why), reason);
  }

  void Finish() {
    if (--remaining > 0) return;
    if (!result.ok()) return done(result.status());
    done(Upgraded{*std::move(result), std::make_unique<PlaintextSession>(socket)});
  }
};

}  // namespace

void PlaintextUpgrader::Upgrade(std::shared_ptr<boost::asio::ip::tcp::socket> socket, Direction,
                                std::optional<PeerId> expected, ConnectionResources, Done done) {
  auto handshake = std::make_shared<Handshake>();
  handshake->socket = std::move(socket);
  handshake->expected = std::move(expected);
  handshake->done = std::move(done);
  handshake->out = absl::StrCat(kGreeting, std::string(1, static_cast<char>(local_.bytes().size())),
                                local_.bytes());
  handshake->Start();
}

}  // namespace connmgr::shell
