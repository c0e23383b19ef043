# find_package(vidgraph CONFIG) for plugin authors:
#   cmake -Dvidgraph_DIR=$(npx vidgraph config --cmake-dir) ...
get_filename_component(VIDGRAPH_INCLUDE_DIR "${CMAKE_CURRENT_LIST_DIR}/../include" ABSOLUTE)
set(vidgraph_FOUND TRUE)
include("${CMAKE_CURRENT_LIST_DIR}/VidgraphOp.cmake")
