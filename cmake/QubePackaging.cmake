# Running Qube as a service, and its Debian packages (docs/operations.md):
#   cmake -B build-deb -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr
#   cmake --build build-deb && (cd build-deb && cpack -G DEB)
# makes qube-common (libqube), qube-supervisor, qube-worker (with the job
# types), qube-client (qb, qbsub) and qube-dev (sdk headers, find_package(Qube)).
# packaging/test-debs.sh installs them, runs a job and purges them.

# --- systemd units, maintainer scripts, logrotate
# The units name the binaries' installed paths.
foreach(unit qbsupervisor qbworker)
  configure_file(${PROJECT_SOURCE_DIR}/packaging/systemd/${unit}.service.in
                 ${PROJECT_BINARY_DIR}/packaging/${unit}.service @ONLY)
endforeach()
set(QUBE_SYSTEMD_UNIT_DIR lib/systemd/system)
install(FILES ${PROJECT_BINARY_DIR}/packaging/qbsupervisor.service DESTINATION ${QUBE_SYSTEMD_UNIT_DIR}
        COMPONENT supervisor)
install(FILES ${PROJECT_BINARY_DIR}/packaging/qbworker.service DESTINATION ${QUBE_SYSTEMD_UNIT_DIR}
        COMPONENT worker)
get_filename_component(QUBE_LOGROTATE_DIR ${QUBE_CONFIG_INSTALL_DIR}/../logrotate.d ABSOLUTE
                       BASE_DIR ${CMAKE_INSTALL_PREFIX})
install(FILES ${PROJECT_SOURCE_DIR}/packaging/logrotate/qube DESTINATION ${QUBE_LOGROTATE_DIR}
        COMPONENT supervisor)

# One template of each maintainer script, per package: the unit it manages.
function(qube_maintainer_scripts component unit)
  set(QUBE_PACKAGE qube-${component})
  set(QUBE_UNIT ${unit})
  set(dir ${PROJECT_BINARY_DIR}/packaging/debian/${component})
  foreach(script postinst prerm postrm)
    configure_file(${PROJECT_SOURCE_DIR}/packaging/debian/${script}.in ${dir}/${script} @ONLY
                   FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                                    WORLD_READ WORLD_EXECUTE)
  endforeach()
  # Files under /etc are conffiles: dpkg keeps an admin's changes on upgrade.
  set(conffiles "")
  foreach(file ${ARGN})
    string(APPEND conffiles "${file}\n")
  endforeach()
  file(WRITE ${dir}/conffiles "${conffiles}")
  string(TOUPPER ${component} C)
  set(CPACK_DEBIAN_${C}_PACKAGE_CONTROL_EXTRA ${dir}/postinst ${dir}/prerm ${dir}/postrm ${dir}/conffiles
      PARENT_SCOPE)
endfunction()

set(QUBE_JOBTYPE_CONFFILES "")
foreach(f ${QUBE_JOBTYPE_CONFIGS})
  get_filename_component(name ${f} NAME)
  list(APPEND QUBE_JOBTYPE_CONFFILES /etc/qube/jobtypes/${name})
endforeach()
qube_maintainer_scripts(supervisor qbsupervisor.service /etc/qube/supervisor.yaml /etc/logrotate.d/qube)
qube_maintainer_scripts(worker qbworker.service /etc/qube/worker.yaml ${QUBE_JOBTYPE_CONFFILES})
qube_maintainer_scripts(client "" /etc/qube/client.yaml)

# --- bash completion (generated from --help when TAB is pressed)
foreach(cmd qb qbsub)
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/completion/qube-completion.bash
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME ${cmd} COMPONENT client)
endforeach()

# --- man pages from --help, when help2man is there (scripts/setup.sh installs it)
find_program(HELP2MAN help2man)
if(HELP2MAN)
  set(pages "")
  foreach(spec "qb:1:inspect and steer the Qube farm" "qbsub:1:submit a job to the Qube farm"
               "qbsupervisor:8:the Qube supervisor daemon" "qbworker:8:the Qube worker daemon")
    string(REPLACE ":" ";" spec "${spec}")
    list(GET spec 0 cmd)
    list(GET spec 1 section)
    list(GET spec 2 name)
    set(page ${PROJECT_BINARY_DIR}/man/${cmd}.${section})
    add_custom_command(OUTPUT ${page}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
      COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section=${section} --name=${name}
              --version-string=${PROJECT_VERSION} --output=${page} $<TARGET_FILE:${cmd}>
      DEPENDS ${cmd} VERBATIM)
    list(APPEND pages ${page})
    if(section STREQUAL "1")
      install(FILES ${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT client)
    elseif(cmd STREQUAL "qbsupervisor")
      install(FILES ${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8 COMPONENT supervisor)
    else()
      install(FILES ${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8 COMPONENT worker)
    endif()
  endforeach()
  add_custom_target(qube_man_pages ALL DEPENDS ${pages})
else()
  message(STATUS "help2man not found: no man pages")
endif()

# --- The packages
set(CPACK_PACKAGE_NAME qube)
set(CPACK_PACKAGE_VENDOR "Qube")
set(CPACK_PACKAGE_CONTACT "Qube maintainers <qube@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Qube render farm manager")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL common supervisor worker client dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
# Dependencies on Debian's libraries from the binaries (dpkg-shlibdeps);
# libqube itself is found in the staging area and depended on by name below.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# dpkg-shlibdeps runs in each package's staging directory: libqube is in qube-common's.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ../common${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR})
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(QUBE_COMMON_DEP "qube-common (= ${PROJECT_VERSION})")
foreach(c common supervisor worker client dev)
  string(TOUPPER ${c} C)
  set(CPACK_DEBIAN_${C}_PACKAGE_NAME qube-${c})
endforeach()
set(CPACK_COMPONENT_COMMON_DESCRIPTION "Qube render farm: the shared library (libqube) and the Python qb module")
set(CPACK_COMPONENT_SUPERVISOR_DESCRIPTION "Qube render farm: the supervisor daemon and its systemd unit")
set(CPACK_COMPONENT_WORKER_DESCRIPTION "Qube render farm: the worker daemon, its systemd unit and the job types")
set(CPACK_COMPONENT_CLIENT_DESCRIPTION "Qube render farm: qb and qbsub")
set(CPACK_COMPONENT_DEV_DESCRIPTION "Qube render farm: sdk headers and CMake package for out-of-tree job types")
set(CPACK_DEBIAN_SUPERVISOR_PACKAGE_DEPENDS "${QUBE_COMMON_DEP}, passwd")
set(CPACK_DEBIAN_WORKER_PACKAGE_DEPENDS "${QUBE_COMMON_DEP}, passwd")
set(CPACK_DEBIAN_CLIENT_PACKAGE_DEPENDS "${QUBE_COMMON_DEP}")
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "${QUBE_COMMON_DEP}, nlohmann-json3-dev, cppzmq-dev, libboost-dev, libyaml-cpp-dev")
set(CPACK_DEBIAN_SUPERVISOR_PACKAGE_RECOMMENDS "qube-client, sqlite3")
set(CPACK_DEBIAN_WORKER_PACKAGE_RECOMMENDS "qube-client")
set(CPACK_DEBIAN_CLIENT_PACKAGE_SUGGESTS "bash-completion")
include(CPack)

# --check-config, the bash completion and sd_notify, against the built binaries (seconds).
# packaging/test-debs.sh, which builds and installs the packages, is the last stage of
# scripts/test.sh (CI, as root).
if(QUBE_BUILD_TESTS AND NOT QUBE_FUZZ)
  add_test(NAME packaging.service_cli
           COMMAND bash ${PROJECT_SOURCE_DIR}/packaging/test-service-cli.sh ${CMAKE_RUNTIME_OUTPUT_DIRECTORY})
  if(QUBE_HAVE_SYSTEMD)
    add_test(NAME packaging.sd_notify
             COMMAND python3 ${PROJECT_SOURCE_DIR}/packaging/test-sd-notify.py ${CMAKE_RUNTIME_OUTPUT_DIRECTORY})
  endif()
endif()
