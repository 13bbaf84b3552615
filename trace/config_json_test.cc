#include "trace/config_json.h"

#include <string>

#include "core/presets.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

TEST(ConfigJsonTest, EmptyObjectGivesDefaults) {
  absl::StatusOr<Config> c = ParseConfigJson("{}");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c, Config{});
}

TEST(ConfigJsonTest, EveryFieldRoundTrips) {
  Config c;
  c.max_connections = 1000;
  c.max_inbound_connections = 700;
  c.low_watermark = 800;
  c.high_watermark = 900;
  c.grace_period = Duration::Seconds(20);
  c.silence_period = Duration::Milliseconds(1500);
  c.closable_protocols = {"/a/1", "/b/2"};
  c.system_scope.connections = 2000;
  c.peer_scope.streams_inbound = 64;
  c.dial_strategy = DialStrategy::kRanked;
  c.stream_placement = StreamPlacement::kLeastLoaded;
  c.allow_list = {IpPrefix::Parse("10.0.0.0/8").value(), IpPrefix::Parse("::1").value()};
  c.deny_list = {IpPrefix::Parse("2001:db8::/32").value()};
  c.denied_peers = {PeerId::Parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").value()};
  c.inbound_rate_global = {100, Duration::Seconds(1), 200};
  c.black_hole_detection = false;
  c.random_seed = 0xFFFFFFFFFFFFFFFFull;
  c.reconnect_max_wait = Duration::Infinite();
  ASSERT_TRUE(c.Validate().ok()) << c.Validate();
  const std::string text = ConfigToJson(c).dump();
  absl::StatusOr<Config> back = ParseConfigJson(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, c);
  EXPECT_EQ(ConfigToJson(*back).dump(), text);
}

TEST(ConfigJsonTest, WritesEveryFieldByName) {
  nlohmann::ordered_json j = ConfigToJson(Config{});
  EXPECT_EQ(j["max_connections"], 300);
  EXPECT_EQ(j["dial_timeout"], "10s");
  EXPECT_EQ(j["ranked_public_delay"], "250ms");
  EXPECT_EQ(j["reconnect_max_wait"], "5m");
  EXPECT_EQ(j["grace_period"], "0");
  EXPECT_EQ(j["dial_strategy"], "sequential");
  EXPECT_EQ(j["inbound_rate_per_ip"].dump(), R"({"count":5,"interval":"1s","burst":5})");
  size_t fields = 0;
  const Config defaults;
  VisitConfigFields(defaults, [&](const char*, const auto&) { ++fields; });
  EXPECT_EQ(j.size(), fields);
}

struct BadConfig {
  std::string json;
  std::string message;
};

class ConfigJsonErrorTest : public testing::TestWithParam<BadConfig> {};

TEST_P(ConfigJsonErrorTest, NamesKeyAndRule) {
  absl::StatusOr<Config> c = ParseConfigJson(GetParam().json);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Errors, ConfigJsonErrorTest,
    testing::Values(
        BadConfig{"[1]", "config: (top level): expected a JSON object"},
        BadConfig{"{",
                  "config: not valid JSON at line 1, column 2: syntax error while parsing "
                  "object key - unexpected end of input; expected string literal"},
        BadConfig{"{\n  \"max_connections\": 5,\n  \"low_watermark\" 4\n}",
                  "config: not valid JSON at line 3, column 19: syntax error while parsing "
                  "object separator - unexpected number literal; expected ':'"},
        BadConfig{R"({"max_conections": 5})",
                  "config: max_conections: unknown key; did you mean \"max_connections\"?"},
        BadConfig{R"({"frobnicate": 5})", "config: frobnicate: unknown key"},
        BadConfig{R"({"max_connections": -1})",
                  "config: max_connections: expected a non-negative integer"},
        BadConfig{R"({"max_connections": 4294967296})",
                  "config: max_connections: must be at most 4294967295"},
        BadConfig{R"({"max_connections": "300"})",
                  "config: max_connections: expected a non-negative integer"},
        BadConfig{R"({"grace_period": 5})",
                  "config: grace_period: expected a duration string such as \"10s\" or "
                  "\"250ms\""},
        BadConfig{R"({"grace_period": "5 parsecs"})",
                  "config: grace_period: \"5 parsecs\" is not a duration; use a number with a "
                  "unit: \"10s\", \"250ms\", \"1m30s\""},
        BadConfig{R"({"allow_only_mode": 1})", "config: allow_only_mode: expected true or false"},
        BadConfig{R"({"dial_strategy": "fast"})",
                  "config: dial_strategy: expected \"sequential\" or \"ranked\""},
        BadConfig{R"({"deny_list": "10.0.0.0/8"})",
                  "config: deny_list: expected an array of strings"},
        BadConfig{R"({"inbound_rate_per_ip": {"cout": 1}})",
                  "config: inbound_rate_per_ip.cout: unknown key; did you mean \"count\"?"},
        BadConfig{R"({"system_scope": {"connections": true}})",
                  "config: system_scope.connections: expected a non-negative integer"},
        BadConfig{R"({"low_watermark": 400})",
                  "config: low_watermark: must not exceed high_watermark (400 > 300)"}));

TEST(ConfigJsonTest, BadListEntryNamesItsIndex) {
  absl::StatusOr<Config> c = ParseConfigJson(R"({"deny_list": ["10.0.0.0/8", "10.0.0.0/33"]})");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), testing::StartsWith("config: deny_list[1]: "));
}

TEST(ConfigJsonTest, APresetIsTheBaseTheOtherKeysApplyTo) {
  Config expected = ProductionPreset();
  expected.max_connections = 1'000;
  EXPECT_EQ(ParseConfigJson(R"({"max_connections": 1000, "preset": "production"})").value(),
            expected);
  EXPECT_EQ(ParseConfigJson(R"({"preset": "default"})").value(), Config{});
  EXPECT_EQ(ParseConfigJson(R"({"preset": "fast"})").status().message(),
            "config: preset: unknown preset \"fast\"; known: default, production, "
            "high_throughput, restrictive");
  EXPECT_EQ(ParseConfigJson(R"({"prest": "production"})").status().message(),
            "config: prest: unknown key; did you mean \"preset\"?");
}

TEST(DurationTextTest, FormatsAndParsesUnits) {
  EXPECT_EQ(FormatDuration(Duration::Zero()), "0");
  EXPECT_EQ(FormatDuration(Duration::Nanoseconds(1)), "1ns");
  EXPECT_EQ(FormatDuration(Duration::Milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatDuration(Duration::Minutes(90)), "1h30m");
  EXPECT_EQ(FormatDuration(Duration::Infinite()), "inf");
  EXPECT_EQ(ParseDuration("250ms").value(), Duration::Milliseconds(250));
  EXPECT_EQ(ParseDuration("1m30s").value(), Duration::Seconds(90));
  EXPECT_EQ(ParseDuration("inf").value(), Duration::Infinite());
  EXPECT_EQ(ParseDuration("-1s").value(), Duration::Seconds(-1));
  EXPECT_FALSE(ParseDuration("ten seconds").ok());
  EXPECT_FALSE(ParseDuration("3000000h").ok());
}

}  // namespace
}  // namespace connmgr
