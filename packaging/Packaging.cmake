# Desktop integration files and a Debian package: `cpack -G DEB` in the build folder.
if(PAWTRAIT_BUILD_GUI)
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/io.github.pawtrait.Pawtrait.desktop
          DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/io.github.pawtrait.Pawtrait.metainfo.xml
          DESTINATION ${CMAKE_INSTALL_DATADIR}/metainfo)
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/icons/pawtrait.svg
          DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps RENAME io.github.pawtrait.Pawtrait.svg)
  foreach(size 16 32 48 64 128 256)
    install(FILES ${PROJECT_SOURCE_DIR}/packaging/icons/pawtrait-${size}.png
            DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/${size}x${size}/apps
            RENAME io.github.pawtrait.Pawtrait.png)
  endforeach()
endif()

# LibTorch travels inside the package: no distribution packages the pinned version (Debian
# has 1.13), so the libraries the programs link are installed into a private folder that
# the programs' RPATH names. CPU build: libtorch_cpu, libc10, LibTorch's OpenMP runtime and
# the two small CUDA runtime libraries libtorch_cpu itself needs.
set(PAWTRAIT_PRIVATE_LIBDIR "${CMAKE_INSTALL_LIBDIR}/pawtrait")
set_target_properties(pawtrait-cli PROPERTIES INSTALL_RPATH "$ORIGIN/../${PAWTRAIT_PRIVATE_LIBDIR}")
if(TARGET pawtrait)
  set_target_properties(pawtrait PROPERTIES INSTALL_RPATH "$ORIGIN/../${PAWTRAIT_PRIVATE_LIBDIR}")
endif()
if(PAWTRAIT_TORCH_ROOT AND EXISTS "${PAWTRAIT_TORCH_ROOT}/lib/libtorch_cpu.so")
  set(_bundle "${PAWTRAIT_TORCH_ROOT}/lib/libtorch_cpu.so" "${PAWTRAIT_TORCH_ROOT}/lib/libc10.so")
  file(GLOB _gomp "${PAWTRAIT_TORCH_ROOT}/lib/libgomp*.so*")
  file(GLOB _cuda_runtime "${PAWTRAIT_TORCH_ROOT}/../nvidia/cu13/lib/libcudart.so.*"
                          "${PAWTRAIT_TORCH_ROOT}/../nvidia/cu13/lib/libcupti.so.*")
  list(APPEND _bundle ${_gomp} ${_cuda_runtime})
  if(PAWTRAIT_TORCH_CUDA)
    message(WARNING "The package bundles LibTorch's CUDA backend but not NVIDIA's CUDA libraries (cuDNN, cuBLAS, ...); "
                    "install those on the target machine.")
    list(APPEND _bundle "${PAWTRAIT_TORCH_ROOT}/lib/libtorch_cuda.so" "${PAWTRAIT_TORCH_ROOT}/lib/libc10_cuda.so")
  endif()
  install(FILES ${_bundle} DESTINATION ${PAWTRAIT_PRIVATE_LIBDIR})
endif()

set(CPACK_PACKAGE_NAME "pawtrait")
set(CPACK_PACKAGE_VENDOR "Pawtrait")
set(CPACK_PACKAGE_CONTACT "Pawtrait developers <pawtrait@invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
    "Pawtrait fine-tunes a Stable Diffusion model on a handful of photos of your pet, on your own "
    "computer, and then generates new pictures of it. Includes the desktop app (pawtrait) and the "
    "command-line tool (pawtrait-cli). LibTorch is bundled.")
set(CPACK_PACKAGE_INSTALL_DIRECTORY "pawtrait")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_PACKAGE_SECTION "graphics")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# dpkg-shlibdeps cannot resolve the bundled private libraries through the system paths.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS "${CMAKE_INSTALL_PREFIX}/${PAWTRAIT_PRIVATE_LIBDIR}")
set(CPACK_DEBIAN_COMPRESSION_TYPE "zstd")
set(CPACK_STRIP_FILES ON)
include(CPack)
