# Finds LibTorch and defines the imported target pawtrait::torch.
#
# Where it looks, in order:
#   1. PAWTRAIT_TORCH_PREFIX (cache variable or environment): a torch package or libtorch folder
#      (the one holding include/, lib/ and share/cmake/Torch);
#   2. the project's own .venv (scripts/setup installs PyPI's torch wheel there);
#   3. the torch package of whichever python3 is on PATH;
#   4. a system LibTorch through find_package(Torch) (Debian's libtorch-dev).
#
# Why not the wheel's own TorchConfig.cmake: for the CUDA wheel it insists on a CUDA toolkit,
# GPU architecture detection and every CUDA library at configure time, even for a CPU-only
# build on a machine without a GPU. Here the CPU libraries (libtorch_cpu, libc10) are always
# linked, and the CUDA backend (libtorch_cuda, libc10_cuda) is added when the wheel's CUDA
# library dependencies are installed next to it (PAWTRAIT_CUDA=AUTO) or when asked (ON).

set(PAWTRAIT_TORCH_PREFIX "$ENV{PAWTRAIT_TORCH_PREFIX}" CACHE PATH "LibTorch prefix (torch package folder)")
set(PAWTRAIT_CUDA "AUTO" CACHE STRING "Link LibTorch's CUDA backend: AUTO, ON or OFF")
set_property(CACHE PAWTRAIT_CUDA PROPERTY STRINGS AUTO ON OFF)

function(_pawtrait_torch_candidates out)
  set(result "")
  if(PAWTRAIT_TORCH_PREFIX)
    list(APPEND result "${PAWTRAIT_TORCH_PREFIX}")
  endif()
  file(GLOB venv_torch "${PROJECT_SOURCE_DIR}/.venv/lib/python3*/site-packages/torch")
  list(APPEND result ${venv_torch})
  find_program(_pawtrait_python3 python3)
  if(_pawtrait_python3)
    execute_process(
      COMMAND "${_pawtrait_python3}" -c "import os, torch; print(os.path.dirname(torch.__file__))"
      OUTPUT_VARIABLE py_torch OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
    if(rc EQUAL 0 AND py_torch)
      list(APPEND result "${py_torch}")
    endif()
  endif()
  set(${out} "${result}" PARENT_SCOPE)
endfunction()

_pawtrait_torch_candidates(_candidates)
set(_torch_prefix "")
foreach(candidate IN LISTS _candidates)
  if(EXISTS "${candidate}/include/torch/csrc/api/include/torch/torch.h"
     AND EXISTS "${candidate}/lib/libtorch_cpu.so" AND EXISTS "${candidate}/lib/libc10.so")
    set(_torch_prefix "${candidate}")
    break()
  endif()
endforeach()

add_library(pawtrait_torch INTERFACE)
add_library(pawtrait::torch ALIAS pawtrait_torch)

if(_torch_prefix)
  set(PAWTRAIT_TORCH_ROOT "${_torch_prefix}" CACHE INTERNAL "")
  set(_version "unknown")
  # torch 2.9+ keeps the version in headeronly/version.h; older releases in the API folder.
  foreach(_header "${_torch_prefix}/include/torch/headeronly/version.h"
                  "${_torch_prefix}/include/torch/csrc/api/include/torch/version.h")
    if(_version STREQUAL "unknown" AND EXISTS "${_header}")
      file(STRINGS "${_header}" _lines REGEX "#define TORCH_VERSION_(MAJOR|MINOR|PATCH) [0-9]+")
      if(_lines MATCHES "MAJOR ([0-9]+).*MINOR ([0-9]+).*PATCH ([0-9]+)")
        set(_version "${CMAKE_MATCH_1}.${CMAKE_MATCH_2}.${CMAKE_MATCH_3}")
      endif()
    endif()
  endforeach()
  set(PAWTRAIT_TORCH_VERSION "${_version}" CACHE INTERNAL "")

  set(_libs "${_torch_prefix}/lib/libtorch_cpu.so" "${_torch_prefix}/lib/libc10.so")
  set(_have_cuda_backend OFF)
  if(EXISTS "${_torch_prefix}/lib/libtorch_cuda.so")
    # The full wheel puts cuDNN etc. under site-packages/nvidia; its libraries' RPATH finds them there.
    if(PAWTRAIT_CUDA STREQUAL "ON" OR (PAWTRAIT_CUDA STREQUAL "AUTO" AND EXISTS "${_torch_prefix}/../nvidia/cudnn"))
      set(_have_cuda_backend ON)
    endif()
  elseif(PAWTRAIT_CUDA STREQUAL "ON")
    message(FATAL_ERROR "PAWTRAIT_CUDA=ON but ${_torch_prefix} has no libtorch_cuda.so (a CPU-only LibTorch)")
  endif()
  if(_have_cuda_backend)
    # --no-as-needed: nothing references libtorch_cuda directly; it registers the CUDA backend when loaded.
    list(APPEND _libs "-Wl,--no-as-needed" "${_torch_prefix}/lib/libtorch_cuda.so"
         "${_torch_prefix}/lib/libc10_cuda.so" "-Wl,--as-needed")
  endif()
  set(PAWTRAIT_TORCH_CUDA ${_have_cuda_backend} CACHE INTERNAL "")

  target_include_directories(pawtrait_torch SYSTEM INTERFACE
    "${_torch_prefix}/include" "${_torch_prefix}/include/torch/csrc/api/include")
  target_link_libraries(pawtrait_torch INTERFACE ${_libs} Threads::Threads)
  # Linked by full path, so CMake puts ${_torch_prefix}/lib in the build tree's RPATH and
  # replaces it with INSTALL_RPATH on install (packaging/Packaging.cmake).
  message(STATUS "LibTorch ${_version} at ${_torch_prefix} (CUDA backend: ${_have_cuda_backend})")
else()
  find_package(Torch QUIET)
  if(NOT Torch_FOUND)
    message(FATAL_ERROR
      "LibTorch not found. Run scripts/setup (it installs PyPI's torch==2.11.0 into .venv), "
      "or point PAWTRAIT_TORCH_PREFIX at a torch package or libtorch folder.")
  endif()
  target_link_libraries(pawtrait_torch INTERFACE ${TORCH_LIBRARIES})
  target_include_directories(pawtrait_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
  get_filename_component(PAWTRAIT_TORCH_ROOT "${TORCH_LIBRARY}" DIRECTORY)
  get_filename_component(PAWTRAIT_TORCH_ROOT "${PAWTRAIT_TORCH_ROOT}" DIRECTORY)
  set(PAWTRAIT_TORCH_ROOT "${PAWTRAIT_TORCH_ROOT}" CACHE INTERNAL "")
  set(PAWTRAIT_TORCH_VERSION "${Torch_VERSION}" CACHE INTERNAL "")
  set(PAWTRAIT_TORCH_CUDA OFF CACHE INTERNAL "")
  message(STATUS "LibTorch ${Torch_VERSION} from the system (${TORCH_LIBRARIES})")
endif()
