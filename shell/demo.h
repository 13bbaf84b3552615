// The node binary's built-in demo: a few dozen nodes on loopback in one process, around one
// "hub" node under tight limits, with a live table of the hub's connections, prunes, rejects by
// reason, dials and reconnects, then a summary.
//
// The cast (each node binds its own 127.0.0.0/8 address, so per-address rules apply):
//   hub           listens on TCP and QUIC; max 12 connections, trims from 10 to 8, 2 sockets per
//   second per address,
//                 2 concurrent per address, deny list 127.0.66.0/24
//   peers         20 nodes that dial the hub (every other one over QUIC), 5 of them tagged with
//                 scores by the hub; one restarts every second (churn)
//   keep-alive    3 nodes the hub keeps connected (keep-alive tags); they stop and come back
//   hostile       4 nodes dialling from the denied range 127.0.66.0/24
//   flooder       raw sockets from 127.0.0.200, ten a second
#ifndef CONNMGR_SHELL_DEMO_H_
#define CONNMGR_SHELL_DEMO_H_

#include <ostream>

#include "core/time.h"

namespace connmgr::shell {

struct DemoOptions {
  Duration length = Duration::Seconds(20);
  std::ostream* out = nullptr;  // required
  uint64_t seed = 1;            // churn choices and the hub's reconnect jitter
};

// Runs the demo to its end; returns a process exit code.
int RunDemo(const DemoOptions& options);

}  // namespace connmgr::shell

#endif  // CONNMGR_SHELL_DEMO_H_
