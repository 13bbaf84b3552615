// Writes a deterministic churn workload for bench/js_compare (README.md there) as JSON Lines.
//
//   churn_trace --out=/tmp/churn.jsonl [--inputs=1000000] [--peers=10000] [--seed=1]
//               [--max_connections=300]
//
// The file is read by churn_core.cc (connmgr's core) and churn_js.mjs (js-libp2p's connection
// manager). It is not a connmgr trace (docs/trace-format.md): it lists peers once and refers to
// them by index, so both readers parse it the same simple way.
//
//   {"churn_trace":1,"inputs":N,"peers":P,"seed":S,"max_connections":300}
//   {"peer":0,"id":"Qm...","addr":"/ip4/11.0.0.1/tcp/4001"}           (P lines)
//   {"t":T,"in":"inbound","conn":C,"peer":I}     a socket from peer I's address was accepted
//   {"t":T,"in":"upgraded","conn":C,"peer":I}    that inbound connection finished its upgrade
//   {"t":T,"in":"outbound","conn":C,"peer":I}    a dialled connection to peer I opened
//   {"t":T,"in":"closed","conn":C}               the remote closed connection C
//   {"t":T,"in":"tag","peer":I,"tag":NAME,"value":V}   set peer I's tag NAME to V
//   {"t":T,"in":"untag","peer":I,"tag":NAME}           remove it
//
// T is nanoseconds (1 ms apart on average), C numbers connections from 0 in the order they
// appear. Exactly N input lines follow the peer lines.
//
// The generator keeps its own view of the connections it opened and did not close; it cannot
// see rejections or prunes (those depend on the manager), so some later inputs name a connection
// a manager already dropped and the runners skip them, as an embedder would. Each peer has at
// most 2 connections (pending or open) in that view and a single IP of its own, so neither
// side's per-peer or per-IP limits fire; the view's size is steered towards 1.2 ×
// max_connections so the managers sit at their limit and prune steadily.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/peer_id.h"
#include "core/random.h"

namespace connmgr {
namespace {

struct Options {
  std::string out;
  uint64_t inputs = 1'000'000;
  uint64_t peers = 10'000;
  uint64_t seed = 1;
  uint64_t max_connections = 300;
};

bool ParseFlag(absl::string_view arg, absl::string_view name, uint64_t* value) {
  const std::string prefix = absl::StrCat("--", name, "=");
  if (arg.substr(0, prefix.size()) != prefix) return false;
  if (!absl::SimpleAtoi(arg.substr(prefix.size()), value)) {
    std::fprintf(stderr, "churn_trace: bad value in %s\n", std::string(arg).c_str());
    std::exit(2);
  }
  return true;
}

// A sha2-256-shaped multihash (0x12 0x20 + 32 bytes) derived from the peer's index: a "Qm..."
// peer id that both connmgr's PeerId and js-libp2p's peerIdFromString accept.
std::string PeerText(uint64_t index, uint64_t seed) {
  std::string multihash = {'\x12', '\x20'};
  for (uint64_t word = 0; word < 4; ++word) {
    const uint64_t bits = Mix64(seed ^ Mix64(index * 4 + word + 1));
    for (int i = 7; i >= 0; --i) multihash.push_back(static_cast<char>(bits >> (8 * i)));
  }
  return PeerId::FromBytes(multihash).value().ToString();
}

// A public IPv4 address per peer: 11.0.0.0/8 onwards, never .0 or .255 in the last byte.
std::string PeerAddr(uint64_t index) {
  const uint64_t host = 11ull * (1 << 24) + (index / 250) * 256 + index % 250 + 1;
  return absl::StrCat("/ip4/", (host >> 24) & 255, ".", (host >> 16) & 255, ".", (host >> 8) & 255,
                      ".", host & 255, "/tcp/4001");
}

struct Conn {
  uint64_t id;
  uint64_t peer;
};

int Run(const Options& opt) {
  std::FILE* out = std::fopen(opt.out.c_str(), "w");
  if (out == nullptr) {
    std::fprintf(stderr, "churn_trace: cannot write %s\n", opt.out.c_str());
    return 1;
  }
  std::fprintf(out,
               "{\"churn_trace\":1,\"inputs\":%llu,\"peers\":%llu,\"seed\":%llu,"
               "\"max_connections\":%llu}\n",
               static_cast<unsigned long long>(opt.inputs),
               static_cast<unsigned long long>(opt.peers),
               static_cast<unsigned long long>(opt.seed),
               static_cast<unsigned long long>(opt.max_connections));
  for (uint64_t p = 0; p < opt.peers; ++p) {
    std::fprintf(out, "{\"peer\":%llu,\"id\":\"%s\",\"addr\":\"%s\"}\n",
                 static_cast<unsigned long long>(p), PeerText(p, opt.seed).c_str(),
                 PeerAddr(p).c_str());
  }

  SplitMix64 rng(opt.seed);
  const char* const kTags[] = {"app", "kad-dht", "score"};
  const double target = 1.2 * static_cast<double>(opt.max_connections);
  std::vector<Conn> open;     // the generator's view: opened, not closed by it
  std::vector<Conn> pending;  // inbound, not yet upgraded
  std::vector<uint8_t> per_peer(opt.peers, 0);
  std::vector<uint8_t> peer_tags(opt.peers, 0);  // bit i: kTags[i] set
  uint64_t next_conn = 0;
  int64_t t = 1'000'000'000;

  // A peer with room for one more connection in the view (a few tries, then any peer; with
  // at most 2 × 1.2 × max_connections slots taken this is practically always found).
  auto pick_peer = [&]() {
    uint64_t p = rng.Below(opt.peers);
    for (int i = 0; i < 16 && per_peer[p] >= 2; ++i) p = rng.Below(opt.peers);
    return p;
  };
  auto take = [&](std::vector<Conn>& v) {
    const size_t i = rng.Below(v.size());
    Conn c = v[i];
    v[i] = v.back();
    v.pop_back();
    return c;
  };

  for (uint64_t n = 0; n < opt.inputs; ++n) {
    t += 500'000 + static_cast<int64_t>(rng.Below(1'000'001));  // 0.5–1.5 ms
    // Weights out of 100: opens 40 (inbound 25, outbound 15), upgrades follow inbounds,
    // closes 40 × (view / target)^4, tags 20 (set 16, remove 4).
    const double fill = static_cast<double>(open.size()) / target;
    const uint64_t close_w =
        open.empty() ? 0 : static_cast<uint64_t>(std::lround(40.0 * std::pow(fill, 4)));
    const uint64_t upgrade_w = pending.empty() ? 0 : (pending.size() >= 6 ? 1000 : 25);
    const uint64_t weights[] = {25, upgrade_w, 15, close_w, 16, 4};
    uint64_t total = 0;
    for (uint64_t w : weights) total += w;
    uint64_t r = rng.Below(total);
    int kind = 0;
    while (r >= weights[kind]) r -= weights[kind++];

    switch (kind) {
      case 0: {  // inbound
        const uint64_t p = pick_peer();
        ++per_peer[p];
        pending.push_back({next_conn, p});
        std::fprintf(out, "{\"t\":%lld,\"in\":\"inbound\",\"conn\":%llu,\"peer\":%llu}\n",
                     static_cast<long long>(t), static_cast<unsigned long long>(next_conn++),
                     static_cast<unsigned long long>(p));
        break;
      }
      case 1: {  // upgraded
        const Conn c = take(pending);
        open.push_back(c);
        std::fprintf(out, "{\"t\":%lld,\"in\":\"upgraded\",\"conn\":%llu,\"peer\":%llu}\n",
                     static_cast<long long>(t), static_cast<unsigned long long>(c.id),
                     static_cast<unsigned long long>(c.peer));
        break;
      }
      case 2: {  // outbound
        const uint64_t p = pick_peer();
        ++per_peer[p];
        open.push_back({next_conn, p});
        std::fprintf(out, "{\"t\":%lld,\"in\":\"outbound\",\"conn\":%llu,\"peer\":%llu}\n",
                     static_cast<long long>(t), static_cast<unsigned long long>(next_conn++),
                     static_cast<unsigned long long>(p));
        break;
      }
      case 3: {  // closed by the remote
        const Conn c = take(open);
        --per_peer[c.peer];
        std::fprintf(out, "{\"t\":%lld,\"in\":\"closed\",\"conn\":%llu}\n",
                     static_cast<long long>(t), static_cast<unsigned long long>(c.id));
        break;
      }
      case 4: {  // set a tag: half the time on a peer in the view, else on any peer
        const uint64_t p = (!open.empty() && rng.Below(2) == 0) ? open[rng.Below(open.size())].peer
                                                                : rng.Below(opt.peers);
        const uint64_t tag = rng.Below(3);
        peer_tags[p] |= static_cast<uint8_t>(1u << tag);
        std::fprintf(out,
                     "{\"t\":%lld,\"in\":\"tag\",\"peer\":%llu,\"tag\":\"%s\",\"value\":%llu}\n",
                     static_cast<long long>(t), static_cast<unsigned long long>(p), kTags[tag],
                     static_cast<unsigned long long>(rng.Below(101)));
        break;
      }
      default: {  // remove a tag the peer has (or any tag name: removing a missing one is a no-op)
        const uint64_t p = (!open.empty() && rng.Below(2) == 0) ? open[rng.Below(open.size())].peer
                                                                : rng.Below(opt.peers);
        uint64_t tag = rng.Below(3);
        for (uint64_t i = 0; i < 3; ++i) {
          if (peer_tags[p] & (1u << ((tag + i) % 3))) {
            tag = (tag + i) % 3;
            break;
          }
        }
        peer_tags[p] &= static_cast<uint8_t>(~(1u << tag));
        std::fprintf(out, "{\"t\":%lld,\"in\":\"untag\",\"peer\":%llu,\"tag\":\"%s\"}\n",
                     static_cast<long long>(t), static_cast<unsigned long long>(p), kTags[tag]);
        break;
      }
    }
  }
  if (std::fclose(out) != 0) {
    std::fprintf(stderr, "churn_trace: error writing %s\n", opt.out.c_str());
    return 1;
  }
  std::fprintf(stderr, "churn_trace: %llu inputs over %llu peers, %llu connections -> %s\n",
               static_cast<unsigned long long>(opt.inputs),
               static_cast<unsigned long long>(opt.peers),
               static_cast<unsigned long long>(next_conn), opt.out.c_str());
  return 0;
}

}  // namespace
}  // namespace connmgr

int main(int argc, char** argv) {
  connmgr::Options opt;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg.substr(0, 6) == "--out=") {
      opt.out = std::string(arg.substr(6));
    } else if (!connmgr::ParseFlag(arg, "inputs", &opt.inputs) &&
               !connmgr::ParseFlag(arg, "peers", &opt.peers) &&
               !connmgr::ParseFlag(arg, "seed", &opt.seed) &&
               !connmgr::ParseFlag(arg, "max_connections", &opt.max_connections)) {
      std::fprintf(stderr, "churn_trace: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (opt.out.empty() || opt.peers == 0 || opt.max_connections == 0) {
    std::fprintf(stderr,
                 "usage: churn_trace --out=FILE [--inputs=N] [--peers=P] [--seed=S] "
                 "[--max_connections=M]\n");
    return 2;
  }
  return connmgr::Run(opt);
}
