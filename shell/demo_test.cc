// The demo runs end to end for a few seconds and shows what it promises: table rows, refused
// sockets by reason, and the summary.
#include "shell/demo.h"

#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace connmgr::shell {
namespace {

TEST(DemoTest, ShortRunPrintsRowsRejectsAndASummary) {
  std::ostringstream out;
  DemoOptions options;
  options.length = Duration::Seconds(4);
  options.out = &out;
  ASSERT_EQ(RunDemo(options), 0) << out.str();
  const std::string text = out.str();
  int rows = 0;  // "    1.0s      2/3 ..."
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    const absl::string_view stripped = absl::StripLeadingAsciiWhitespace(line);
    const absl::string_view first = stripped.substr(0, stripped.find(' '));
    rows += !first.empty() && absl::ascii_isdigit(first[0]) && absl::EndsWith(first, "s");
  }
  EXPECT_GE(rows, 3) << text;
  EXPECT_TRUE(absl::StrContains(text, "denied=")) << text;  // the hostile range was refused
  EXPECT_TRUE(absl::StrContains(text, "summary (the hub)")) << text;
  EXPECT_TRUE(absl::StrContains(text, "keep-alive peers")) << text;
  EXPECT_TRUE(absl::StrContains(text, "idle-socket hog")) << text;
  EXPECT_TRUE(absl::StrContains(text, "slow reader")) << text;
  EXPECT_TRUE(absl::StrContains(text, "/quic-v1/p2p/")) << text;  // the hub listens on QUIC
  EXPECT_TRUE(absl::StrContains(text, "transports ")) << text;
}

}  // namespace
}  // namespace connmgr::shell
