// docs/metrics.md lists every metric the Prometheus exporter writes: name, type, label names and
// meaning (the HELP text). Adding, renaming or rewording a metric without the doc fails here;
// the failure prints the table as the exporter would have it.
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/metrics.h"
#include "gtest/gtest.h"
#include "shell/metrics/prometheus.h"

namespace connmgr {
namespace {

struct Family {
  std::string type;
  std::set<std::string> labels;
  std::string help;
};

std::string Row(const std::string& name, const Family& f) {
  std::vector<std::string> labels;
  for (const std::string& l : f.labels) labels.push_back(absl::StrCat("`", l, "`"));
  return absl::StrCat("| `", name, "` | ", f.type, " | ",
                      labels.empty() ? "-" : absl::StrJoin(labels, ", "), " | ", f.help, " |");
}

// The families of an exposition, in order, with the label names their samples carry.
std::vector<std::pair<std::string, Family>> Exported() {
  Metrics m;
  m.streams_by_protocol.push_back(ProtocolStreams{"/ipfs/ping/1.0.0", 1, 1});
  std::vector<std::pair<std::string, Family>> out;
  for (absl::string_view line : absl::StrSplit(FormatPrometheus(m), '\n')) {
    if (absl::ConsumePrefix(&line, "# HELP ")) {
      std::pair<std::string, std::string> name_help = absl::StrSplit(line, absl::MaxSplits(' ', 1));
      out.push_back({name_help.first, Family{"", {}, name_help.second}});
    } else if (absl::ConsumePrefix(&line, "# TYPE ")) {
      out.back().second.type = std::string(line.substr(line.rfind(' ') + 1));
    } else if (const size_t brace = line.find('{'); brace != absl::string_view::npos) {
      for (absl::string_view pair : absl::StrSplit(line.substr(brace + 1), "\",")) {
        out.back().second.labels.insert(std::string(pair.substr(0, pair.find('='))));
      }
    }
  }
  return out;
}

// The rows of docs/metrics.md's tables: | `name` | type | `label`, ... or - | meaning |.
std::vector<std::pair<std::string, Family>> Documented(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::vector<std::pair<std::string, Family>> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!absl::StartsWith(line, "| `")) continue;
    std::vector<std::string> cells = absl::StrSplit(line, " | ");
    if (cells.size() != 4) {
      ADD_FAILURE() << path << ": a row needs 4 cells: " << line;
      continue;
    }
    Family f;
    f.type = cells[1];
    if (cells[2] != "-") {
      for (absl::string_view l : absl::StrSplit(cells[2], ", ")) {
        f.labels.insert(std::string(absl::StripSuffix(absl::StripPrefix(l, "`"), "`")));
      }
    }
    f.help = std::string(absl::StripSuffix(cells[3], " |"));
    out.push_back({std::string(absl::StripSuffix(absl::StripPrefix(cells[0], "| `"), "`")), f});
  }
  return out;
}

TEST(MetricsDocTest, EveryExportedMetricIsDocumentedAsExported) {
  const auto exported = Exported();
  const auto documented = Documented("docs/metrics.md");
  ASSERT_GT(exported.size(), 30u);
  std::map<std::string, Family> doc(documented.begin(), documented.end());
  std::map<std::string, Family> code(exported.begin(), exported.end());
  for (const auto& [name, family] : exported) {
    auto it = doc.find(name);
    if (it == doc.end()) {
      ADD_FAILURE() << name << ": exported but not in docs/metrics.md";
    } else {
      EXPECT_EQ(Row(name, it->second), Row(name, family))
          << name << ": docs/metrics.md (first) differs from the exporter (second)";
    }
  }
  for (const auto& [name, family] : documented) {
    EXPECT_TRUE(code.count(name)) << name << ": in docs/metrics.md but not exported";
  }
  if (HasFailure()) {
    std::string table;
    for (const auto& [name, family] : exported) absl::StrAppend(&table, Row(name, family), "\n");
    ADD_FAILURE() << "the rows as the exporter has them:\n" << table;
  }
}

}  // namespace
}  // namespace connmgr
