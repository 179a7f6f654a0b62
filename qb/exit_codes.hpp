#pragma once
// qb's exit codes (DESIGN.md's command-line contract): 0 done, 1 the request
// failed or some of it was refused, 2 a mistake on the command line (UsageError).
namespace qube::qb {

inline constexpr int kFailed = 1;
inline constexpr int kUsage = 2;

}  // namespace qube::qb
