// main() for the property tests: enough cases to matter unless RC_PARAMS says otherwise.
#include <cstdlib>

#include "gtest/gtest.h"

int main(int argc, char** argv) {
  // At least 1000 cases per property, sequences of up to a few hundred inputs.
  setenv("RC_PARAMS", "max_success=1000 max_size=300", /*overwrite=*/0);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
