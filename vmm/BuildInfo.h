#pragma once
// What this vmm binary is: set when it was built (cmake/BuildInfo.cmake), so
// a bug report or a CI log can say exactly which vmm ran.

namespace vmm::build_info {

extern const char* const kVersion;         // project(VERSION) in CMakeLists.txt
extern const char* const kGitDescription;  // `git describe --always --dirty --tags`, or "unknown"
extern const char* const kBuildType;       // CMAKE_BUILD_TYPE
extern const char* const kSanitizers;      // VMM_SANITIZE; empty for none

}  // namespace vmm::build_info
