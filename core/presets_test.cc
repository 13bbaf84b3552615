#include "core/presets.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

using ::testing::HasSubstr;

TEST(PresetsTest, EveryPresetIsValidAndFoundByName) {
  for (absl::string_view name : PresetNames()) {
    absl::StatusOr<Config> config = PresetConfig(name);
    ASSERT_TRUE(config.ok()) << name << ": " << config.status();
    EXPECT_TRUE(config->Validate().ok()) << name << ": " << config->Validate();
  }
  EXPECT_EQ(PresetConfig("default").value(), Config{});
  EXPECT_EQ(PresetConfig("production").value(), ProductionPreset());
  EXPECT_EQ(PresetConfig("high_throughput").value(), HighThroughputPreset());
  EXPECT_EQ(PresetConfig("restrictive").value(), RestrictivePreset());
}

TEST(PresetsTest, AnUnknownNameListsTheKnownOnes) {
  absl::Status s = PresetConfig("prod").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("unknown preset \"prod\"; known: default, production, "
                                     "high_throughput, restrictive"));
}

TEST(PresetsTest, EachPresetHasTheShapeItsDocumentationPromises) {
  const Config production = ProductionPreset();
  EXPECT_LT(production.effective_high_watermark(), production.max_connections);
  EXPECT_LT(production.effective_low_watermark(), production.effective_high_watermark());
  EXPECT_GT(production.grace_period, Duration::Zero());
  EXPECT_GT(production.silence_period, Duration::Zero());
  EXPECT_GT(production.reconnect_jitter_percent, 0u);
  EXPECT_GT(production.max_connections_per_ipv4_32, 0u);

  const Config fast = HighThroughputPreset();
  EXPECT_GT(fast.max_connections, Config{}.max_connections);
  EXPECT_GT(fast.max_parallel_dials, Config{}.max_parallel_dials);
  EXPECT_GT(fast.max_connections_per_peer, 1u);
  EXPECT_EQ(fast.stream_placement, StreamPlacement::kLeastLoaded);

  const Config strict = RestrictivePreset();
  EXPECT_TRUE(strict.allow_only_mode);
  EXPECT_LT(strict.inbound_rate_per_ip.count, Config{}.inbound_rate_per_ip.count);
  EXPECT_LT(strict.max_incoming_pending_connections, Config{}.max_incoming_pending_connections);
  EXPECT_GT(strict.diversity_protected_connections, 0u);
}

}  // namespace
}  // namespace connmgr
