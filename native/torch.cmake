# LibTorch rooms (hc_native_torch), their commands (hc_cli_torch) and the helper executable
# hodgecover-torch. Included from native/CMakeLists.txt once find_package(Torch) succeeded.
add_library(hc_native_torch STATIC
  ${CMAKE_CURRENT_LIST_DIR}/src/model/forward.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/model/forward_layer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/model/forward_attention.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/model/forward_moe.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/model/forward_routing.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/model/device.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/model/torch_errors.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/extract/barriers.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/extract/lens_top_m.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/extract/extract.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/extract/estimate.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/distributed/collective.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/eval/evaluate.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/eval/compare.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/train/train_model.cpp
)
target_include_directories(hc_native_torch PUBLIC ${CMAKE_CURRENT_LIST_DIR}/include)
# c10d's Gloo process group (inside libtorch_cpu) needs Gloo's headers (Debian: libgloo-dev);
# only collective.cpp includes it.
find_path(HC_GLOO_INCLUDE_DIR gloo/algorithm.h)
if(NOT HC_GLOO_INCLUDE_DIR)
  message(FATAL_ERROR "gloo/algorithm.h not found: install libgloo-dev (scripts/setup.sh does)")
endif()
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/src/distributed/collective.cpp PROPERTIES
                            COMPILE_DEFINITIONS USE_C10D_GLOO=1)
target_link_libraries(hc_native_torch PUBLIC hc_native ${TORCH_LIBRARIES})
target_compile_options(hc_native_torch PRIVATE ${HC_WARNINGS})

add_library(hc_cli_torch STATIC
  ${CMAKE_CURRENT_LIST_DIR}/src/cli/cmd_eval.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/cli/cmd_extract.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/cli/extract_estimate.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/cli/cmd_compare.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/cli/cmd_train.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/cli/cmd_demo_model.cpp
)
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/src/cli/cmd_demo_model.cpp PROPERTIES
                            COMPILE_DEFINITIONS HC_BUNDLED_MODELS_DIR="${PROJECT_SOURCE_DIR}/models")
target_link_libraries(hc_cli_torch PUBLIC hc_cli hc_native_torch)
target_compile_options(hc_cli_torch PRIVATE ${HC_WARNINGS})

add_executable(hodgecover-torch ${CMAKE_CURRENT_LIST_DIR}/src/cli/main.cpp)
target_link_libraries(hodgecover-torch PRIVATE hc_cli_torch)
target_compile_definitions(hodgecover-torch PRIVATE HC_HAVE_TORCH=1)
target_compile_options(hodgecover-torch PRIVATE ${HC_WARNINGS})
set_target_properties(hodgecover-torch PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})

# The light hodgecover hands LibTorch commands to the helper, so it must be built with it.
target_compile_definitions(hodgecover PRIVATE HC_TORCH_HELPER=1)
add_dependencies(hodgecover hodgecover-torch)
set_property(GLOBAL PROPERTY HC_TORCH_BUILT ON)
