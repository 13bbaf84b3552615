#include "shell/mux/multistream.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "core/random.h"
#include "gtest/gtest.h"

namespace connmgr::mux {
namespace {

MultistreamDialer Dialer(std::vector<std::string> proposals) {
  absl::StatusOr<MultistreamDialer> dialer = MultistreamDialer::Create(std::move(proposals));
  EXPECT_TRUE(dialer.ok()) << dialer.status();
  return *std::move(dialer);
}

MultistreamListener Listener(std::vector<std::string> supported) {
  absl::StatusOr<MultistreamListener> listener = MultistreamListener::Create(std::move(supported));
  EXPECT_TRUE(listener.ok()) << listener.status();
  return *std::move(listener);
}

// Carries each side's output to the other until both are quiet.
void Exchange(MultistreamDialer& dialer, MultistreamListener& listener) {
  for (int round = 0; round < 1000; ++round) {
    std::string to_listener = dialer.TakeOutput();
    std::string to_dialer = listener.TakeOutput();
    if (to_listener.empty() && to_dialer.empty()) return;
    listener.Feed(to_listener);
    dialer.Feed(to_dialer);
  }
  FAIL() << "negotiation never went quiet";
}

std::string Message(absl::string_view text) {
  std::string out;
  AppendMultistreamMessage(text, &out);
  return out;
}

TEST(MultistreamTest, HeaderMessageIsLengthThenTextThenNewline) {
  EXPECT_EQ(absl::BytesToHexString(Message(kMultistreamHeader)),
            "13" + absl::BytesToHexString("/multistream/1.0.0") + "0a");
  EXPECT_EQ(Message(kMultistreamHeader), "\x13/multistream/1.0.0\n");
  EXPECT_EQ(absl::BytesToHexString(Message(kMultistreamNotAvailable)), "036e610a");
}

TEST(MultistreamTest, LongMessageHasTwoByteLengthPrefix) {
  const std::string text(199, 'a');  // 200 bytes with the newline: varint c8 01
  const std::string encoded = Message(text);
  EXPECT_EQ(absl::BytesToHexString(encoded.substr(0, 2)), "c801");
  absl::string_view in = encoded;
  absl::StatusOr<std::optional<absl::string_view>> parsed = ParseMultistreamMessage(&in);
  ASSERT_TRUE(parsed.ok());
  ASSERT_TRUE(parsed->has_value());
  EXPECT_EQ(**parsed, text);
  EXPECT_TRUE(in.empty());
}

TEST(MultistreamTest, DialerSendsHeaderAndFirstProposalAtOnce) {
  MultistreamDialer dialer = Dialer({"/yamux/1.0.0", "/mplex/6.7.0"});
  EXPECT_EQ(dialer.TakeOutput(), Message(kMultistreamHeader) + Message("/yamux/1.0.0"));
  MultistreamListener listener = Listener({"/yamux/1.0.0"});
  EXPECT_EQ(listener.TakeOutput(), Message(kMultistreamHeader));
}

TEST(MultistreamTest, SupportedProtocolIsSelectedOnBothSides) {
  MultistreamDialer dialer = Dialer({"/yamux/1.0.0"});
  MultistreamListener listener = Listener({"/mplex/6.7.0", "/yamux/1.0.0"});
  Exchange(dialer, listener);
  EXPECT_EQ(dialer.state(), NegotiationState::kSelected);
  EXPECT_EQ(listener.state(), NegotiationState::kSelected);
  EXPECT_EQ(dialer.selected_protocol(), "/yamux/1.0.0");
  EXPECT_EQ(listener.selected_protocol(), "/yamux/1.0.0");
  EXPECT_TRUE(dialer.error().ok());
  EXPECT_EQ(dialer.TakeLeftover(), "");
  EXPECT_EQ(listener.TakeLeftover(), "");
}

TEST(MultistreamTest, RefusedFirstProposalThenSecondAccepted) {
  MultistreamDialer dialer = Dialer({"/noise", "/tls/1.0.0"});
  MultistreamListener listener = Listener({"/tls/1.0.0"});
  listener.Feed(dialer.TakeOutput());
  EXPECT_EQ(listener.TakeOutput(), Message(kMultistreamHeader) + Message("na"));
  EXPECT_EQ(listener.state(), NegotiationState::kInProgress);
  dialer.Feed(Message(kMultistreamHeader) + Message("na"));
  EXPECT_EQ(dialer.TakeOutput(), Message("/tls/1.0.0"));
  listener.Feed(Message("/tls/1.0.0"));
  EXPECT_EQ(listener.TakeOutput(), Message("/tls/1.0.0"));
  EXPECT_EQ(listener.state(), NegotiationState::kSelected);
  dialer.Feed(Message("/tls/1.0.0"));
  EXPECT_EQ(dialer.state(), NegotiationState::kSelected);
  EXPECT_EQ(dialer.selected_protocol(), "/tls/1.0.0");
}

TEST(MultistreamTest, AllProposalsRefused) {
  MultistreamDialer dialer = Dialer({"/a", "/b", "/c"});
  MultistreamListener listener = Listener({"/d"});
  Exchange(dialer, listener);
  EXPECT_EQ(dialer.state(), NegotiationState::kAllRefused);
  EXPECT_EQ(dialer.error().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(dialer.selected_protocol(), "");
  EXPECT_EQ(dialer.TakeLeftover(), "");
  EXPECT_EQ(listener.state(), NegotiationState::kInProgress);  // waits for the dialer to hang up
}

TEST(MultistreamTest, ListenerWithNoProtocolsRefusesEverything) {
  MultistreamDialer dialer = Dialer({"/a"});
  MultistreamListener listener = Listener({});
  Exchange(dialer, listener);
  EXPECT_EQ(dialer.state(), NegotiationState::kAllRefused);
}

TEST(MultistreamTest, LeftoverProtocolBytesArePreservedOnBothSides) {
  MultistreamDialer dialer = Dialer({"/yamux/1.0.0"});
  MultistreamListener listener = Listener({"/yamux/1.0.0"});
  // The dialer optimistically sends protocol bytes right after its proposal.
  listener.Feed(dialer.TakeOutput() + std::string("\x00\x01hello", 7));
  EXPECT_EQ(listener.state(), NegotiationState::kSelected);
  listener.Feed(" more");
  EXPECT_EQ(listener.TakeLeftover(), std::string("\x00\x01hello more", 12));
  EXPECT_EQ(listener.TakeLeftover(), "");
  // The listener's answer and its first protocol bytes arrive in one chunk.
  dialer.Feed(listener.TakeOutput() + "\x13reply");
  EXPECT_EQ(dialer.state(), NegotiationState::kSelected);
  EXPECT_EQ(dialer.TakeLeftover(), "\x13reply");
}

TEST(MultistreamTest, OneByteAtATimeMatchesWholeChunks) {
  MultistreamDialer whole_dialer = Dialer({"/x", "/y"});
  MultistreamDialer bytewise_dialer = Dialer({"/x", "/y"});
  const std::string answer = Message(kMultistreamHeader) + Message("na") + Message("/y") + "tail";
  whole_dialer.Feed(answer);
  std::string bytewise_output = bytewise_dialer.TakeOutput();
  for (char c : answer) {
    bytewise_dialer.Feed(absl::string_view(&c, 1));
    bytewise_output += bytewise_dialer.TakeOutput();
  }
  EXPECT_EQ(whole_dialer.TakeOutput(), bytewise_output);
  EXPECT_EQ(whole_dialer.state(), NegotiationState::kSelected);
  EXPECT_EQ(bytewise_dialer.state(), NegotiationState::kSelected);
  EXPECT_EQ(whole_dialer.selected_protocol(), bytewise_dialer.selected_protocol());
  EXPECT_EQ(bytewise_dialer.TakeLeftover(), "tail");
  EXPECT_EQ(whole_dialer.TakeLeftover(), "tail");

  MultistreamListener whole_listener = Listener({"/y"});
  MultistreamListener bytewise_listener = Listener({"/y"});
  const std::string proposals = Message(kMultistreamHeader) + Message("/x") + Message("/y");
  whole_listener.Feed(proposals);
  std::string bytewise_listener_output = bytewise_listener.TakeOutput();
  for (char c : proposals) {
    bytewise_listener.Feed(absl::string_view(&c, 1));
    bytewise_listener_output += bytewise_listener.TakeOutput();
  }
  EXPECT_EQ(whole_listener.TakeOutput(), bytewise_listener_output);
  EXPECT_EQ(bytewise_listener.selected_protocol(), "/y");
}

TEST(MultistreamTest, MalformedMessagesAreRefused) {
  const std::vector<std::string> malformed = {
      std::string("\x00", 1),          // empty: no newline
      std::string("\x81\x08", 2),      // 1025 bytes, over the limit
      std::string("\x80\x80\x01", 3),  // a third varint byte: far over the limit
      std::string("\x83\x00", 2),      // non-minimal varint
      "\003abc",                       // does not end in a newline
      "\004a\nb\n",                    // newline inside
      "\003\xc3\x28\n",                // invalid UTF-8
      "\004\xed\xa0\x80\n",            // UTF-16 surrogate
  };
  for (const std::string& bytes : malformed) {
    absl::string_view in = bytes;
    EXPECT_FALSE(ParseMultistreamMessage(&in).ok()) << absl::BytesToHexString(bytes);
    MultistreamListener listener = Listener({"/a"});
    listener.Feed(bytes);
    EXPECT_EQ(listener.state(), NegotiationState::kFailed) << absl::BytesToHexString(bytes);
    EXPECT_FALSE(listener.error().ok());
  }
}

TEST(MultistreamTest, IncompleteMessageWaitsForMoreBytes) {
  absl::string_view in("\x05/ab", 4);
  absl::StatusOr<std::optional<absl::string_view>> parsed = ParseMultistreamMessage(&in);
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->has_value());
  EXPECT_EQ(in.size(), 4u);
  absl::string_view half_prefix("\x81", 1);
  parsed = ParseMultistreamMessage(&half_prefix);
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->has_value());
}

TEST(MultistreamTest, WrongHeaderFailsBothSides) {
  MultistreamListener listener = Listener({"/a"});
  listener.Feed(Message("/multistream/2.0.0"));
  EXPECT_EQ(listener.state(), NegotiationState::kFailed);

  MultistreamDialer dialer = Dialer({"/a"});
  dialer.Feed(Message("/a"));  // no header first
  EXPECT_EQ(dialer.state(), NegotiationState::kFailed);
}

TEST(MultistreamTest, UnexpectedAnswerFailsDialer) {
  MultistreamDialer dialer = Dialer({"/a"});
  dialer.Feed(Message(kMultistreamHeader) + Message("/b"));
  EXPECT_EQ(dialer.state(), NegotiationState::kFailed);
  EXPECT_EQ(dialer.selected_protocol(), "");
}

TEST(MultistreamTest, ListenerRefusesMoreThanTheProposalLimit) {
  MultistreamListener listener = Listener({"/wanted"});
  std::string input = Message(kMultistreamHeader);
  for (size_t i = 0; i < kMaxMultistreamProposals; ++i) input += Message("/unsupported");
  listener.Feed(input);
  EXPECT_EQ(listener.state(), NegotiationState::kInProgress);
  listener.Feed(Message("/wanted"));
  EXPECT_EQ(listener.state(), NegotiationState::kFailed);
  EXPECT_EQ(listener.error().code(), absl::StatusCode::kResourceExhausted);
}

TEST(MultistreamTest, CreateChecksItsArguments) {
  EXPECT_FALSE(MultistreamDialer::Create({}).ok());
  EXPECT_FALSE(MultistreamDialer::Create({""}).ok());
  EXPECT_FALSE(MultistreamDialer::Create({"na"}).ok());
  EXPECT_FALSE(MultistreamDialer::Create({"/a\n"}).ok());
  EXPECT_FALSE(MultistreamDialer::Create({std::string(kMaxMultistreamMessageBytes, 'a')}).ok());
  EXPECT_TRUE(MultistreamDialer::Create({std::string(kMaxMultistreamMessageBytes - 1, 'a')}).ok());
  EXPECT_FALSE(
      MultistreamDialer::Create(std::vector<std::string>(kMaxMultistreamProposals + 1, "/a")).ok());
  EXPECT_FALSE(MultistreamListener::Create(
                   std::vector<std::string>(kMaxMultistreamSupportedProtocols + 1, "/a"))
                   .ok());
  EXPECT_FALSE(MultistreamListener::Create({"\xff"}).ok());
}

TEST(MultistreamTest, GarbageNeverCrashes) {
  SplitMix64 rng(0x6d756c7469);
  const std::string header = Message(kMultistreamHeader);
  for (int iteration = 0; iteration < 5000; ++iteration) {
    std::string garbage;
    // Half the inputs start with a valid header so the garbage reaches the proposal logic.
    if (rng.Below(2) == 0) garbage = header;
    const size_t length = rng.Below(64);
    for (size_t i = 0; i < length; ++i) {
      // Small values and newlines often, so that short well-formed messages turn up.
      const uint64_t pick = rng.Below(4);
      garbage.push_back(pick == 0   ? static_cast<char>(rng.Below(8))
                        : pick == 1 ? '\n'
                                    : static_cast<char>(rng.NextByte()));
    }
    MultistreamDialer dialer = Dialer({"/a", "/b"});
    MultistreamListener listener = Listener({"/a"});
    size_t position = 0;
    while (position < garbage.size()) {
      const size_t chunk = 1 + rng.Below(8);
      const absl::string_view piece = absl::string_view(garbage).substr(position, chunk);
      dialer.Feed(piece);
      listener.Feed(piece);
      position += piece.size();
    }
    dialer.TakeOutput();
    listener.TakeOutput();
    if (dialer.state() == NegotiationState::kSelected) {
      EXPECT_TRUE(dialer.selected_protocol() == "/a" || dialer.selected_protocol() == "/b");
    } else {
      EXPECT_EQ(dialer.selected_protocol(), "");
    }
    if (listener.state() == NegotiationState::kSelected) {
      EXPECT_EQ(listener.selected_protocol(), "/a");
    }
    EXPECT_EQ(dialer.state() == NegotiationState::kFailed, !dialer.error().ok());
  }
}

}  // namespace
}  // namespace connmgr::mux
