// ConnectionGater: an embedder's own veto at each stage a connection passes.
//
//   class NoBadPeers : public connmgr::ConnectionGater {
//     std::optional<std::string> DenySecured(Direction, const PeerId& peer,
//                                            const Multiaddr&) override {
//       if (reputation_.Below(peer, -10)) return "reputation below -10";
//       return std::nullopt;
//     }
//   };
//   auto core = connmgr::Core::Create(config, std::make_shared<NoBadPeers>());
//
// Each hook returns nullopt to let the connection go on, or a short rule text that the core puts
// in the `connection_gated` event ("gater: <text>"). The built-in rules (deny list, allow-only
// mode, denied peers) run before the gater. Hooks must be deterministic functions of their
// arguments and the embedder's own state for traces to replay: a replay without the same gater
// gives different outputs. Hooks must not call back into the Core.
#ifndef CONNMGR_CORE_GATER_H_
#define CONNMGR_CORE_GATER_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "core/multiaddr.h"
#include "core/peer_id.h"
#include "core/types.h"

namespace connmgr {

// Where a connection was stopped. Names are stable (trace format).
enum class GateStage : uint8_t {
  kDialPeer,     // before dialling a peer at all
  kDialAddress,  // before dialling one of its addresses
  kAccept,       // an inbound socket, remote address known
  kSecured,      // the security handshake named the remote peer
  kUpgraded,     // the connection is fully upgraded, before it opens
  kListChange,   // a live connection fell into a newly denied range or peer
};
inline constexpr int kGateStageCount = 6;
absl::string_view GateStageName(GateStage stage);

class ConnectionGater {
 public:
  virtual ~ConnectionGater() = default;

  virtual std::optional<std::string> DenyDialPeer(const PeerId& /*peer*/) { return std::nullopt; }
  virtual std::optional<std::string> DenyDialAddress(const PeerId& /*peer*/,
                                                     const Multiaddr& /*address*/) {
    return std::nullopt;
  }
  virtual std::optional<std::string> DenyAccept(const Multiaddr& /*remote*/,
                                                const Multiaddr& /*local*/) {
    return std::nullopt;
  }
  virtual std::optional<std::string> DenySecured(Direction /*direction*/, const PeerId& /*peer*/,
                                                 const Multiaddr& /*remote*/) {
    return std::nullopt;
  }
  virtual std::optional<std::string> DenyUpgraded(Direction /*direction*/, const PeerId& /*peer*/,
                                                  const Multiaddr& /*remote*/) {
    return std::nullopt;
  }
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_GATER_H_
