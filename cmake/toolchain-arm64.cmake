# Debian 12 cross toolchain for arm64 (crossbuild-essential-arm64): scripts/cross-build.sh arm64
set(PORTHOP_CROSS_ARCH arm64)
set(PORTHOP_CROSS_TRIPLET aarch64-linux-gnu)
set(PORTHOP_CROSS_QEMU qemu-aarch64-static)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/CrossToolchain.cmake)
