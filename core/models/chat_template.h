#pragma once

#include <string>
#include <string_view>

namespace pawtrait::models {

// What a tokenizer_config.json's Jinja chat_template makes of one user message with
// add_generation_prompt=True and enable_thinking=False -- the only call a text-to-image
// pipeline makes (Flux2KleinPipeline's apply_chat_template). Pawtrait does not run Jinja: it
// recognises the ChatML family of templates Qwen models ship (the user turn
// "<|im_start|>user\n...<|im_end|>\n", the generation prompt "<|im_start|>assistant\n", and
// Qwen3's empty think block where the template has the enable_thinking switch) and refuses a
// template it cannot reproduce, naming what it lacks.
class ChatTemplate {
 public:
  // `source` names the file in errors.
  static ChatTemplate parse(std::string_view jinja, const std::string& source);

  // The text the reference renders for `prompt` as the one user message.
  std::string user_prompt(std::string_view prompt) const;
  bool closes_thinking() const { return closes_thinking_; }

 private:
  bool closes_thinking_ = false;
};

}  // namespace pawtrait::models
