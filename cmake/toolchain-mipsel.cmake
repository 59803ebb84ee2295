# Debian 12 cross toolchain for mipsel (crossbuild-essential-mipsel): scripts/cross-build.sh mipsel
set(PORTHOP_CROSS_ARCH mipsel)
set(PORTHOP_CROSS_TRIPLET mipsel-linux-gnu)
set(PORTHOP_CROSS_QEMU qemu-mipsel-static)
set(CMAKE_SYSTEM_PROCESSOR mips)
include(${CMAKE_CURRENT_LIST_DIR}/CrossToolchain.cmake)
# 32-bit MIPS has no 64-bit atomic instructions: std::atomic<std::uint64_t> (the relay's
# counters) is implemented by libatomic, with a lock.
set(CMAKE_CXX_STANDARD_LIBRARIES_INIT "-latomic")
