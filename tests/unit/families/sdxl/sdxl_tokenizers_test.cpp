// SDXL's two tokenizers (the same CLIP BPE files; tokenizer pads with <|endoftext|>,
// tokenizer_2 with "!" = id 0, which it also splits out of the text) against the ids of
// transformers 5.24 in ../shared/testdata/sdxl/reference/tokens.json.
#include "common/json_file.h"
#include "models/clip_tokenizer.h"
#include "test_support.h"

namespace pawtrait::models {
namespace {

std::filesystem::path sdxl() { return testing::testdata() / "sdxl"; }

TEST(SdxlTokenizers, BothGiveTheReferenceIds) {
  const nlohmann::json file = read_json_file(sdxl() / "reference" / "tokens.json");
  for (const char* which : {"tokenizer", "tokenizer_2"}) {
    const ClipTokenizer tokenizer = ClipTokenizer::load(sdxl() / "sdxl-tiny" / which);
    EXPECT_EQ(tokenizer.pad_id(), file[which]["pad_token_id"].get<std::int64_t>()) << which;
    int matched = 0;
    for (const auto& prompt : file["prompts"]) {
      const std::string text = prompt["prompt"];
      const auto expected = prompt[which]["input_ids_padded77"].get<std::vector<std::int64_t>>();
      if (tokenizer(text) == expected) {
        ++matched;
      } else {
        ADD_FAILURE() << which << " on \"" << text << "\"";
      }
    }
    std::cout << "[ measured ] " << which << ": " << matched << " of " << file["prompts"].size()
              << " prompts give the reference ids\n";
  }
}

}  // namespace
}  // namespace pawtrait::models
