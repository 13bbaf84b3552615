#include "shell/stream_protocols.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "shell/endpoint.h"
#include "sodium.h"

namespace connmgr::shell {
namespace {

constexpr size_t kPingPayloadBytes = 32;
constexpr size_t kMaxIdentifyBytes = size_t{64} * 1024;

}  // namespace

StreamProtocols::StreamProtocols(StreamCarrier& carrier,
                                 std::shared_ptr<const Libp2pOptions> options, PeerId remote,
                                 std::function<std::optional<Multiaddr>()> observed,
                                 std::function<bool()> active)
    : carrier_(carrier),
      options_(std::move(options)),
      remote_(std::move(remote)),
      observed_(std::move(observed)),
      active_(std::move(active)) {}

uint64_t StreamProtocols::held_bytes() const {
  uint64_t held = 0;
  for (const auto& [id, st] : streams_) {
    held += st.buffer.size() + st.ping_payload.size();
    if (st.dialer) held += st.dialer->buffered_bytes();
    if (st.listener) held += st.listener->buffered_bytes();
  }
  return held;
}

bool StreamProtocols::Writable(StreamId id) const {
  auto it = streams_.find(id);
  return it != streams_.end() && it->second.selected;
}

void StreamProtocols::OnRemoteOpened(StreamId id) {
  Stream& st = streams_[id];
  st.direction = Direction::kInbound;
  st.listener.emplace(mux::MultistreamListener::Create(ServedProtocols(*options_)).value());
  const std::string out = st.listener->TakeOutput();
  if (!out.empty()) carrier_.Write(id, out);
}

void StreamProtocols::OnData(StreamId id, absl::string_view data) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  Stream& st = it->second;
  if (st.selected) return OnProtocolBytes(id, data);
  mux::MultistreamNegotiation* n =
      st.dialer ? static_cast<mux::MultistreamNegotiation*>(&*st.dialer) : &*st.listener;
  if (st.dialer) {
    st.dialer->Feed(data);
  } else {
    st.listener->Feed(data);
  }
  const std::string out = n->TakeOutput();
  if (!out.empty()) carrier_.Write(id, out);
  switch (n->state()) {
    case mux::NegotiationState::kInProgress:
      return;
    case mux::NegotiationState::kSelected: {
      st.protocol = n->selected_protocol();
      const std::string leftover = n->TakeLeftover();
      return OnSelected(id, leftover);
    }
    case mux::NegotiationState::kAllRefused:
    case mux::NegotiationState::kFailed: {
      absl::Status why = n->error().ok()
                             ? absl::UnavailableError("the peer does not speak the protocol")
                             : n->error();
      carrier_.Reset(id);
      return EndStream(id, absl::Status(why.code(), absl::StrCat("negotiate: ", why.message())));
    }
  }
}

void StreamProtocols::OnSelected(StreamId id, const std::string& leftover) {
  Stream* st = &streams_[id];
  st->selected = true;
  if (st->direction == Direction::kInbound) {
    st->role = st->protocol == kPingProtocol       ? Role::kPingServer
               : st->protocol == kIdentifyProtocol ? Role::kIdentifyServer
                                                   : Role::kApp;
  }
  st->reported = true;
  if (st->open_done) {
    // An application stream: the driver counts it when told.
    OpenDone done = std::move(st->open_done);
    done(id);
  } else if (events_ != nullptr && events_->stream_opened) {
    const std::string protocol = st->protocol;
    events_->stream_opened(id, protocol, st->direction);
  }
  auto it = streams_.find(id);  // the driver may have reset it (a stream limit)
  if (it == streams_.end() || !active_()) return;
  st = &it->second;
  switch (st->role) {
    case Role::kIdentifyServer:
      carrier_.Write(id, FramedIdentifyAnswer(*options_, observed_()));
      CloseLocal(id);
      break;
    case Role::kPingClient:
      st->ping_payload.resize(kPingPayloadBytes);
      randombytes_buf(st->ping_payload.data(), st->ping_payload.size());
      st->ping_sent = SteadyNow();
      carrier_.Write(id, st->ping_payload);
      break;
    default:
      break;
  }
  if (!leftover.empty()) OnProtocolBytes(id, leftover);
}

void StreamProtocols::OnProtocolBytes(StreamId id, absl::string_view data) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  Stream& st = it->second;
  switch (st.role) {
    case Role::kPingServer:
      absl::StrAppend(&st.buffer, data);
      while (st.buffer.size() >= kPingPayloadBytes) {
        carrier_.Write(id, absl::string_view(st.buffer).substr(0, kPingPayloadBytes));
        st.buffer.erase(0, kPingPayloadBytes);
      }
      break;
    case Role::kPingClient:
      absl::StrAppend(&st.buffer, data);
      if (st.buffer.size() >= kPingPayloadBytes) {
        const bool echoed = st.buffer.substr(0, kPingPayloadBytes) == st.ping_payload;
        PingDone done = std::move(st.ping_done);
        const Duration rtt = SteadyNow() - st.ping_sent;
        CloseLocal(id);
        if (done) {
          done(echoed ? absl::StatusOr<Duration>(rtt)
                      : absl::DataLossError("ping: the peer echoed other bytes"));
        }
      }
      break;
    case Role::kIdentifyClient:
      if (st.buffer.size() + data.size() > kMaxIdentifyBytes) {
        carrier_.Reset(id);
        return EndStream(id, absl::ResourceExhaustedError("identify: message too large"));
      }
      absl::StrAppend(&st.buffer, data);
      break;
    case Role::kIdentifyServer:
      break;
    case Role::kApp:
      if (events_ != nullptr && events_->stream_data) events_->stream_data(id, std::string(data));
      break;
  }
}

void StreamProtocols::OnRemoteClosed(StreamId id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  if (it->second.role == Role::kIdentifyClient && it->second.selected) {
    std::optional<IdentifyInfo> info = ParseFramedIdentify(it->second.buffer);
    if (info && options_->on_identify) options_->on_identify(remote_, *info);
  }
  it = streams_.find(id);
  if (it == streams_.end()) return;
  if (!it->second.local_closed) CloseLocal(id);
  EndStream(id, absl::OkStatus());
}

void StreamProtocols::OnReset(StreamId id) {
  EndStream(id, absl::AbortedError("the peer reset the stream"));
}

void StreamProtocols::CloseLocal(StreamId id) {
  auto it = streams_.find(id);
  if (it == streams_.end() || it->second.local_closed) return;
  it->second.local_closed = true;
  carrier_.CloseWrite(id);
}

void StreamProtocols::EndStream(StreamId id, const absl::Status& why) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  Stream st = std::move(it->second);
  streams_.erase(it);
  if (st.open_done) st.open_done(why.ok() ? absl::UnavailableError("stream closed") : why);
  if (st.ping_done) st.ping_done(why.ok() ? absl::UnavailableError("ping: stream closed") : why);
  if (st.reported && events_ != nullptr && events_->stream_closed) {
    events_->stream_closed(id, st.protocol, st.direction);
  }
}

void StreamProtocols::Open(const std::string& protocol, Role role, OpenDone open_done,
                           PingDone ping_done) {
  auto fail = [&](const absl::Status& why) {
    if (open_done) open_done(why);
    if (ping_done) ping_done(why);
  };
  if (!active_()) return fail(absl::UnavailableError("the connection closed"));
  absl::StatusOr<mux::MultistreamDialer> dialer = mux::MultistreamDialer::Create({protocol});
  if (!dialer.ok()) return fail(dialer.status());
  absl::StatusOr<StreamId> id = carrier_.Open();
  if (!id.ok()) return fail(id.status());
  Stream& st = streams_[*id];
  st.direction = Direction::kOutbound;
  st.role = role;
  st.dialer.emplace(*std::move(dialer));
  st.open_done = std::move(open_done);
  st.ping_done = std::move(ping_done);
  carrier_.Write(*id, st.dialer->TakeOutput());
}

void StreamProtocols::Ping(PingDone done) {
  Open(kPingProtocol, Role::kPingClient, nullptr,
       [this, done = std::move(done)](absl::StatusOr<Duration> rtt) {
         if (rtt.ok()) round_trip_ = *rtt;
         if (done) done(rtt);
       });
}

void StreamProtocols::FailAll() {
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, st] : streams) {
    if (st.open_done) st.open_done(absl::UnavailableError("the connection closed"));
    if (st.ping_done) st.ping_done(absl::UnavailableError("the connection closed"));
  }
}

}  // namespace connmgr::shell
