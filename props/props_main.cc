// main() for the property tests: enough cases to matter unless RC_PARAMS says otherwise.
#include <cstdlib>

#include "gtest/gtest.h"

int main(int argc, char** argv) {
  // 2000 cases per property (the issue asks for at least 1000), up to 300 inputs each.
  setenv("RC_PARAMS", "max_success=2000 max_size=300", /*overwrite=*/0);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
