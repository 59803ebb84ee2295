# Debian package of the relay: `cpack -G DEB` (or plain `cpack`) in the build directory makes
# porthop_<version>_<arch>.deb with
#   /usr/bin/porthop                          the binary (install rule in the top-level file)
#   /lib/systemd/system/porthop.service       hardened unit (packaging/porthop.service)
#   /lib/systemd/system/porthop-client.service the client agent's unit (packaging/)
#   /etc/porthop/server.toml, client.toml     conffiles, root:porthop 0640 after postinst
#   /usr/share/doc/porthop/README.md, server.toml.example, client.toml.example, PROTOCOL.md
# and maintainer scripts (packaging/debian/) that create the `porthop` system user and do the
# systemd bookkeeping without enabling or starting the service on a fresh install.
# Depends is computed with dpkg-shlibdeps (package dpkg-dev) plus adduser for the postinst.
#
# The package installs with prefix /usr (CPACK_PACKAGING_INSTALL_PREFIX, set for DEB only in
# cmake/PackagingOptions.cmake), whatever CMAKE_INSTALL_PREFIX is. The unit and the
# configuration use absolute destinations, so a plain `cmake --install` writes them to
# /lib/systemd/system and /etc/porthop of this machine (and the unit expects /usr/bin/porthop):
# stage with DESTDIR=... --prefix /usr when that is not wanted.

set(PORTHOP_PACKAGING_DIR ${CMAKE_CURRENT_LIST_DIR}/../packaging)
cmake_path(NORMAL_PATH PORTHOP_PACKAGING_DIR)

install(FILES ${PORTHOP_PACKAGING_DIR}/porthop.service ${PORTHOP_PACKAGING_DIR}/porthop-client.service
        DESTINATION /lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/conf/server.toml ${PROJECT_SOURCE_DIR}/conf/client.toml
        DESTINATION /etc/porthop)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION share/doc/porthop)
install(FILES ${PROJECT_SOURCE_DIR}/conf/server.toml DESTINATION share/doc/porthop
        RENAME server.toml.example)
# The same binary is the client agent (`porthop client`): its example config and the hop link.
install(FILES ${PROJECT_SOURCE_DIR}/conf/client.toml DESTINATION share/doc/porthop
        RENAME client.toml.example)
install(FILES ${PROJECT_SOURCE_DIR}/docs/PROTOCOL.md DESTINATION share/doc/porthop)

# The project's maintainer identity (as in its git history); override with -D for a real one.
set(PORTHOP_DEB_MAINTAINER
    "Seed e0022871 maintainers <maintainers@users.noreply.r-seed-e0022871.example>"
    CACHE STRING "Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME porthop)
set(CPACK_PACKAGE_VENDOR porthop)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${PORTHOP_DEB_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "relay that keeps WireGuard and OpenVPN reachable behind VPN filters")
# Debian wants description lines under 80 columns; an empty line becomes " .".
set(CPACK_PACKAGE_DESCRIPTION
    "porthop server sits next to an unmodified WireGuard or OpenVPN server and
makes it reachable on many UDP ports at once (443, 1194, a range of high
ports) and on TCP 443, forwarding every client to the VPN server's own UDP
port. OpenVPN clients with proto tcp-client reach a UDP-only OpenVPN server
through TCP 443.

The hardened systemd unit porthop.service is not enabled on installation:
set the backend in /etc/porthop/server.toml, then run
systemctl enable --now porthop.

The same binary is the client agent (porthop client) that hops ports and
falls back to TCP: set server and key in /etc/porthop/client.toml, then run
systemctl enable --now porthop-client.")
# CPACK_PACKAGING_INSTALL_PREFIX=/usr for the .deb, set per generator in this file:
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_CURRENT_LIST_DIR}/PackagingOptions.cmake)
set(CPACK_STRIP_FILES TRUE)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_NAME porthop)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${PORTHOP_DEB_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Shared-library dependencies (libc6, libstdc++6, libgcc-s1, libtomlplusplus3, libsodium23, libc-ares2, libqrencode4) come from
# dpkg-shlibdeps and are appended to these. A static router build (PORTHOP_STATIC, e.g.
# scripts/cross-build.sh arm64) has none, and dpkg-shlibdeps cannot read a foreign binary's
# dependencies anyway: adduser (the postinst) is all it needs.
if(PORTHOP_STATIC)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
else()
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
endif()
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
# A cross build's package is for the target (the Debian name: arm64, armhf, mipsel), not the host.
if(CMAKE_CROSSCOMPILING AND PORTHOP_CROSS_ARCH)
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${PORTHOP_CROSS_ARCH})
endif()
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "wireguard-tools | openvpn")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PORTHOP_PACKAGING_DIR}/debian/conffiles
    ${PORTHOP_PACKAGING_DIR}/debian/postinst
    ${PORTHOP_PACKAGING_DIR}/debian/prerm
    ${PORTHOP_PACKAGING_DIR}/debian/postrm)
# Maintainer scripts 0755, conffiles 0644, as dpkg expects, whatever the checkout's modes.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

# `cpack --config CPackSourceConfig.cmake`: the sources only, never build trees or git data.
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\.git/" "/build[^/]*/" "\\.swp$")

include(CPack)
