#include "models/tokenizer_json.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/json_file.h"
#include "models/chat_template.h"
#include "models/clip_text_cleanup.h"
#include "models/qwen2_pretokenizer.h"
#include "test_support.h"

namespace pawtrait::models {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Ids = std::vector<std::int64_t>;

fs::path klein_tokenizer_dir() { return testing::testdata() / "klein" / "klein-tiny" / "tokenizer"; }

const TokenizerJson& klein_tokenizer() {
  static const TokenizerJson tokenizer = TokenizerJson::load(klein_tokenizer_dir());
  return tokenizer;
}

// klein/reference/tokens.json: Flux2KleinPipeline's Qwen2Tokenizer (transformers 5) on 14
// prompts through the chat template, padded to 512.
const json& reference() {
  static const json file = read_json_file(testing::testdata() / "klein" / "reference" / "tokens.json");
  return file;
}

std::vector<std::string> split(std::u32string_view text) {
  std::vector<std::string> pieces;
  for (const auto& piece : qwen2_split(text)) pieces.push_back(clip_text::to_utf8(piece));
  return pieces;
}

TEST(Qwen2Split, FollowsTheRegexBranchesInOrder) {
  using V = std::vector<std::string>;
  // Contractions before letters, case-folded; a leading non-letter joins the letters.
  EXPECT_EQ(split(U"It's THEY'RE we\u017Fll"), (V{"It", "'s", " THEY", "'RE", " we\u017Fll"}));
  EXPECT_EQ(split(U"x'\u017F"), (V{"x", "'\u017F"}));  // long s folds to s
  // Digits one by one; a space before a digit stands alone.
  EXPECT_EQ(split(U"1024x 12"), (V{"1", "0", "2", "4", "x", " ", "1", "2"}));
  // Punctuation runs take one space before and line breaks after.
  EXPECT_EQ(split(U"a !?\n\nb"), (V{"a", " !?\n\n", "b"}));
  // \s*[\r\n]+ ends at the last line break of a whitespace run; a tab may lead a word.
  EXPECT_EQ(split(U"a \n \tb"), (V{"a", " \n", " ", "\tb"}));
  // \s+(?!\S) leaves the last space to the next word; at the end it takes the whole run.
  EXPECT_EQ(split(U"a   b   "), (V{"a", "  ", " b", "   "}));
  EXPECT_EQ(split(U"\tx"), (V{"\tx"}));
  EXPECT_EQ(split(U""), V{});
}

TEST(TokenizerJson, ReadsTheKleinSpecialTokens) {
  const TokenizerJson& tokenizer = klein_tokenizer();
  EXPECT_EQ(tokenizer.pad_id(), reference().at("pad_token_id").get<std::int64_t>());
  EXPECT_EQ(tokenizer.pad_id(), 3072);
  EXPECT_EQ(tokenizer.eos_id(), 3074);
  EXPECT_EQ(tokenizer.vocab_size(), 3098);
  EXPECT_EQ(tokenizer.added_tokens().size(), 26u);
  for (const auto& [content, id] : reference().at("special_token_ids").items()) {
    EXPECT_EQ(tokenizer.token_to_id(content), id.get<std::int64_t>()) << content;
  }
  EXPECT_TRUE(tokenizer.chat_template().closes_thinking());
  EXPECT_EQ(reference().at("padding_side"), "right");
  EXPECT_EQ(reference().at("truncation_side"), "right");
}

TEST(TokenizerJson, EveryReferencePromptGivesTheReferenceTextTokensAndIds) {
  const TokenizerJson& tokenizer = klein_tokenizer();
  const json& prompts = reference().at("prompts");
  ASSERT_EQ(prompts.size(), 14u);
  for (const json& entry : prompts) {
    const std::string prompt = entry.at("prompt").get<std::string>();
    SCOPED_TRACE(prompt.substr(0, 60));
    const std::string chat = tokenizer.chat_template().user_prompt(prompt);
    EXPECT_EQ(chat, entry.at("chat_text").get<std::string>());
    EXPECT_EQ(tokenizer.tokenize(chat), entry.at("tokens_untruncated").get<std::vector<std::string>>());
    EXPECT_EQ(tokenizer.encode(chat), entry.at("ids_untruncated").get<Ids>());
    EXPECT_EQ(tokenizer.encode(prompt), entry.at("prompt_only_ids").get<Ids>());
    const PaddedIds padded = tokenizer.encode_padded(chat, 512);
    EXPECT_EQ(padded.ids, entry.at("input_ids").get<Ids>());
    EXPECT_EQ(padded.attention_mask, entry.at("attention_mask").get<Ids>());
    EXPECT_EQ(padded.real_tokens, entry.at("n_tokens_untruncated").get<std::int64_t>());
  }
}

class TokenizerJsonFiles : public testing::TempDirTest {
 protected:
  // A copy of the klein tokenizer folder with `edit` applied to tokenizer.json and
  // `edit_config` to tokenizer_config.json.
  fs::path edited(const std::function<void(json&)>& edit, const std::function<void(json&)>& edit_config = {}) {
    const fs::path dir = path("tokenizer");
    fs::create_directories(dir);
    json tokenizer = read_json_file(klein_tokenizer_dir() / "tokenizer.json");
    json config = read_json_file(klein_tokenizer_dir() / "tokenizer_config.json");
    if (edit) edit(tokenizer);
    if (edit_config) edit_config(config);
    std::ofstream(dir / "tokenizer.json") << tokenizer.dump();
    std::ofstream(dir / "tokenizer_config.json") << config.dump();
    return dir;
  }
};

TEST_F(TokenizerJsonFiles, RefusesWhatItDoesNotImplementByName) {
  EXPECT_THROW_MESSAGE(TokenizerJson::load(path("nowhere")), "tokenizer.json is missing");
  EXPECT_THROW_MESSAGE(TokenizerJson::load(edited([](json& t) { t["model"]["type"] = "Unigram"; })), "\"Unigram\"",
                       "not BPE");
  EXPECT_THROW_MESSAGE(
      TokenizerJson::load(edited([](json& t) { t["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\s+"; })),
      "Split pattern", "not Qwen2's");
  EXPECT_THROW_MESSAGE(TokenizerJson::load(edited([](json& t) {
                         t["normalizer"] = {{"type", "Lowercase"}};
                       })),
                       "normalizer is \"Lowercase\"");
  EXPECT_THROW_MESSAGE(TokenizerJson::load(edited([](json& t) {
                         t["model"]["merges"][5] = {"Ġq", "zz"};
                       })),
                       "merge 5", "not in model.vocab");
  EXPECT_THROW_MESSAGE(TokenizerJson::load(edited([](json& t) { t["model"]["dropout"] = 0.1; })), "dropout");
  EXPECT_THROW_MESSAGE(TokenizerJson::load(edited({}, [](json& c) { c.erase("chat_template"); })), "chat_template");
  EXPECT_THROW_MESSAGE(TokenizerJson::load(edited({}, [](json& c) { c["chat_template"] = "{{ messages }}"; })),
                       "ChatML user turn");
  EXPECT_THROW_MESSAGE(TokenizerJson::load(edited({}, [](json& c) { c["pad_token"] = "<|nope|>"; })), "pad_token",
                       "<|nope|>");
}

TEST_F(TokenizerJsonFiles, ReadsTheOlderMergeFormatAndAddedTokenFlags) {
  const TokenizerJson as_strings = TokenizerJson::load(edited([](json& t) {
    for (json& merge : t["model"]["merges"]) merge = merge[0].get<std::string>() + " " + merge[1].get<std::string>();
  }));
  const std::string prompt = "a photo of sks dog, 1024x1024 \u00e9t\u00e9";
  EXPECT_EQ(as_strings.encode(prompt), klein_tokenizer().encode(prompt));

  // rstrip eats the spaces after the token, lstrip those before it.
  const TokenizerJson stripping = TokenizerJson::load(edited([](json& t) {
    for (json& token : t["added_tokens"]) {
      if (token["content"] == "<|im_end|>") token["rstrip"] = true;
      if (token["content"] == "<|im_start|>") token["lstrip"] = true;
    }
  }));
  EXPECT_EQ(stripping.tokenize("a <|im_end|>   b"), (std::vector<std::string>{"a", "Ġ", "<|im_end|>", "b"}));
  EXPECT_EQ(stripping.tokenize("a   <|im_start|>b"), (std::vector<std::string>{"a", "<|im_start|>", "b"}));
  // Without the flags the spaces stay.
  EXPECT_EQ(klein_tokenizer().tokenize("a <|im_end|> b"), (std::vector<std::string>{"a", "Ġ", "<|im_end|>", "Ġb"}));
}

TEST(TokenizerJson, PadsAndTruncatesOnTheRight) {
  const TokenizerJson& tokenizer = klein_tokenizer();
  const Ids ids = tokenizer.encode("a photo of sks dog");
  const PaddedIds short_row = tokenizer.encode_padded("a photo of sks dog", 3);
  EXPECT_EQ(short_row.ids, Ids(ids.begin(), ids.begin() + 3));
  EXPECT_EQ(short_row.attention_mask, (Ids{1, 1, 1}));
  EXPECT_EQ(short_row.real_tokens, static_cast<std::int64_t>(ids.size()));
  EXPECT_THROW_MESSAGE(tokenizer.encode_padded("x", 0), "padded length of 0");
}

TEST(ChatTemplate, WithoutTheThinkingSwitchHasNoThinkBlock) {
  const std::string chatml =
      R"({% for message in messages %}{{'<|im_start|>' + message.role + '\n' + content + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %})";
  const ChatTemplate parsed = ChatTemplate::parse(chatml, "test");
  EXPECT_FALSE(parsed.closes_thinking());
  EXPECT_EQ(parsed.user_prompt("hi"), "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_THROW_MESSAGE(
      ChatTemplate::parse(chatml + R"({{ '<|im_start|>system\nYou are Qwen.<|im_end|>\n' }})", "qwen25"), "qwen25",
      "default system message");
  EXPECT_THROW_MESSAGE(ChatTemplate::parse(chatml + "enable_thinking is defined and enable_thinking is false", "x"),
                       "empty think block");
}

}  // namespace
}  // namespace pawtrait::models
