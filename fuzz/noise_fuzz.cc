// Fuzzes what a remote sends during and after the Noise handshake: handshake messages to a
// responder and to an initiator (fixed keys), transport frames to a decoder, and the payload
// and key protobufs. Nothing may crash, and no garbage completes a handshake.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_check.h"
#include "shell/noise/handshake.h"
#include "shell/noise/identity.h"
#include "shell/noise/transport.h"

namespace {

connmgr::noise::HandshakeKeys FixedKeys(uint8_t fill) {
  connmgr::noise::HandshakeKeys keys;
  keys.static_private.fill(fill);
  keys.ephemeral_private.fill(fill + 1);
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  connmgr::noise::Ed25519Identity::Seed seed{};
  seed.fill(7);
  const auto identity = connmgr::noise::Ed25519Identity::FromSeed(seed);

  auto responder = connmgr::noise::Handshake::Responder(identity, FixedKeys(1));
  (void)responder.HandleReceived(input);
  (void)responder.PollSend();
  FUZZ_CHECK(!responder.done(), "garbage completed a responder's handshake");

  auto initiator = connmgr::noise::Handshake::Initiator(identity, FixedKeys(3));
  (void)initiator.PollSend();
  (void)initiator.HandleReceived(input);
  FUZZ_CHECK(!initiator.done(), "garbage completed an initiator's handshake");

  connmgr::noise::CipherState::Key key{};
  key.fill(9);
  connmgr::noise::TransportDecoder decoder{connmgr::noise::CipherState(key)};
  std::string plaintext;
  (void)decoder.Decode(input, &plaintext);
  FUZZ_CHECK(decoder.buffered_bytes() <= 2 + 65535, "decoder buffers more than one frame");

  (void)connmgr::noise::DecodeEd25519PublicKeyProtobuf(input);
  (void)connmgr::noise::PeerIdFromPublicKeyProtobuf(input);
  connmgr::noise::DhPublicKey noise_static{};
  (void)connmgr::noise::VerifyHandshakePayload(input, noise_static);
  return 0;
}
