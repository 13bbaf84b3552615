// The lines connmgr_node prints as things happen to it: peers connecting and leaving, trims,
// identify answers, dial results. Whatever a remote peer chose (its agent version, a dial
// error quoting what it sent) goes through Printable (core/printable.h): one escaped, capped
// line per event, so a peer cannot forge lines, move the cursor or flood the terminal.
//
//   host->Subscribe([](const HostEvent& e) {
//     if (std::optional<std::string> line = EventLine(e)) std::cout << *line << "\n";
//   });
//
//   connected 12D3KooW...
//   identify 12D3KooW...: "js-libp2p/3.3.11 UserAgent=node/22", 5 protocols
//   pruned 3 connections (9 open, target 8)
//   dial /ip4/1.2.3.4/tcp/4001/p2p/12D3KooW...: failed (all 1 addresses failed; last: ...)
#ifndef CONNMGR_SHELL_EVENT_LINES_H_
#define CONNMGR_SHELL_EVENT_LINES_H_

#include <optional>
#include <string>

#include "core/multiaddr.h"
#include "core/output.h"
#include "shell/host.h"

namespace connmgr::shell {

// The line for `event`, or nothing for events the node does not print.
std::optional<std::string> EventLine(const HostEvent& event);
// The line for the result of dialling `address` (a --dial of the node's command line).
std::string DialResultLine(const Multiaddr& address, const DialResult& result);

}  // namespace connmgr::shell

#endif  // CONNMGR_SHELL_EVENT_LINES_H_
