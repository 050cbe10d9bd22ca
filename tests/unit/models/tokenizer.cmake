# Tests of the byte-level BPE tokenizers (CLIP's; tokenizer.json) against the reference ids in ../shared/testdata.
pawtrait_unit_test(tokenizer_test ${CMAKE_CURRENT_LIST_DIR}/clip_tokenizer_test.cpp
                   ${CMAKE_CURRENT_LIST_DIR}/tokenizer_json_test.cpp
                   ${CMAKE_CURRENT_LIST_DIR}/packaged_tokenizer_test.cpp
                   ${CMAKE_CURRENT_LIST_DIR}/../families/sdxl/sdxl_tokenizers_test.cpp)
