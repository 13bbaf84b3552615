// Attack 1 of issue 17: memory pinning by upgraded peers that never read. Each of 20 attackers
// opens 17 ping streams, sends 1.25 MiB on each (the node echoes it), never grants window and
// never reads from TCP, then floods Yamux pings. Before the fix one such connection held about
// 30 MB of the node's memory and nothing closed it.
//
// The node's config bounds it: a system memory budget of 64 MiB (the bound the test asserts, so
// the ledger itself caps what the shell may reserve), 2 MiB per connection (32 connections fit
// that budget), the default 1 MiB send cap and 5 s slow-reader timeout. The test asserts that
// the process's resident memory grows by at most 64 MiB over its baseline (the attackers' own
// buffers included) and that every attacking connection is closed as slow_reader or
// memory_limit within 30 s. It prints what it measured.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "shell/attack/attacker.h"
#include "shell/attack/node_under_attack.h"

namespace connmgr::shell::attack {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

constexpr int kAttackers = 20;
constexpr uint32_t kStreamsPerAttacker = 17;
constexpr size_t kBytesPerStream = size_t{5} * 256 * 1024;  // 1.25 MiB
constexpr size_t kFrameBytes = size_t{16} * 1024;
constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kRssBoundBytes = 64 * kMiB;

// Under AddressSanitizer the resident size is mostly the sanitizer's (freed memory held in
// quarantine, shadow memory): only the memory the core accounted is checked then.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kRssMeansOurMemory = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kRssMeansOurMemory = false;
#else
constexpr bool kRssMeansOurMemory = true;
#endif
#else
constexpr bool kRssMeansOurMemory = true;
#endif

// A field of /proc/self/status ("VmRSS", "VmHWM") in bytes.
uint64_t ProcStatusBytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, field + ":")) continue;
    rest = absl::StripAsciiWhitespace(absl::StripSuffix(absl::StripAsciiWhitespace(rest), "kB"));
    uint64_t kib = 0;
    if (absl::SimpleAtoi(rest, &kib)) return kib * 1024;
  }
  return 0;
}

Deadline In(milliseconds d) { return steady_clock::now() + d; }

double Mib(uint64_t bytes) { return static_cast<double>(bytes) / static_cast<double>(kMiB); }

// One attacker's script: which frame of which stream it sends next.
struct Script {
  std::unique_ptr<Attacker> attacker;
  size_t next_frame = 0;  // over all streams, stream-major
  uint32_t next_ping = 1;
  uint64_t sent = 0;               // bytes the socket took, at the last look
  steady_clock::time_point moved;  // when that last grew
  // The node stopped taking its bytes a second ago.
  bool Stuck(steady_clock::time_point now) {
    if (attacker->sent_bytes() != sent) {
      sent = attacker->sent_bytes();
      moved = now;
    }
    return now - moved > seconds(1);
  }
};

TEST(MemoryPinningTest, PinningConnectionsAreClosedAndMemoryStaysBounded) {
  Config config;
  config.max_connections = 32;
  config.system_scope.memory_bytes = kRssBoundBytes;
  config.connection_memory_bytes = 2 * kMiB;
  NodeUnderAttack node(config);

  const uint64_t baseline = ProcStatusBytes("VmRSS");
  uint64_t peak_rss = baseline;
  uint64_t peak_reserved = 0;
  auto sample = [&] {
    peak_rss = std::max(peak_rss, ProcStatusBytes("VmRSS"));
    peak_reserved =
        std::max(peak_reserved, node.Run([](Host& h) { return h.GetMetrics().memory_bytes; }));
  };

  std::vector<Script> scripts(kAttackers);
  const auto start = steady_clock::now();
  for (int i = 0; i < kAttackers; ++i) {
    AttackerOptions options;
    options.seed = static_cast<uint8_t>(i + 1);
    options.source_ip = "127.0.2." + std::to_string(i + 1);
    auto attacker = Attacker::Connect(node.address(), node.peer(), options);
    ASSERT_TRUE(attacker.ok()) << attacker.status();
    scripts[i].attacker = *std::move(attacker);
    for (uint32_t s = 0; s < kStreamsPerAttacker; ++s) {
      ASSERT_TRUE(scripts[i].attacker->OpenStream(2 * s + 1, kPingProtocol, In(seconds(2))));
    }
  }

  // Echo load: 1.25 MiB on each ping stream, in 16 KiB frames, round robin over the attackers,
  // each sending while the node takes its bytes. Bounded: 8 s.
  const size_t frames_per_attacker = kStreamsPerAttacker * (kBytesPerStream / kFrameBytes);
  const std::string payload(kFrameBytes, 'p');
  const auto load_end = steady_clock::now() + seconds(8);
  for (Script& script : scripts) script.moved = steady_clock::now();
  for (bool busy = true; busy && steady_clock::now() < load_end;) {
    busy = false;
    for (Script& script : scripts) {
      if (script.Stuck(steady_clock::now()) || script.next_frame == frames_per_attacker) continue;
      busy = true;
      if (script.attacker->unsent_bytes() > 0 && !script.attacker->Flush(In(milliseconds(2)))) {
        continue;
      }
      for (int k = 0; k < 4 && script.next_frame < frames_per_attacker; ++k) {
        const uint32_t stream =
            2 * static_cast<uint32_t>(script.next_frame / (kBytesPerStream / kFrameBytes)) + 1;
        ++script.next_frame;
        if (!script.attacker->Send(DataFrame(stream, payload), In(milliseconds(2)))) break;
      }
    }
    sample();
  }
  // Ping flood: as many Yamux pings as each connection takes, for 2 s.
  const auto pings_end = steady_clock::now() + seconds(2);
  while (steady_clock::now() < pings_end) {
    for (Script& script : scripts) {
      if (script.attacker->unsent_bytes() > 0 && !script.attacker->Flush(In(milliseconds(1)))) {
        continue;
      }
      std::string pings;
      for (int k = 0; k < 1000; ++k) {
        pings += YamuxFrame(mux::FrameType::kPing, mux::kFlagSyn, 0, script.next_ping++);
      }
      script.attacker->Send(pings, In(milliseconds(1)));
    }
    sample();
  }

  // Every attacking connection ends, as a slow reader or for want of memory: within 30 s.
  bool all_closed = false;
  while (steady_clock::now() < start + seconds(30)) {
    sample();
    all_closed = node.closes().size() == kAttackers;
    if (all_closed) break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  const auto pinned_at = pings_end;  // every attacker had stopped reading long before
  const auto closed_after = node.last_close().value_or(steady_clock::now()) - start;
  const uint64_t hwm = ProcStatusBytes("VmHWM");
  const uint64_t reserved_after = node.Run([](Host& h) { return h.GetMetrics().memory_bytes; });

  std::printf(
      "memory pinning: %d attackers x %u streams; closed %zu, the last %.1f s after the attack "
      "began (%.1f s after the ping flood ended); RSS baseline %.1f MiB, peak sampled +%.1f MiB, "
      "high-water mark +%.1f MiB; connmgr_memory_bytes peak %.1f MiB, %llu after\n",
      kAttackers, kStreamsPerAttacker, node.closes().size(),
      std::chrono::duration<double>(closed_after).count(),
      std::chrono::duration<double>(start + closed_after - pinned_at).count(), Mib(baseline),
      Mib(peak_rss - baseline), Mib(hwm - std::min(hwm, baseline)), Mib(peak_reserved),
      static_cast<unsigned long long>(reserved_after));

  EXPECT_TRUE(all_closed) << node.closes().size() << " of " << kAttackers << " closed";
  for (const auto& [id, reason] : node.closes()) {
    EXPECT_TRUE(reason == CloseReason::kSlowReader || reason == CloseReason::kMemoryLimit)
        << "connection " << id << " closed as " << CloseReasonName(reason);
  }
  if (kRssMeansOurMemory) {
    EXPECT_LE(peak_rss - baseline, kRssBoundBytes);
    EXPECT_LE(hwm - std::min(hwm, baseline), kRssBoundBytes);
  }
  EXPECT_GT(peak_reserved, 0u);  // the shell reserved what it held
  EXPECT_LE(peak_reserved, config.system_scope.memory_bytes);
  EXPECT_EQ(reserved_after, 0u);  // and released all of it
}

}  // namespace
}  // namespace connmgr::shell::attack
