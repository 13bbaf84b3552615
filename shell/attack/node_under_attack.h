// NodeUnderAttack: the node the attack tests attack — a libp2p Host (Noise, Yamux, ping,
// identify) listening on 127.0.0.1, on a thread of its own so that blocking attackers can run on
// the test's thread. It records every connection's close reason and the operator's log lines.
//
//   NodeUnderAttack node(config);
//   auto attacker = Attacker::Connect(node.address(), node.peer(), {}).value();
//   ...
//   uint64_t reserved = node.Run([](Host& h) { return h.GetMetrics().memory_bytes; });
#ifndef CONNMGR_SHELL_ATTACK_NODE_UNDER_ATTACK_H_
#define CONNMGR_SHELL_ATTACK_NODE_UNDER_ATTACK_H_

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/post.hpp"
#include "shell/host.h"
#include "shell/test_util.h"

namespace connmgr::shell::attack {

class NodeUnderAttack {
 public:
  explicit NodeUnderAttack(Config config, uint8_t seed = 200) : work_(io_.get_executor()) {
    HostOptions options;
    options.config = std::move(config);
    Libp2pOptions libp2p;
    libp2p.identity = testing_util::IdentityFrom(seed);
    options.libp2p = std::move(libp2p);
    options.log = [this](absl::string_view line) {
      std::lock_guard<std::mutex> lock(mutex_);
      log_.emplace_back(line);
    };
    host_ = Host::Create(io_, std::move(options)).value();
    address_ = host_->Listen(Multiaddr::Parse("/ip4/127.0.0.1/tcp/0").value()).value();
    host_->Subscribe([this](const HostEvent& e) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (std::holds_alternative<ConnectionOpened>(e)) ++opened_;
      if (const auto* closed = std::get_if<ConnectionClosed>(&e)) {
        closes_[closed->connection.value] = closed->reason;
        last_close_ = std::chrono::steady_clock::now();
      }
    });
    thread_ = std::thread([this] { io_.run(); });
  }
  ~NodeUnderAttack();
  NodeUnderAttack(const NodeUnderAttack&) = delete;
  NodeUnderAttack& operator=(const NodeUnderAttack&) = delete;

  const Multiaddr& address() const { return address_; }
  const PeerId& peer() const { return host_->peer(); }

  // Runs `fn` with the host on the node's thread and returns what it returns.
  template <typename F>
  auto Run(F fn) {
    using Result = decltype(fn(std::declval<Host&>()));
    std::promise<Result> done;
    std::future<Result> result = done.get_future();
    boost::asio::post(io_, [&] { done.set_value(fn(*host_)); });
    return result.get();
  }

  // Connections opened, and every close reason by connection id, so far.
  size_t opened() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return opened_;
  }
  std::map<uint64_t, CloseReason> closes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return closes_;
  }
  std::vector<std::string> log() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return log_;
  }
  // When the last connection closed, if one did.
  std::optional<std::chrono::steady_clock::time_point> last_close() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_close_;
  }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<Host> host_;
  Multiaddr address_;
  std::thread thread_;
  mutable std::mutex mutex_;
  size_t opened_ = 0;
  std::map<uint64_t, CloseReason> closes_;
  std::optional<std::chrono::steady_clock::time_point> last_close_;
  std::vector<std::string> log_;
};

inline NodeUnderAttack::~NodeUnderAttack() {
  Run([](Host& h) {
    h.Close();
    return 0;
  });
  work_.reset();
  io_.stop();
  thread_.join();
  // The host goes on this thread, after its io_context stopped.
  host_.reset();
}

}  // namespace connmgr::shell::attack

#endif  // CONNMGR_SHELL_ATTACK_NODE_UNDER_ATTACK_H_
