# Third-party dependencies, pinned in one place (Debian bookworm packages, see scripts/setup.sh):
#   Eigen 3.4 (libeigen3-dev), nlohmann-json 3.11 (nlohmann-json3-dev), xxHash 0.8 header-only
#   (libxxhash-dev), Boost.Test 1.74 header-only (libboost-test-dev), CLI11 2.1 (libcli11-dev).
# Under Emscripten the system include directory cannot be added (it would shadow the wasm
# sysroot), so only the needed headers are exposed through a folder of symlinks.

set(HC_SYSTEM_INCLUDE /usr/include CACHE PATH "Where the Debian header-only packages live")

if(EMSCRIPTEN)
  set(_shim ${CMAKE_BINARY_DIR}/hc_sysinc)
  file(MAKE_DIRECTORY ${_shim})
  foreach(_entry boost nlohmann xxhash.h)
    if(NOT EXISTS ${_shim}/${_entry})
      file(CREATE_LINK ${HC_SYSTEM_INCLUDE}/${_entry} ${_shim}/${_entry} SYMBOLIC)
    endif()
  endforeach()
  add_library(hc_third_party INTERFACE)
  target_include_directories(hc_third_party SYSTEM INTERFACE ${HC_SYSTEM_INCLUDE}/eigen3 ${_shim})
else()
  find_package(Eigen3 3.4 REQUIRED NO_MODULE)
  find_package(nlohmann_json 3.10 REQUIRED)
  add_library(hc_third_party INTERFACE)
  target_link_libraries(hc_third_party INTERFACE Eigen3::Eigen nlohmann_json::nlohmann_json)
  find_path(HC_XXHASH_INCLUDE xxhash.h REQUIRED)
  target_include_directories(hc_third_party SYSTEM INTERFACE ${HC_XXHASH_INCLUDE})
endif()
