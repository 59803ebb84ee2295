# Debian 12 cross toolchain for armhf (crossbuild-essential-armhf): scripts/cross-build.sh armhf
set(PORTHOP_CROSS_ARCH armhf)
set(PORTHOP_CROSS_TRIPLET arm-linux-gnueabihf)
set(PORTHOP_CROSS_QEMU qemu-arm-static)
set(CMAKE_SYSTEM_PROCESSOR arm)
include(${CMAKE_CURRENT_LIST_DIR}/CrossToolchain.cmake)
