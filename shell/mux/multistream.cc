#include "shell/mux/multistream.h"

#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/encoding.h"

namespace connmgr::mux {
namespace {

// Rejects overlong forms, surrogates and code points past U+10FFFF.
bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const uint8_t lead = static_cast<uint8_t>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t continuation_bytes = 0;
    uint32_t code_point = 0;
    uint32_t smallest = 0;
    if ((lead & 0xE0) == 0xC0) {
      continuation_bytes = 1;
      code_point = lead & 0x1F;
      smallest = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      continuation_bytes = 2;
      code_point = lead & 0x0F;
      smallest = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      continuation_bytes = 3;
      code_point = lead & 0x07;
      smallest = 0x10000;
    } else {
      return false;
    }
    if (text.size() - i - 1 < continuation_bytes) return false;
    for (size_t k = 1; k <= continuation_bytes; ++k) {
      const uint8_t byte = static_cast<uint8_t>(text[i + k]);
      if ((byte & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (byte & 0x3F);
    }
    if (code_point < smallest || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return false;
    }
    i += 1 + continuation_bytes;
  }
  return true;
}

}  // namespace

absl::Status ValidateProtocolId(absl::string_view protocol_id) {
  if (protocol_id.empty()) return absl::InvalidArgumentError("empty protocol id");
  if (protocol_id.size() + 1 > kMaxMultistreamMessageBytes) {
    return absl::InvalidArgumentError(absl::StrCat("protocol id of ", protocol_id.size(),
                                                   " bytes does not fit a ",
                                                   kMaxMultistreamMessageBytes, "-byte message"));
  }
  if (protocol_id.find('\n') != absl::string_view::npos) {
    return absl::InvalidArgumentError("protocol id contains a newline");
  }
  if (!IsValidUtf8(protocol_id)) return absl::InvalidArgumentError("protocol id is not UTF-8");
  if (protocol_id == kMultistreamNotAvailable) {
    return absl::InvalidArgumentError("\"na\" is the refusal, not a protocol id");
  }
  return absl::OkStatus();
}

void AppendMultistreamMessage(absl::string_view text, std::string* out) {
  AppendUvarint(text.size() + 1, out);
  out->append(text.data(), text.size());
  out->push_back('\n');
}

absl::StatusOr<std::optional<absl::string_view>> ParseMultistreamMessage(absl::string_view* in) {
  // kMaxMultistreamMessageBytes < 2^14, so a valid length prefix is one or two varint bytes.
  static_assert(kMaxMultistreamMessageBytes < (size_t{1} << 14));
  if (in->empty()) return std::nullopt;
  const uint8_t first = static_cast<uint8_t>((*in)[0]);
  size_t prefix_bytes = 1;
  size_t length = first;
  if (first & 0x80) {
    if (in->size() < 2) return std::nullopt;
    const uint8_t second = static_cast<uint8_t>((*in)[1]);
    if (second & 0x80) {
      return absl::InvalidArgumentError(
          absl::StrCat("message length over ", kMaxMultistreamMessageBytes, " bytes"));
    }
    if (second == 0) return absl::InvalidArgumentError("length prefix is not minimal");
    prefix_bytes = 2;
    length = (first & 0x7Fu) | (size_t{second} << 7);
  }
  if (length == 0) return absl::InvalidArgumentError("empty message (no newline)");
  if (length > kMaxMultistreamMessageBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("message of ", length, " bytes is over ", kMaxMultistreamMessageBytes));
  }
  if (in->size() < prefix_bytes + length) return std::nullopt;
  absl::string_view message = in->substr(prefix_bytes, length);
  if (message.back() != '\n') return absl::InvalidArgumentError("message does not end in \\n");
  message.remove_suffix(1);
  if (message.find('\n') != absl::string_view::npos) {
    return absl::InvalidArgumentError("message contains a newline before its end");
  }
  if (!IsValidUtf8(message)) return absl::InvalidArgumentError("message is not UTF-8");
  in->remove_prefix(prefix_bytes + length);
  return message;
}

std::string MultistreamNegotiation::TakeOutput() { return std::exchange(output_, {}); }

std::string MultistreamNegotiation::TakeLeftover() {
  if (state_ != NegotiationState::kSelected) return {};
  return std::exchange(input_, {});
}

template <typename OnMessage>
void MultistreamNegotiation::FeedMessages(absl::string_view bytes, OnMessage on_message) {
  if (state_ == NegotiationState::kSelected) {
    input_.append(bytes.data(), bytes.size());
    return;
  }
  if (state_ != NegotiationState::kInProgress) return;
  input_.append(bytes.data(), bytes.size());
  absl::string_view unparsed = input_;
  while (state_ == NegotiationState::kInProgress) {
    absl::StatusOr<std::optional<absl::string_view>> message = ParseMultistreamMessage(&unparsed);
    if (!message.ok()) {
      Fail(message.status());
      break;
    }
    if (!message->has_value()) break;
    on_message(**message);  // may end the negotiation; never touches input_
  }
  if (state_ == NegotiationState::kInProgress || state_ == NegotiationState::kSelected) {
    input_.erase(0, input_.size() - unparsed.size());
  } else {
    input_.clear();
  }
}

void MultistreamNegotiation::Select(absl::string_view protocol) {
  state_ = NegotiationState::kSelected;
  selected_protocol_ = std::string(protocol);
}

void MultistreamNegotiation::RefuseAll(absl::Status why) {
  state_ = NegotiationState::kAllRefused;
  error_ = std::move(why);
}

void MultistreamNegotiation::Fail(absl::Status error) {
  state_ = NegotiationState::kFailed;
  error_ = std::move(error);
}

absl::StatusOr<MultistreamDialer> MultistreamDialer::Create(std::vector<std::string> proposals) {
  if (proposals.empty()) return absl::InvalidArgumentError("no protocol to propose");
  if (proposals.size() > kMaxMultistreamProposals) {
    return absl::InvalidArgumentError(absl::StrCat(proposals.size(), " proposals, at most ",
                                                   kMaxMultistreamProposals, " allowed"));
  }
  for (const std::string& proposal : proposals) {
    if (absl::Status status = ValidateProtocolId(proposal); !status.ok()) return status;
  }
  return MultistreamDialer(std::move(proposals));
}

MultistreamDialer::MultistreamDialer(std::vector<std::string> proposals)
    : proposals_(std::move(proposals)) {
  Send(kMultistreamHeader);
  Send(proposals_.front());
}

void MultistreamDialer::Feed(absl::string_view bytes) {
  FeedMessages(bytes, [this](absl::string_view text) { OnMessage(text); });
}

void MultistreamDialer::OnMessage(absl::string_view text) {
  if (!header_received_) {
    if (text != kMultistreamHeader) {
      Fail(absl::InvalidArgumentError(
          absl::StrCat("listener sent header \"", text, "\", not ", kMultistreamHeader)));
      return;
    }
    header_received_ = true;
    return;
  }
  if (text == proposals_[current_proposal_]) {
    Select(text);
    return;
  }
  if (text == kMultistreamNotAvailable) {
    ++current_proposal_;
    if (current_proposal_ == proposals_.size()) {
      RefuseAll(absl::NotFoundError(
          absl::StrCat("listener refused all ", proposals_.size(), " proposals")));
      return;
    }
    Send(proposals_[current_proposal_]);
    return;
  }
  Fail(absl::InvalidArgumentError(
      absl::StrCat("listener answered \"", text, "\" to \"", proposals_[current_proposal_], "\"")));
}

absl::StatusOr<MultistreamListener> MultistreamListener::Create(
    std::vector<std::string> supported) {
  if (supported.size() > kMaxMultistreamSupportedProtocols) {
    return absl::InvalidArgumentError(absl::StrCat(supported.size(),
                                                   " supported protocols, at most ",
                                                   kMaxMultistreamSupportedProtocols, " allowed"));
  }
  for (const std::string& protocol : supported) {
    if (absl::Status status = ValidateProtocolId(protocol); !status.ok()) return status;
  }
  return MultistreamListener(std::move(supported));
}

MultistreamListener::MultistreamListener(std::vector<std::string> supported)
    : supported_(std::move(supported)) {
  Send(kMultistreamHeader);
}

void MultistreamListener::Feed(absl::string_view bytes) {
  FeedMessages(bytes, [this](absl::string_view text) { OnMessage(text); });
}

void MultistreamListener::OnMessage(absl::string_view text) {
  if (!header_received_) {
    if (text != kMultistreamHeader) {
      Fail(absl::InvalidArgumentError(
          absl::StrCat("dialer sent header \"", text, "\", not ", kMultistreamHeader)));
      return;
    }
    header_received_ = true;
    return;
  }
  if (++proposals_received_ > kMaxMultistreamProposals) {
    Fail(absl::ResourceExhaustedError(
        absl::StrCat("dialer made more than ", kMaxMultistreamProposals, " proposals")));
    return;
  }
  for (const std::string& protocol : supported_) {
    if (text == protocol) {
      Send(protocol);
      Select(protocol);
      return;
    }
  }
  Send(kMultistreamNotAvailable);
}

}  // namespace connmgr::mux
