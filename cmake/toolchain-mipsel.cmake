# Debian 12 cross toolchain for mipsel (crossbuild-essential-mipsel): scripts/cross-build.sh mipsel
set(PORTHOP_CROSS_ARCH mipsel)
set(PORTHOP_CROSS_TRIPLET mipsel-linux-gnu)
set(PORTHOP_CROSS_QEMU qemu-mipsel-static)
set(CMAKE_SYSTEM_PROCESSOR mips)
include(${CMAKE_CURRENT_LIST_DIR}/CrossToolchain.cmake)
