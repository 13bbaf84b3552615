#include "shell/event_lines.h"

#include <variant>

#include "absl/strings/str_cat.h"
#include "core/printable.h"

namespace connmgr::shell {

std::optional<std::string> EventLine(const HostEvent& event) {
  if (const auto* c = std::get_if<PeerConnected>(&event)) {
    return absl::StrCat("connected ", c->peer.ToString());
  }
  if (const auto* d = std::get_if<PeerDisconnected>(&event)) {
    return absl::StrCat("disconnected ", d->peer.ToString());
  }
  if (const auto* p = std::get_if<ConnectionsPruned>(&event)) {
    return absl::StrCat("pruned ", p->pruned.size(), " connections (", p->open, " open, target ",
                        p->target, ")");
  }
  if (const auto* i = std::get_if<IdentifyEvent>(&event)) {
    return absl::StrCat("identify ", i->peer.ToString(), ": \"", Printable(i->info.agent_version),
                        "\", ", i->info.protocols.size(), " protocols");
  }
  return std::nullopt;
}

std::string DialResultLine(const Multiaddr& address, const DialResult& result) {
  std::string line =
      absl::StrCat("dial ", address.ToString(), ": ", DialOutcomeName(result.outcome));
  if (!result.detail.empty()) absl::StrAppend(&line, " (", Printable(result.detail), ")");
  return line;
}

}  // namespace connmgr::shell
