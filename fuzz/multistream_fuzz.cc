// Fuzzes multistream-select: the bytes, cut into chunks at the positions the first bytes pick,
// go to a dialer and to a listener. Nothing may crash; output stays bounded; a finished
// negotiation stays finished.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_check.h"
#include "shell/mux/multistream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = 1 + data[0] % 64;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto dialer = connmgr::mux::MultistreamDialer::Create({"/noise", "/tls/1.0.0"}).value();
  auto listener = connmgr::mux::MultistreamListener::Create({"/yamux/1.0.0", "/noise"}).value();
  size_t output = dialer.TakeOutput().size() + listener.TakeOutput().size();
  for (size_t at = 0; at < input.size(); at += chunk) {
    const std::string piece = input.substr(at, chunk);
    dialer.Feed(piece);
    listener.Feed(piece);
    output += dialer.TakeOutput().size() + listener.TakeOutput().size();
    FUZZ_CHECK(output <= 4 * (input.size() + 64), "output grows faster than input");
  }
  if (dialer.state() == connmgr::mux::NegotiationState::kSelected) {
    FUZZ_CHECK(dialer.selected_protocol() == "/noise" || dialer.selected_protocol() == "/tls/1.0.0",
               "selected a protocol never proposed");
  }
  return 0;
}
