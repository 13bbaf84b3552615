// JsPeer: the C++ side of peer.mjs's protocol, for interop tests. It starts a js-libp2p peer
// (interop/js/peer.mjs through the runner setup.sh prints) as a child process, writes commands
// to its stdin and collects the JSON lines it prints, read on the test's io_context.
//
//   boost::asio::io_context io;
//   JsPeer js(io, {"--seed", "1", "--listen", "/ip4/127.0.0.1/udp/0/quic-v1"});
//   js.WaitEvent("ready");                           // js.peer, js.addrs are set now
//   Json reply = js.Command("dial /ip4/127.0.0.1/udp/4001/quic-v1/p2p/12D3KooW...");
//
// A test lists js_peer.h in its srcs and //interop/js:peer_files in its data; setup.sh is found
// relative to the runfiles directory (a cc_test's working directory).
#ifndef CONNMGR_SHELL_JS_PEER_H_
#define CONNMGR_SHELL_JS_PEER_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/posix/stream_descriptor.hpp"
#include "boost/asio/read_until.hpp"
#include "boost/asio/streambuf.hpp"
#include "nlohmann/json.hpp"

namespace connmgr::shell::js_interop {

using Json = nlohmann::json;

// The runner script setup.sh prints last (installing js-libp2p the first time); empty if
// setup.sh failed (its stderr is in /tmp/connmgr-js-setup.log).
inline const std::string& JsRunner() {
  static const std::string* runner = [] {
    std::string last;
    FILE* out = popen("interop/js/setup.sh 2>/tmp/connmgr-js-setup.log", "r");
    char line[4096];
    while (out != nullptr && fgets(line, sizeof line, out) != nullptr) last = line;
    const int status = out != nullptr ? pclose(out) : -1;
    if (status != 0) last.clear();
    return new std::string(absl::StripTrailingAsciiWhitespace(last));
  }();
  return *runner;
}

// A js-libp2p peer process: commands on its stdin, JSON lines from its stdout.
class JsPeer {
 public:
  JsPeer(boost::asio::io_context& io, std::vector<std::string> args) : io_(io), out_(io) {
    int to_child[2];
    int from_child[2];
    if (pipe(to_child) != 0) return;
    if (pipe(from_child) != 0) {
      close(to_child[0]);
      close(to_child[1]);
      return;
    }
    pid_ = fork();
    if (pid_ == 0) {
      dup2(to_child[0], 0);
      dup2(from_child[1], 1);
      close(to_child[1]);
      close(from_child[0]);
      std::vector<char*> argv = {const_cast<char*>(JsRunner().c_str())};
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    in_fd_ = to_child[1];
    fcntl(in_fd_, F_SETFD, FD_CLOEXEC);
    fcntl(from_child[0], F_SETFD, FD_CLOEXEC);
    out_.assign(from_child[0]);
    ReadLine();
  }
  ~JsPeer() { Stop(); }
  JsPeer(const JsPeer&) = delete;
  JsPeer& operator=(const JsPeer&) = delete;

  // Asks the peer to stop and reaps it (SIGKILL after 5 s).
  void Stop() {
    if (pid_ <= 0) return;
    Send("stop");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      io_.restart();
      io_.run_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
    close(in_fd_);
    boost::system::error_code ignored;
    out_.close(ignored);
  }

  void Send(const std::string& command) {
    const std::string line = command + "\n";
    if (write(in_fd_, line.data(), line.size()) < 0) return;
  }

  // Runs the io_context until a line (not yet matched by an earlier wait) satisfies `match`.
  std::optional<Json> WaitFor(const std::function<bool(const Json&)>& match,
                              std::chrono::seconds limit = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      for (size_t i = 0; i < lines_.size(); ++i) {
        if (!used_[i] && match(lines_[i])) {
          used_[i] = true;
          return lines_[i];
        }
      }
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      io_.restart();
      io_.run_for(std::chrono::milliseconds(5));
    }
  }
  std::optional<Json> WaitEvent(const std::string& event,
                                std::chrono::seconds limit = std::chrono::seconds(20)) {
    return WaitFor([&](const Json& j) { return j.value("event", "") == event; }, limit);
  }
  // Sends `command` and waits for its reply ({"ok":false,"error":"no reply"} after `limit`).
  Json Command(const std::string& command, std::chrono::seconds limit = std::chrono::seconds(20)) {
    Send(command);
    const std::string word = command.substr(0, command.find(' '));
    return WaitFor([&](const Json& j) { return j.value("reply", "") == word; }, limit)
        .value_or(Json{{"ok", false}, {"error", "no reply"}});
  }

  // The first address from `ready` that contains `part` (say "/quic-v1/"), or "".
  std::string AddressWith(const std::string& part) const {
    for (const std::string& a : addrs) {
      if (absl::StrContains(a, part)) return a;
    }
    return "";
  }

  // Every line received, for failure messages.
  std::string Transcript() const {
    std::string out;
    for (const Json& j : lines_) absl::StrAppend(&out, j.dump(), "\n");
    return out;
  }

  std::string peer;                // from `ready`
  std::vector<std::string> addrs;  // from `ready`

 private:
  void ReadLine() {
    boost::asio::async_read_until(out_, buffer_, '\n',
                                  [this](const boost::system::error_code& ec, size_t n) {
                                    if (ec) return;
                                    std::string line(n, '\0');
                                    buffer_.sgetn(line.data(), static_cast<std::streamsize>(n));
                                    Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
                                    if (!j.is_discarded()) {
                                      if (j.value("event", "") == "ready") {
                                        peer = j["peer"];
                                        for (const auto& a : j["addrs"]) addrs.push_back(a);
                                      }
                                      lines_.push_back(std::move(j));
                                      used_.push_back(false);
                                    }
                                    ReadLine();
                                  });
  }

  boost::asio::io_context& io_;
  boost::asio::posix::stream_descriptor out_;
  boost::asio::streambuf buffer_;
  pid_t pid_ = -1;
  int in_fd_ = -1;
  std::vector<Json> lines_;
  std::vector<bool> used_;
};

}  // namespace connmgr::shell::js_interop

#endif  // CONNMGR_SHELL_JS_PEER_H_
