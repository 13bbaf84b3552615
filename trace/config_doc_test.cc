// docs/configuration.md cannot drift from the code: every Config field has an entry whose
// default is what the JSON writer prints and whose runtime flag is what the core enforces, and
// every preset is documented.
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/presets.h"
#include "gtest/gtest.h"
#include "trace/config_json.h"

namespace connmgr {
namespace {

std::string ReadDoc() {
  std::ifstream in("docs/configuration.md");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The bullet lines under each "#### `name`" heading, by name.
std::map<std::string, std::vector<std::string>> SettingEntries(const std::string& doc) {
  std::map<std::string, std::vector<std::string>> entries;
  std::vector<std::string>* current = nullptr;
  for (absl::string_view line : absl::StrSplit(doc, '\n')) {
    if (absl::StartsWith(line, "#### `") && absl::EndsWith(line, "`")) {
      std::string name(line.substr(6, line.size() - 7));
      EXPECT_FALSE(entries.contains(name)) << "documented twice: " << name;
      current = &entries[name];
    } else if (absl::StartsWith(line, "#")) {
      current = nullptr;
    } else if (current != nullptr && absl::StartsWith(line, "- ")) {
      current->emplace_back(line);
    }
  }
  return entries;
}

// The value of the "- Key: value" line, or "" when there is none.
std::string Field(const std::vector<std::string>& lines, absl::string_view key) {
  const std::string prefix = absl::StrCat("- ", key, ": ");
  for (const std::string& line : lines) {
    if (absl::StartsWith(line, prefix)) return line.substr(prefix.size());
  }
  return "";
}

TEST(ConfigDocTest, EveryFieldHasAnEntryWithItsDefaultAndRuntimeFlag) {
  const std::string doc = ReadDoc();
  ASSERT_FALSE(doc.empty()) << "docs/configuration.md is missing";
  const auto entries = SettingEntries(doc);
  const nlohmann::ordered_json defaults = ConfigToJson(Config{});
  Config config;
  int fields = 0;
  VisitConfigFields(config, [&](const char* name, const auto&) {
    ++fields;
    auto it = entries.find(name);
    if (it == entries.end()) {
      ADD_FAILURE() << name << " has no \"#### `" << name << "`\" entry in docs/configuration.md";
      return;
    }
    for (const char* key :
         {"Type", "Unit", "Range", "Effect", "Agrees with", "js-libp2p", "go-libp2p"}) {
      EXPECT_NE(Field(it->second, key), "") << name << ": no \"- " << key << ":\" line";
    }
    EXPECT_EQ(Field(it->second, "Default"), absl::StrCat("`", defaults[name].dump(), "`"))
        << name << ": the documented default is not the default";
    EXPECT_EQ(Field(it->second, "Runtime"), IsRuntimeChangeable(name) ? "yes" : "no")
        << name << ": the documented runtime flag is not what UpdateConfig enforces";
  });
  EXPECT_EQ(static_cast<int>(entries.size()), fields)
      << "docs/configuration.md documents a setting Config does not have";
}

TEST(ConfigDocTest, EveryPresetIsDocumented) {
  const std::string doc = ReadDoc();
  for (absl::string_view name : PresetNames()) {
    EXPECT_TRUE(absl::StrContains(doc, absl::StrCat("### Preset `", name, "`")))
        << "preset " << name << " has no \"### Preset `" << name << "`\" section";
  }
}

}  // namespace
}  // namespace connmgr
