# Proves the layer fence of cmake/Layers.cmake (ctest: layers.fenced, layers.unfenced). Run as
#   cmake -DCXX=<compiler> -DSTD=-std=c++20 -DLAYERS=base,wire,... -DIMPLICIT=<dir>,...
#         -DSOURCE_DIR=<checkout> -DFLAGS_DIR=<dir of <layer>.flags> -DWORK_DIR=<scratch> -P check_layers.cmake
# For each layer, with the include directories and definitions its sources are compiled with
# (FLAGS_DIR/<layer>.flags, one flag a line, written at configure time), the preprocessor must
#  - find every public header of the layer and of the layers below it, and
#  - fail on a header of each layer above it, because that header is not found.
# Only the preprocessor runs (-E): whether an include is found is all this checks, and the real
# build compiles every source with the same flags. It also checks that no source or public header
# reaches another file by a relative path ("../"), which no include root could fence; that scan
# is first run on a planted bad include, which it must report.
cmake_minimum_required(VERSION 3.25)

foreach(var CXX STD LAYERS SOURCE_DIR FLAGS_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_layers.cmake: -D${var}=... missing")
  endif()
endforeach()
string(REPLACE "," ";" layers "${LAYERS}")
string(REPLACE "," ";" implicit "${IMPLICIT}")
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(failures "")

function(fail text)
  message(STATUS "FAIL: ${text}")
  set(failures "${failures}x" PARENT_SCOPE)
endfunction()

# A layer's flags. The compiler's own directories are left out, as CMake leaves them out of its
# command lines: -I/usr/include would break libstdc++'s #include_next.
function(layer_flags layer out)
  if(NOT EXISTS ${FLAGS_DIR}/${layer}.flags)
    message(FATAL_ERROR "check_layers.cmake: ${FLAGS_DIR}/${layer}.flags missing: reconfigure")
  endif()
  file(STRINGS ${FLAGS_DIR}/${layer}.flags lines)
  set(flags ${STD})
  foreach(line IN LISTS lines)
    if(line MATCHES "^-I(.*)$" AND "${CMAKE_MATCH_1}" IN_LIST implicit)
      continue()
    endif()
    list(APPEND flags "${line}")
  endforeach()
  set(${out} ${flags} PARENT_SCOPE)
endfunction()

# The public headers of a layer, as they are included: porthop/<layer>/<name>.hpp.
function(layer_headers layer out)
  file(GLOB_RECURSE headers RELATIVE ${SOURCE_DIR}/include ${SOURCE_DIR}/include/porthop/${layer}/*.hpp)
  list(SORT headers)
  set(${out} ${headers} PARENT_SCOPE)
endfunction()

# The header of a layer that includes the fewest others: the probe for "is this layer visible",
# cheap to preprocess when it is (as in layers.unfenced).
function(probe_header layer out)
  layer_headers(${layer} headers)
  set(best "")
  set(best_count 1000000)
  foreach(header IN LISTS headers)
    file(STRINGS ${SOURCE_DIR}/include/${header} includes REGEX "^[ \t]*#[ \t]*include")
    list(LENGTH includes n)
    if(n LESS best_count)
      set(best ${header})
      set(best_count ${n})
    endif()
  endforeach()
  set(${out} ${best} PARENT_SCOPE)
endfunction()

# Preprocesses a file holding `text` with `flags`; sets <prefix>_rc and <prefix>_err.
function(preprocess name text flags prefix)
  file(WRITE ${WORK_DIR}/${name}.cpp "${text}")
  execute_process(COMMAND ${CXX} ${flags} -E -o /dev/null ${WORK_DIR}/${name}.cpp
                  RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
  set(${prefix}_rc ${rc} PARENT_SCOPE)
  set(${prefix}_err "${err}" PARENT_SCOPE)
endfunction()

set(below "")
foreach(layer IN LISTS layers)
  list(APPEND below ${layer})
  layer_flags(${layer} flags)

  set(text "")
  set(count 0)
  foreach(lower IN LISTS below)
    layer_headers(${lower} headers)
    foreach(header IN LISTS headers)
      string(APPEND text "#include \"${header}\"\n")
      math(EXPR count "${count} + 1")
    endforeach()
  endforeach()
  preprocess(${layer}_sees_below "${text}" "${flags}" down)
  if(NOT down_rc EQUAL 0)
    fail("layer ${layer} cannot include the headers of its own layer and those below it:\n${down_err}")
  endif()

  set(above ${layers})
  list(REMOVE_ITEM above ${below})
  foreach(upper IN LISTS above)
    probe_header(${upper} header)
    if(NOT header)
      fail("layer ${upper} has no public header to probe with (include/porthop/${upper}/*.hpp)")
      continue()
    endif()
    preprocess(${layer}_sees_${upper} "#include \"${header}\"\n" "${flags}" up)
    if(up_rc EQUAL 0)
      fail("layer ${layer} can include ${header}: the fence lets it see the layer ${upper} above it")
    elseif(NOT up_err MATCHES "(${header}: No such file|'${header}' file not found)")  # gcc, clang
      fail("layer ${layer}: including ${header} failed, but not because it was not found:\n${up_err}")
    endif()
  endforeach()
  list(LENGTH above upper_count)
  message(STATUS "${layer}: ${count} headers of its own and lower layers preprocessed, ${upper_count} layers above probed")
endforeach()

# Relative includes: every "../" in an include of a source or public header under `root`.
function(relative_includes root out)
  file(GLOB_RECURSE files ${root}/src/*.cpp ${root}/src/*.hpp ${root}/include/*.hpp)
  set(found "")
  foreach(file IN LISTS files)
    file(STRINGS ${file} lines REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<][^\">]*\\.\\./")
    foreach(line IN LISTS lines)
      file(RELATIVE_PATH name ${root} ${file})
      list(APPEND found "${name}: ${line}")
    endforeach()
  endforeach()
  set(${out} ${found} PARENT_SCOPE)
endfunction()

file(WRITE ${WORK_DIR}/planted/src/app/planted.cpp "#include \"../relay/handoff.hpp\"\n")
relative_includes(${WORK_DIR}/planted planted)
if(NOT planted MATCHES "src/app/planted.cpp")
  fail("the relative-include scan missed the planted #include \"../relay/handoff.hpp\"")
endif()
relative_includes(${SOURCE_DIR} found)
foreach(line IN LISTS found)
  fail("a relative include, which no layer fence can stop: ${line}")
endforeach()

if(failures)
  message(FATAL_ERROR "check_layers.cmake: the layer rule is not enforced (see FAIL lines above)")
endif()
message(STATUS "the layer fence holds: no layer sees a header above it")
