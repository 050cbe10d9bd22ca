#include "models/clip_tokenizer_data.h"

#include <mutex>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/error.h"
#include "common/inflate.h"

// The gzip file itself, placed in the read-only data by the assembler: no generated source
// and no file to find at run time.
asm(".section .rodata\n"
    ".balign 16\n"
    ".global pawtrait_clip_bpe_begin\n"
    "pawtrait_clip_bpe_begin:\n"
    ".incbin \"" PAWTRAIT_CLIP_BPE_FILE
    "\"\n"
    ".global pawtrait_clip_bpe_end\n"
    "pawtrait_clip_bpe_end:\n"
    ".previous\n");
extern "C" const unsigned char pawtrait_clip_bpe_begin[];
extern "C" const unsigned char pawtrait_clip_bpe_end[];

namespace pawtrait::models {
namespace {

constexpr const char* kSource = "the built-in CLIP merges (bpe_simple_vocab_16e6.txt.gz)";

// The merges file is 1.8 MB unpacked.
constexpr std::size_t kMaxMergesText = std::size_t{16} << 20;

// The file's first line names it ("bpe_simple_vocab_16e6.txt#version: 0.2"); merges.txt's
// header is "#version: 0.2".
std::string merges_text() {
  std::string text = inflate_bytes({reinterpret_cast<const char*>(pawtrait_clip_bpe_begin),
                                    static_cast<std::size_t>(pawtrait_clip_bpe_end - pawtrait_clip_bpe_begin)},
                                   /*gzip=*/true, kMaxMergesText, kSource);
  const std::size_t header = text.find("#version");
  if (header == std::string::npos || header > text.find('\n')) {
    throw Error(std::string(kSource) + " has no #version header; rebuild Pawtrait after scripts/setup");
  }
  return text.substr(header);
}

nlohmann::json added_token(const std::string& content, bool normalized) {
  return {{"content", content}, {"lstrip", false},      {"normalized", normalized},
          {"rstrip", false},    {"single_word", false}, {"special", true}};
}

}  // namespace

ClipTokenizer packaged_clip_tokenizer(const std::string& pad_token) {
  if (pad_token != "<|endoftext|>" && pad_token != "!") {
    throw Error("the built-in CLIP tokenizer pads with \"<|endoftext|>\" or \"!\", not \"" + pad_token + "\"");
  }
  static std::once_flag once;
  static std::string merges;
  std::call_once(once, [] { merges = merges_text(); });
  nlohmann::json config = {{"bos_token", "<|startoftext|>"},
                           {"eos_token", "<|endoftext|>"},
                           {"unk_token", "<|endoftext|>"},
                           {"pad_token", pad_token},
                           {"model_max_length", 77}};
  config["added_tokens_decoder"]["49406"] = added_token("<|startoftext|>", true);
  config["added_tokens_decoder"]["49407"] = added_token("<|endoftext|>", true);
  if (pad_token == "!") config["added_tokens_decoder"]["0"] = added_token("!", false);
  return ClipTokenizer::from_merges(merges, config.dump(), kSource);
}

}  // namespace pawtrait::models
