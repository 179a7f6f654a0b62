// A job-type module that says it was built for another sdk ABI, as a plugin
// built against an older or newer Qube would: qbinstance must refuse to use it.
#include <cstdlib>

#include <qube/jobtype.hpp>

namespace {

int other_abi() { return qube::kSdkAbiVersion + 1; }

std::unique_ptr<qube::plugin::JobType> create(const std::string&) {
  std::abort();  // never called: the ABI check comes first
}

}  // namespace

BOOST_DLL_ALIAS(other_abi, qube_sdk_abi_version)
BOOST_DLL_ALIAS(create, qube_create_jobtype)
