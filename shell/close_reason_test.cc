#include "shell/close_reason.h"

#include "gtest/gtest.h"

namespace connmgr::shell {
namespace {

TEST(CloseReasonTest, AMarkedStatusCarriesItsReason) {
  for (CloseReason reason : {CloseReason::kProtocolError, CloseReason::kHandshakeFailed,
                             CloseReason::kSlowReader, CloseReason::kMemoryLimit}) {
    const absl::Status status = WithCloseReason(absl::UnavailableError("why"), reason);
    EXPECT_EQ(CloseReasonOf(status), reason) << CloseReasonName(reason);
    EXPECT_EQ(status.message(), "why");
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  }
}

TEST(CloseReasonTest, UnmarkedOrCoreReasonsAreTransport) {
  EXPECT_EQ(CloseReasonOf(absl::UnavailableError("eof")), CloseReason::kTransport);
  EXPECT_EQ(CloseReasonOf(absl::OkStatus()), CloseReason::kTransport);
  // The core's own reasons are not the transport's to report.
  EXPECT_EQ(CloseReasonOf(WithCloseReason(absl::UnknownError("x"), CloseReason::kPruned)),
            CloseReason::kTransport);
  EXPECT_TRUE(WithCloseReason(absl::OkStatus(), CloseReason::kSlowReader).ok());
}

}  // namespace
}  // namespace connmgr::shell
