// multistream-select 1.0.0 without I/O: the dialer proposes protocols in order, the listener
// echoes the one it supports or answers "na". Each side is a state machine that is fed the
// peer's bytes in chunks of any size and produces the bytes to send back.
//
//   auto dialer = MultistreamDialer::Create({"/yamux/1.0.0", "/mplex/6.7.0"}).value();
//   send(dialer.TakeOutput());                     // header and first proposal, pipelined
//   dialer.Feed(received_bytes);
//   send(dialer.TakeOutput());                     // the next proposal after an "na"
//   if (dialer.state() == NegotiationState::kSelected) {
//     run(dialer.selected_protocol(), dialer.TakeLeftover());  // leftover is protocol data
//   }
//
// Every message is an unsigned-varint length, then UTF-8 text, then "\n"; the length counts
// the newline. Messages over kMaxMultistreamMessageBytes and anything else malformed end the
// negotiation with NegotiationState::kFailed and an error status; nothing is ever thrown.
#ifndef CONNMGR_SHELL_MUX_MULTISTREAM_H_
#define CONNMGR_SHELL_MUX_MULTISTREAM_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace connmgr::mux {

inline constexpr absl::string_view kMultistreamHeader = "/multistream/1.0.0";
inline constexpr absl::string_view kMultistreamNotAvailable = "na";
// The largest length prefix accepted or sent: text plus its newline.
inline constexpr size_t kMaxMultistreamMessageBytes = 1024;
// The dialer proposes at most this many protocols; the listener refuses the negotiation when a
// dialer tries more.
inline constexpr size_t kMaxMultistreamProposals = 64;
inline constexpr size_t kMaxMultistreamSupportedProtocols = 64;

// A protocol id either side may use: non-empty, valid UTF-8, no newline, short enough for one
// message, and not "na".
absl::Status ValidateProtocolId(absl::string_view protocol_id);

// Appends one message carrying `text`. `text` must not contain a newline and must leave room
// for it within kMaxMultistreamMessageBytes.
void AppendMultistreamMessage(absl::string_view text, std::string* out);

// Takes one message off the front of `*in` and returns its text without the newline (a view
// into `*in`'s storage). Returns std::nullopt, leaving `*in` untouched, when more bytes are
// needed; an error when the front of `*in` can never become a valid message.
absl::StatusOr<std::optional<absl::string_view>> ParseMultistreamMessage(absl::string_view* in);

enum class NegotiationState {
  kInProgress,
  kSelected,
  // Dialer only: the listener answered "na" to every proposal.
  kAllRefused,
  // Malformed input, an unexpected message, or a limit exceeded: see error().
  kFailed,
};

// What the dialer and the listener share: the input buffer and the outcome.
class MultistreamNegotiation {
 public:
  // Bytes to send to the peer, in order; empties the queue.
  std::string TakeOutput();
  NegotiationState state() const { return state_; }
  // The negotiated protocol once state() is kSelected; empty before.
  const std::string& selected_protocol() const { return selected_protocol_; }
  // Why the negotiation failed; OK unless state() is kFailed or kAllRefused.
  const absl::Status& error() const { return error_; }
  // After kSelected: the bytes that followed the final negotiation message, which belong to
  // the negotiated protocol. Bytes fed after the selection are appended here too.
  std::string TakeLeftover();
  // What the negotiation holds: unparsed input (or leftover) and output not yet taken.
  size_t buffered_bytes() const { return input_.size() + output_.size(); }

 protected:
  MultistreamNegotiation() = default;
  // Buffers `bytes` and hands each complete message to `on_message` while in progress.
  template <typename OnMessage>
  void FeedMessages(absl::string_view bytes, OnMessage on_message);
  void Select(absl::string_view protocol);
  void RefuseAll(absl::Status why);
  void Fail(absl::Status error);
  void Send(absl::string_view text) { AppendMultistreamMessage(text, &output_); }

  bool header_received_ = false;

 private:
  NegotiationState state_ = NegotiationState::kInProgress;
  std::string selected_protocol_;
  absl::Status error_;
  // While in progress: unparsed input (at most one partial message). After kSelected: the
  // protocol's bytes.
  std::string input_;
  std::string output_;
};

class MultistreamDialer : public MultistreamNegotiation {
 public:
  // `proposals`: 1 to kMaxMultistreamProposals valid protocol ids, most preferred first. The
  // header and the first proposal are queued for output at once.
  static absl::StatusOr<MultistreamDialer> Create(std::vector<std::string> proposals);

  // The listener's bytes, in chunks of any size.
  void Feed(absl::string_view bytes);

 private:
  explicit MultistreamDialer(std::vector<std::string> proposals);
  void OnMessage(absl::string_view text);

  std::vector<std::string> proposals_;
  size_t current_proposal_ = 0;
};

class MultistreamListener : public MultistreamNegotiation {
 public:
  // `supported`: up to kMaxMultistreamSupportedProtocols valid protocol ids (none means every
  // proposal is refused). The header is queued for output at once.
  static absl::StatusOr<MultistreamListener> Create(std::vector<std::string> supported);

  // The dialer's bytes, in chunks of any size.
  void Feed(absl::string_view bytes);

 private:
  explicit MultistreamListener(std::vector<std::string> supported);
  void OnMessage(absl::string_view text);

  std::vector<std::string> supported_;
  size_t proposals_received_ = 0;
};

}  // namespace connmgr::mux

#endif  // CONNMGR_SHELL_MUX_MULTISTREAM_H_
