#pragma once
// The job-type plugin interface (qube/jobtype_interface.hpp) and the macro that
// exports a plugin's entry points: what a job type's source includes.
#include "qube/jobtype_interface.hpp"

// Exports the two entry points for a plugin whose types are made by `factory`, a
// function std::unique_ptr<qube::plugin::JobType>(const std::string& type).
#include <boost/dll/alias.hpp>
#define QUBE_EXPORT_JOBTYPES(factory)                                   \
  namespace qube_plugin_exports {                                       \
  extern "C" QUBE_API int qube_sdk_abi_version_fn() { return qube::kSdkAbiVersion; } \
  }                                                                     \
  BOOST_DLL_ALIAS(qube_plugin_exports::qube_sdk_abi_version_fn, qube_sdk_abi_version) \
  BOOST_DLL_ALIAS(factory, qube_create_jobtype)
