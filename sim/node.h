// One simulated node: a real connmgr::Core driven the way the shell drives it (hand in an
// input, drain every output, re-arm one timer at NextDeadline), with the outputs turned into
// the simulator's own vocabulary.
//
//   auto node = Node::Create(config, /*trace_sink=*/nullptr).value();
//   uint64_t conn = node->Inbound(now, remote_ip, remote_port, local_ip, local_port);
//   for (const NodeAction& a : node->TakeActions()) ...   // accept, dial, close, ...
//
// This file pair is the only place the simulator touches the core's input and output types,
// so a change of the core API is adapted here alone.
#ifndef CONNMGR_SIM_NODE_H_
#define CONNMGR_SIM_NODE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/core.h"
#include "core/peer_id.h"
#include "core/time.h"
#include "trace/trace_format.h"

namespace connmgr::sim {

// An IPv4 address and port, as the simulator names endpoints.
struct Endpoint {
  uint32_t ip = 0;  // host order
  uint16_t port = 0;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

std::string IpText(uint32_t ip);

// What the core asked the embedder to do (commands) or reported (events), in simulator terms.
struct NodeAction {
  enum class Kind : uint8_t {
    kAccept,       // conn: go on with the inbound connection (handshake)
    kReject,       // conn: close the inbound socket
    kClose,        // conn: close gracefully; the node reports TransportClosed itself
    kAbort,        // conn: reset; the core already counts it closed
    kDial,         // conn, endpoint, peer: dial this address for this peer
    kCancelDial,   // conn: abandon the attempt
    kResolveDns,   // query, name: answer with the records or the failure
    kResetStream,  // conn: the stream just reported was refused
    kOpened,       // conn, peer: a connection opened (event)
    kClosed,       // conn: a connection ended (event)
    kPruned,       // count: a trim chose this many connections (event)
    kDialResult,   // peer, connected: a dial request ended (event)
  };
  Kind kind;
  uint64_t conn = 0;
  Endpoint endpoint;
  PeerId peer;
  uint64_t query = 0;
  std::string name;
  uint32_t count = 0;
  bool connected = false;
  bool rejected_for_rate = false;  // kReject: the reason was a rate limit
};

class Node {
 public:
  // `trace_sink`, when set, receives the node's trace (trace/trace_format.h) line by line.
  static absl::StatusOr<std::unique_ptr<Node>> Create(const Config& config,
                                                      TraceWriter::Sink trace_sink);

  // Inputs. Each drains the core's outputs into the action list. A status the core returns
  // (misuse) is counted in `errors()`, never fatal: the simulator reports it.
  uint64_t Inbound(Instant now, Endpoint remote, Endpoint local);  // 0 if refused
  void Upgraded(Instant now, uint64_t conn, const PeerId& peer);
  void TransportClosed(Instant now, uint64_t conn);
  void DialSucceeded(Instant now, uint64_t conn);
  void DialFailed(Instant now, uint64_t conn, const std::string& error);
  void StreamOpened(Instant now, uint64_t conn, const std::string& protocol, bool inbound);
  // Asks the core to connect to `peer` at `address` (request ids are the node's own).
  void Dial(Instant now, const PeerId& peer, Endpoint address);
  // Tags `peer` keep-alive and gives the core its address, so the core keeps it connected.
  void KeepAlive(Instant now, const PeerId& peer, Endpoint address);
  void DnsAnswered(Instant now, uint64_t query, const std::vector<std::string>& records);
  void DnsLookupFailed(Instant now, uint64_t query, const std::string& error);
  void Timer(Instant now);

  std::vector<NodeAction> TakeActions() { return std::move(actions_); }
  Instant NextDeadline() const { return core_->NextDeadline(); }

  // State read by the simulator's measurements.
  uint64_t open_connections() const;
  uint64_t peers() const;
  bool IsOpen(uint64_t conn) const;
  bool IsConnectedTo(const PeerId& peer) const;
  uint64_t errors() const { return errors_; }
  uint64_t rejected() const { return rejected_; }
  uint64_t dial_requests() const { return next_request_ - 1; }

 private:
  explicit Node(std::unique_ptr<Core> core, TraceWriter::Sink sink);
  absl::StatusOr<ConnectionId> Handle(Instant now, const Input& input);

  std::unique_ptr<Core> core_;
  std::optional<TraceWriter> trace_;
  std::vector<NodeAction> actions_;
  std::vector<Output> outputs_;
  uint64_t next_request_ = 1;
  uint64_t next_stream_ = 1;  // the simulated multiplexer's stream ids
  uint64_t errors_ = 0;
  uint64_t rejected_ = 0;
};

// A deterministic, valid sha2-256 peer id for node `index` under `seed`.
PeerId SimPeerId(uint64_t seed, uint64_t index);

}  // namespace connmgr::sim

#endif  // CONNMGR_SIM_NODE_H_
