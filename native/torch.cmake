# LibTorch forward pass and trainer (hc_native_torch) and their test suites native.forward,
# native.forward_families, native.hf_parity, native.train, ... Included from
# native/CMakeLists.txt; needs find_package(Torch) to succeed (LibTorch 1.13+ or 2.x).
find_package(Torch REQUIRED)  # already found by native/CMakeLists.txt

add_library(hc_native_torch STATIC
  ${CMAKE_CURRENT_LIST_DIR}/src/forward.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/forward_layer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/forward_attention.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/forward_moe.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/forward_routing.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/device.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/evaluate.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/cmd_eval.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/barriers.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/extract.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/cmd_extract.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/compare.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/cmd_compare.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/demo_model.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/train_model.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/cmd_train.cpp
)
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/src/demo_model.cpp PROPERTIES
                            COMPILE_DEFINITIONS HC_BUNDLED_MODELS_DIR="${PROJECT_SOURCE_DIR}/models")
target_include_directories(hc_native_torch PUBLIC ${CMAKE_CURRENT_LIST_DIR}/include)
target_link_libraries(hc_native_torch PUBLIC hc_native ${TORCH_LIBRARIES})
target_compile_options(hc_native_torch PRIVATE -Wall -Wextra)

# The CLI gets the LibTorch commands; tests/ reads HC_TORCH_BUILT to know what to expect.
target_link_libraries(hodgecover PRIVATE hc_native_torch)
target_compile_definitions(hodgecover PRIVATE HC_HAVE_TORCH=1)
set_property(GLOBAL PROPERTY HC_TORCH_BUILT ON)

if(HC_BUILD_TESTS AND NOT EMSCRIPTEN)
  set(_hc_torch_tests ${CMAKE_CURRENT_LIST_DIR}/../tests/native)
  add_executable(test_forward ${_hc_torch_tests}/main.cpp ${_hc_torch_tests}/torch/test_forward.cpp
                 ${_hc_torch_tests}/torch/test_hf_parity.cpp ${_hc_torch_tests}/torch/test_eval.cpp
                 ${_hc_torch_tests}/torch/test_extract.cpp
                 ${_hc_torch_tests}/torch/test_forward_families.cpp
                 ${_hc_torch_tests}/torch/test_apply.cpp
                 ${_hc_torch_tests}/torch/test_apply_masking.cpp
                 ${_hc_torch_tests}/torch/test_compare.cpp
                 ${_hc_torch_tests}/torch/test_demo.cpp
                 ${_hc_torch_tests}/torch/test_cuda.cpp
                 ${_hc_torch_tests}/torch/test_train.cpp)
  target_compile_definitions(test_forward PRIVATE
                             HC_GOLDEN_DIR="${CMAKE_CURRENT_LIST_DIR}/../tests/golden"
                             HC_CLI_PATH="$<TARGET_FILE:hodgecover>")
  add_dependencies(test_forward hodgecover)
  target_include_directories(test_forward PRIVATE ${_hc_torch_tests})
  target_link_libraries(test_forward PRIVATE hc_native_torch)
  add_test(NAME native.forward COMMAND test_forward --run_test=forward --log_level=message)
  set_tests_properties(native.forward PROPERTIES LABELS native)
  add_test(NAME native.hf_parity COMMAND test_forward --run_test=hf_parity --log_level=message)
  set_tests_properties(native.hf_parity PROPERTIES LABELS native)
  add_test(NAME native.eval COMMAND test_forward --run_test=eval --log_level=message)
  set_tests_properties(native.eval PROPERTIES LABELS native)
  add_test(NAME native.extract COMMAND test_forward --run_test=extract --log_level=message)
  set_tests_properties(native.extract PROPERTIES LABELS native)
  add_test(NAME native.apply COMMAND test_forward --run_test=apply --log_level=message)
  set_tests_properties(native.apply PROPERTIES LABELS native)
  add_test(NAME native.compare COMMAND test_forward --run_test=compare --log_level=message)
  set_tests_properties(native.compare PROPERTIES LABELS native)
  add_test(NAME native.cuda COMMAND test_forward --run_test=cuda --log_level=message)
  set_tests_properties(native.cuda PROPERTIES LABELS native)
  add_test(NAME native.demo COMMAND test_forward --run_test=demo --log_level=message)
  set_tests_properties(native.demo PROPERTIES LABELS native)
  add_test(NAME native.forward_families
           COMMAND test_forward --run_test=forward_families --log_level=message)
  set_tests_properties(native.forward_families PROPERTIES LABELS native)
  add_test(NAME native.train COMMAND test_forward --run_test=train --log_level=message)
  set_tests_properties(native.train PROPERTIES LABELS native)
endif()

# Eval throughput and streaming-memory benchmark (source in bench/).
if(HC_BUILD_BENCH)
  add_executable(bench_eval ${CMAKE_CURRENT_LIST_DIR}/../bench/bench_eval.cpp)
  target_link_libraries(bench_eval PRIVATE hc_native_torch)
  set_target_properties(bench_eval PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
  add_executable(bench_extract ${CMAKE_CURRENT_LIST_DIR}/../bench/bench_extract.cpp)
  target_link_libraries(bench_extract PRIVATE hc_native_torch)
  set_target_properties(bench_extract PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
endif()
