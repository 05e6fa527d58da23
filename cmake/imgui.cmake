# Dear ImGui 1.86 as target hc_imgui (core library only; the SDL2/OpenGL3 backends are added by
# web/). Native: Debian's libimgui-dev (headers + static library). Emscripten: compiled from
# Debian's source package in third_party/src (fetched by scripts/setup.sh). When neither is
# present hc_imgui is not defined and the dashboard (ui/, web/) is skipped.

if(EMSCRIPTEN)
  file(GLOB _imgui_dirs LIST_DIRECTORIES true "${PROJECT_SOURCE_DIR}/third_party/src/imgui-*")
  set(HC_IMGUI_SOURCE_DIR "" CACHE PATH "Dear ImGui sources for the WebAssembly build")
  if(NOT HC_IMGUI_SOURCE_DIR)
    foreach(_dir ${_imgui_dirs})
      if(IS_DIRECTORY ${_dir} AND EXISTS ${_dir}/imgui.cpp)
        set(HC_IMGUI_SOURCE_DIR ${_dir} CACHE PATH "Dear ImGui sources for the WebAssembly build" FORCE)
      endif()
    endforeach()
  endif()
  if(HC_IMGUI_SOURCE_DIR AND EXISTS ${HC_IMGUI_SOURCE_DIR}/imgui.cpp)
    add_library(hc_imgui STATIC
      ${HC_IMGUI_SOURCE_DIR}/imgui.cpp
      ${HC_IMGUI_SOURCE_DIR}/imgui_draw.cpp
      ${HC_IMGUI_SOURCE_DIR}/imgui_tables.cpp
      ${HC_IMGUI_SOURCE_DIR}/imgui_widgets.cpp)
    target_include_directories(hc_imgui SYSTEM PUBLIC ${HC_IMGUI_SOURCE_DIR})
    # Large complexes are drawn in one window: 32-bit indices lift the 65536-vertex cap.
    target_compile_definitions(hc_imgui PUBLIC "ImDrawIdx=unsigned int")
  else()
    message(STATUS "Dear ImGui sources not found under third_party/src: dashboard not built")
  endif()
else()
  find_path(HC_IMGUI_INCLUDE imgui.h PATH_SUFFIXES imgui)
  find_library(HC_IMGUI_LIBRARY imgui)
  find_library(HC_STB_LIBRARY stb)  # Debian's imgui uses the system stb (libstb-dev)
  if(HC_IMGUI_INCLUDE AND HC_IMGUI_LIBRARY AND HC_STB_LIBRARY)
    add_library(hc_imgui INTERFACE)
    target_include_directories(hc_imgui SYSTEM INTERFACE ${HC_IMGUI_INCLUDE})
    target_link_libraries(hc_imgui INTERFACE ${HC_IMGUI_LIBRARY} ${HC_STB_LIBRARY} m)
  else()
    message(STATUS "libimgui-dev not found: dashboard (ui/, web/) not built")
  endif()
endif()
