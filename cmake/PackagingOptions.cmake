# Read by cpack once per generator (CPACK_PROJECT_CONFIG_FILE, set in Packaging.cmake).
# The /usr prefix belongs to the binary package only: set for every generator, it would also
# move the source tarball's files under usr/.
if(CPACK_GENERATOR STREQUAL "DEB")
  set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
endif()
