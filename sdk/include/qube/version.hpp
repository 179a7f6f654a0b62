#pragma once
// Versions that cross process boundaries. Bump them when the layout they guard changes.
namespace qube {
// Wire protocol between clients, supervisor and workers. A peer speaking another
// version is refused with a clear error instead of being misread.
inline constexpr int kProtocolVersion = 1;
// Binary interface of job-type plugins (jobtype.hpp). A plugin built for another
// ABI version is refused at load time.
inline constexpr int kSdkAbiVersion = 1;
inline constexpr const char* kQubeVersion = "0.1.0";
}  // namespace qube
