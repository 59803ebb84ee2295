# Shared by cmake/toolchain-<arch>.cmake: a static porthop for a router, built with Debian's
# cross compiler against the target's static libraries. Those come from Debian's :<arch> -dev
# packages, extracted (not installed) under PORTHOP_CROSS_ROOT by scripts/install-deps.sh --test:
# installing them beside the host's would need the same version for both architectures
# (Multi-Arch: same), which a mirror does not promise while security updates roll out.
# Boost.Asio, Catch2 and toml++ are used header-only, from the host's packages.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${PORTHOP_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${PORTHOP_CROSS_TRIPLET}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${PORTHOP_CROSS_TRIPLET})

if(NOT PORTHOP_CROSS_ROOT)
  if(DEFINED ENV{PORTHOP_CROSS_ROOT})
    set(PORTHOP_CROSS_ROOT $ENV{PORTHOP_CROSS_ROOT}/${PORTHOP_CROSS_ARCH})
  else()
    set(PORTHOP_CROSS_ROOT /opt/porthop-cross/${PORTHOP_CROSS_ARCH})
  endif()
endif()
if(NOT EXISTS ${PORTHOP_CROSS_ROOT}/usr/lib/${PORTHOP_CROSS_TRIPLET})
  message(FATAL_ERROR "no target libraries in ${PORTHOP_CROSS_ROOT}: run scripts/install-deps.sh --test")
endif()
# try_compile projects see these too.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES PORTHOP_CROSS_ROOT PORTHOP_CROSS_ARCH)

# Libraries only from the target root (and the cross libc); headers from it first, then the
# host's arch-independent header-only libraries; programs (pkg-config, python3) from the host.
set(CMAKE_FIND_ROOT_PATH ${PORTHOP_CROSS_ROOT} /usr/${PORTHOP_CROSS_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
set(ENV{PKG_CONFIG_LIBDIR} ${PORTHOP_CROSS_ROOT}/usr/lib/${PORTHOP_CROSS_TRIPLET}/pkgconfig)
set(ENV{PKG_CONFIG_SYSROOT_DIR} ${PORTHOP_CROSS_ROOT})
set(OPENSSL_ROOT_DIR ${PORTHOP_CROSS_ROOT}/usr)
# The target's multiarch headers (openssl/opensslconf.h), which the compiler finds by itself
# only under /usr/include/<triplet>.
set(CMAKE_C_FLAGS_INIT "-isystem ${PORTHOP_CROSS_ROOT}/usr/include/${PORTHOP_CROSS_TRIPLET}")
set(CMAKE_CXX_FLAGS_INIT "-isystem ${PORTHOP_CROSS_ROOT}/usr/include/${PORTHOP_CROSS_TRIPLET}")

# Routers run musl or an old glibc: one self-contained binary (see PORTHOP_STATIC).
set(PORTHOP_STATIC ON CACHE BOOL "Link porthop statically" FORCE)
# Test binaries run under qemu-user with no target libraries at all: -L names an empty
# directory, so nothing of a target root could be loaded even by mistake.
set(CMAKE_CROSSCOMPILING_EMULATOR ${PORTHOP_CROSS_QEMU} -L ${CMAKE_BINARY_DIR}/qemu-empty-root)
