// The version of connmgr: the single source of it. CMake (CMakeLists.txt), the pkg-config files
// and `connmgr_node --version` read it from here.
//
//   std::string agent = absl::StrCat("connmgr/", connmgr::kVersion);   // "connmgr/0.2.0"
//   #if CONNMGR_VERSION_MAJOR == 0 && CONNMGR_VERSION_MINOR < 3 ...
//
// connmgr follows semantic versioning (CHANGELOG.md); before 1.0 a minor release may change the
// API.
#ifndef CONNMGR_CORE_VERSION_H_
#define CONNMGR_CORE_VERSION_H_

#define CONNMGR_VERSION_MAJOR 0
#define CONNMGR_VERSION_MINOR 2
#define CONNMGR_VERSION_PATCH 0
#define CONNMGR_VERSION_STRING "0.2.0"

namespace connmgr {

// "MAJOR.MINOR.PATCH".
inline constexpr char kVersion[] = CONNMGR_VERSION_STRING;

}  // namespace connmgr

#endif  // CONNMGR_CORE_VERSION_H_
