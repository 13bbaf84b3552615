// Fuzzes a Yamux session: the bytes are frames from the peer (fed to a client and a server
// session), with the application's own calls interleaved by the low bits of each chunk's first
// byte. Nothing may crash; queued bytes stay within the configured bounds.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/time.h"
#include "fuzz/fuzz_check.h"
#include "shell/mux/yamux.h"

namespace {

void Drive(connmgr::mux::YamuxRole role, const uint8_t* data, size_t size) {
  connmgr::mux::YamuxLimits limits;
  limits.max_inbound_streams = 8;
  limits.max_outbound_streams = 8;
  limits.max_queued_bytes_per_stream = size_t{64} * 1024;
  limits.max_queued_bytes_per_session = size_t{256} * 1024;
  auto session = connmgr::mux::YamuxSession::Create(role, limits).value();
  connmgr::Instant now = connmgr::Instant::FromNanoseconds(0);
  size_t at = 0;
  while (at < size) {
    const uint8_t op = data[at++];
    const size_t chunk = std::min<size_t>(size - at, 1 + (op >> 3) * 4);
    switch (op & 7) {
      case 0:
        (void)session.OpenStream();
        break;
      case 1:
        (void)session.Write(1 + (op >> 4), std::string(op, 'w'));
        break;
      case 2:
        (void)session.Consume(1 + (op >> 4), op);
        break;
      case 3:
        (void)session.Ping(now);
        break;
      default:
        break;
    }
    now = now + connmgr::Duration::Milliseconds(op);
    for (const auto& event :
         session.Feed(std::string(reinterpret_cast<const char*>(data) + at, chunk), now)) {
      FUZZ_CHECK(event.data.size() <= 256 * 1024 + 16, "one event larger than a window");
    }
    at += chunk;
    FUZZ_CHECK(session.TakeOutput().size() <= 1 << 22, "output beyond any bound");
    FUZZ_CHECK(session.stream_count() <= 16, "more streams than the limits");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Drive(connmgr::mux::YamuxRole::kClient, data, size);
  Drive(connmgr::mux::YamuxRole::kServer, data, size);
  return 0;
}
