# The layer rule (DESIGN.md, "Layers"), enforced by the build: one static library per layer, and
# no library sees a header of a layer above its own.
#
# Each library's only porthop include root is a directory generated here at configure time,
# build/layer-include/<layer>/porthop/<lower> -> include/porthop/<lower>, one symbolic link per
# layer from the bottom up to its own. In relay, #include "porthop/app/config.hpp" fails with
# "No such file or directory": no root relay is given holds porthop/app. Private headers in
# src/<layer>/ are on no include path at all; only their own layer's sources reach them, as
# "name.hpp" beside them. cmake/check_layers.cmake (ctest -L unit: layers) proves the fence.
#
# The pure layers (no sockets, no event backend: PORTHOP_PURE_LAYERS) are built once. The I/O
# layers (PORTHOP_IO_LAYERS) are built once per event backend, because Asio picks its backend at
# compile time: porthop_<layer> on epoll and, with PORTHOP_IO_URING, porthop_<layer>_uring.
# porthop_core and porthop_core_uring link every layer of their backend and expose the whole of
# include/: tests, benchmarks and fuzzers see all layers.
#
# A new layer is one word in the lists below and its folders include/porthop/<layer>/ and
# src/<layer>/; a new file in a layer needs no edit here (the sources are globbed).

set(PORTHOP_PURE_LAYERS base wire crypto hop guard)
set(PORTHOP_IO_LAYERS net relay app)
set(PORTHOP_LAYERS ${PORTHOP_PURE_LAYERS} ${PORTHOP_IO_LAYERS})
set(PORTHOP_LAYER_ROOTS ${PROJECT_BINARY_DIR}/layer-include)

# Rebuilt on every configure, so a layer removed from the lists leaves no link behind.
file(REMOVE_RECURSE ${PORTHOP_LAYER_ROOTS})
set(visible "")
foreach(layer IN LISTS PORTHOP_LAYERS)
  list(APPEND visible ${layer})
  file(MAKE_DIRECTORY ${PORTHOP_LAYER_ROOTS}/${layer}/porthop)
  foreach(lower IN LISTS visible)
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/include/porthop/${lower} ${PORTHOP_LAYER_ROOTS}/${layer}/porthop/${lower}
         SYMBOLIC)
  endforeach()
endforeach()

# porthop_add_layer(<layer> <target> <libraries the layer links, PUBLIC>...)
function(porthop_add_layer layer target)
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${layer}/*.cpp)
  list(FILTER sources EXCLUDE REGEX ".*/src/app/main\\.cpp$")  # the executables' own
  add_library(${target} STATIC ${sources})
  target_include_directories(${target} PUBLIC ${PORTHOP_LAYER_ROOTS}/${layer})
  target_link_libraries(${target} PUBLIC ${ARGN})
endfunction()

# The pure layers. Version and Asio's deprecation switch are set at the bottom so that every
# layer, and everything that links one, compiles with the same definitions.
porthop_add_layer(base porthop_base)
target_compile_definitions(porthop_base PUBLIC BOOST_ASIO_NO_DEPRECATED PORTHOP_VERSION="${PROJECT_VERSION}")
porthop_add_layer(wire porthop_wire porthop_base)
porthop_add_layer(crypto porthop_crypto porthop_wire)
target_link_libraries(porthop_crypto PRIVATE OpenSSL::Crypto PkgConfig::SODIUM)  # its headers include neither
porthop_add_layer(hop porthop_hop porthop_crypto)
# The relay's bounded abuse tables (per-source limiter, native roaming): relay policy, but pure,
# so they are built once, not per event backend, and fuzzed without the I/O layers.
porthop_add_layer(guard porthop_guard porthop_hop)

# porthop_add_io_layers(<suffix> <libraries of this event backend>...): net, relay and app on one
# backend, and porthop_core<suffix> over them.
function(porthop_add_io_layers suffix)
  porthop_add_layer(net porthop_net${suffix} porthop_guard Boost::headers Threads::Threads ${ARGN})
  target_link_libraries(porthop_net${suffix} PRIVATE PkgConfig::CARES)  # net/resolve.cpp only
  # net/tls_context.hpp includes Asio's ssl headers, which include OpenSSL's and call libssl
  # inline: whoever includes it needs OpenSSL's include path and libssl, hence PUBLIC.
  target_link_libraries(porthop_net${suffix} PUBLIC OpenSSL::SSL)
  porthop_add_layer(relay porthop_relay${suffix} porthop_net${suffix})
  porthop_add_layer(app porthop_app${suffix} porthop_relay${suffix} porthop_tomlpp)
  if(QRENCODE_FOUND)
    set_source_files_properties(${PROJECT_SOURCE_DIR}/src/app/qr_text.cpp TARGET_DIRECTORY porthop_app${suffix}
                                PROPERTIES COMPILE_DEFINITIONS PORTHOP_HAVE_QRENCODE)
    target_link_libraries(porthop_app${suffix} PRIVATE PkgConfig::QRENCODE)
  endif()

  add_library(porthop_core${suffix} INTERFACE)
  # include/ first: the tests' includes resolve to the real paths, not through the links.
  target_include_directories(porthop_core${suffix} INTERFACE ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(porthop_core${suffix} INTERFACE porthop_app${suffix})
endfunction()

porthop_add_io_layers("")
if(PORTHOP_IO_URING)
  # Asio on io_uring for sockets too (BOOST_ASIO_DISABLE_EPOLL). Where io_uring is disabled
  # (containers, kernel.io_uring_disabled), porthop re-executes porthop-epoll beside it.
  pkg_check_modules(URING REQUIRED IMPORTED_TARGET liburing)
  porthop_add_io_layers(_uring PkgConfig::URING)
  target_compile_definitions(porthop_net_uring PUBLIC BOOST_ASIO_HAS_IO_URING BOOST_ASIO_DISABLE_EPOLL
                                                      PORTHOP_IO_URING=1)
endif()

# The check of the fence, for ctest (registered by the top-level CMakeLists.txt): each layer's
# include directories and definitions as its sources are compiled with them, one per line, and the same with the fence removed (every layer given the whole of include/),
# which the check must reject: the test of its negative path.
foreach(layer IN LISTS PORTHOP_LAYERS)
  # Neither list is ever empty: every layer has its root and the bottom's two definitions.
  set(flags "-I$<JOIN:$<TARGET_PROPERTY:porthop_${layer},INCLUDE_DIRECTORIES>,\n-I>\n")
  string(APPEND flags "-D$<JOIN:$<TARGET_PROPERTY:porthop_${layer},COMPILE_DEFINITIONS>,\n-D>\n")
  file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/layer-check/fenced/${layer}.flags CONTENT "${flags}")
  file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/layer-check/unfenced/${layer}.flags
       CONTENT "-I${PROJECT_SOURCE_DIR}/include\n${flags}")
endforeach()
