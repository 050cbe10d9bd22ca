// The CLIP tokenizer built into Pawtrait for single files (CLIP's published merge list, its
// vocabulary derived from the merges) against the hub-layout tokenizer folders of the test
// data: the same vocabulary id for id, the same special tokens, and the reference ids on the
// SD and SDXL prompts.
#include "common/json_file.h"
#include "models/clip_tokenizer.h"
#include "models/clip_tokenizer_data.h"
#include "test_support.h"

namespace pawtrait::models {
namespace {

namespace fs = std::filesystem;
using Ids = std::vector<std::int64_t>;

fs::path sdxl_tokenizer(const char* which) { return testing::testdata() / "sdxl" / "sdxl-tiny" / which; }

TEST(PackagedTokenizer, HasTheHubVocabularyIdForId) {
  const ClipTokenizer packaged = packaged_clip_tokenizer();
  const nlohmann::json vocab = read_json_file(testing::testdata() / "sd-tiny" / "tokenizer" / "vocab.json");
  EXPECT_EQ(packaged.vocab_size(), static_cast<std::int64_t>(vocab.size()));
  std::size_t differing = 0;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (packaged.token_to_id(it.key()) != it.value().get<std::int64_t>()) {
      if (++differing < 5) ADD_FAILURE() << it.key() << ": " << packaged.token_to_id(it.key()) << " vs " << it.value();
    }
  }
  EXPECT_EQ(differing, 0u);
  std::cout << "[ measured ] " << vocab.size() - differing << " of " << vocab.size()
            << " vocab.json entries have the same id\n";
}

TEST(PackagedTokenizer, HasTheFoldersSpecialTokens) {
  for (const auto& [pad, folder] :
       {std::pair{"<|endoftext|>", sdxl_tokenizer("tokenizer")}, std::pair{"!", sdxl_tokenizer("tokenizer_2")}}) {
    SCOPED_TRACE(pad);
    const ClipTokenizer packaged = packaged_clip_tokenizer(pad);
    const ClipTokenizer loaded = ClipTokenizer::load(folder);
    EXPECT_EQ(packaged.bos_id(), loaded.bos_id());
    EXPECT_EQ(packaged.eos_id(), loaded.eos_id());
    EXPECT_EQ(packaged.pad_id(), loaded.pad_id());
    EXPECT_EQ(packaged.unk_id(), loaded.unk_id());
    EXPECT_EQ(packaged.max_length(), loaded.max_length());
    ASSERT_EQ(packaged.added_tokens().size(), loaded.added_tokens().size());
    for (std::size_t i = 0; i < loaded.added_tokens().size(); ++i) {
      EXPECT_EQ(packaged.added_tokens()[i].content, loaded.added_tokens()[i].content);
      EXPECT_EQ(packaged.added_tokens()[i].id, loaded.added_tokens()[i].id);
    }
  }
  EXPECT_THROW_MESSAGE(packaged_clip_tokenizer("<pad>"), "pads with");
}

TEST(PackagedTokenizer, GivesTheReferenceIds) {
  const ClipTokenizer sd = packaged_clip_tokenizer();
  const nlohmann::json sd_reference = read_json_file(testing::testdata() / "reference" / "tokens.json");
  for (const auto& entry : sd_reference.at("prompts")) {
    // Made with transformers 4.36 + ftfy.
    EXPECT_EQ(sd(entry.at("prompt").get<std::string>(), TextCleanup::Ftfy), entry.at("input_ids_padded77").get<Ids>())
        << entry["prompt"];
  }
  const nlohmann::json sdxl_reference = read_json_file(testing::testdata() / "sdxl" / "reference" / "tokens.json");
  for (const auto& [which, pad] : {std::pair{"tokenizer", "<|endoftext|>"}, std::pair{"tokenizer_2", "!"}}) {
    const ClipTokenizer packaged = packaged_clip_tokenizer(pad);
    for (const auto& prompt : sdxl_reference.at("prompts")) {
      EXPECT_EQ(packaged(prompt.at("prompt").get<std::string>()), prompt[which]["input_ids_padded77"].get<Ids>())
          << which << " on " << prompt["prompt"];
    }
  }
}

}  // namespace
}  // namespace pawtrait::models
