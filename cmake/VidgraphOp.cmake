# vidgraph_add_op(NAME <target> SOURCES <files...> [PROTO <files...>])
#
# Builds a vidgraph plugin (a shared library loadable with sc.loadOp). PROTO files are compiled
# with protoc and libprotobuf is linked for the plugin's own use: only argument bytes cross
# into the engine, so the plugin's protobuf (and C++ library ABI) is its own business.
include_guard(GLOBAL)

function(vidgraph_add_op)
  cmake_parse_arguments(VG "" "NAME" "SOURCES;PROTO" ${ARGN})
  if(NOT VG_NAME)
    message(FATAL_ERROR "vidgraph_add_op: NAME is required")
  endif()
  if(NOT VG_SOURCES)
    message(FATAL_ERROR "vidgraph_add_op(${VG_NAME}): SOURCES is required")
  endif()
  add_library(${VG_NAME} SHARED ${VG_SOURCES})
  target_include_directories(${VG_NAME} PRIVATE "${VIDGRAPH_INCLUDE_DIR}")
  set_target_properties(${VG_NAME} PROPERTIES
    PREFIX "" CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  if(VG_PROTO)
    find_package(Protobuf REQUIRED)
    protobuf_generate_cpp(VG_PROTO_SRCS VG_PROTO_HDRS ${VG_PROTO})
    target_sources(${VG_NAME} PRIVATE ${VG_PROTO_SRCS} ${VG_PROTO_HDRS})
    target_include_directories(${VG_NAME} PRIVATE "${CMAKE_CURRENT_BINARY_DIR}")
    target_link_libraries(${VG_NAME} PRIVATE protobuf::libprotobuf)
  endif()
endfunction()
