#include "models/chat_template.h"

#include "common/error.h"

namespace pawtrait::models {
namespace {

// The template's own text for each piece (Jinja string literals, so "\n" is a backslash and an n).
constexpr std::string_view kUserTurn = R"('<|im_start|>' + message.role + '\n' + content + '<|im_end|>' + '\n')";
constexpr std::string_view kGenerationPrompt = R"('<|im_start|>assistant\n')";
constexpr std::string_view kThinkingSwitch = "enable_thinking is defined and enable_thinking is false";
constexpr std::string_view kEmptyThinkBlock = R"('<think>\n\n</think>\n\n')";

bool has(std::string_view text, std::string_view piece) { return text.find(piece) != std::string_view::npos; }

}  // namespace

ChatTemplate ChatTemplate::parse(std::string_view jinja, const std::string& source) {
  const auto refuse = [&](const std::string& what) {
    return Error(source + ": the chat_template " + what +
                 "; Pawtrait formats prompts as Qwen's ChatML templates do and cannot reproduce this one. "
                 "Use the tokenizer/ folder that came with the model");
  };
  if (jinja.empty()) throw refuse("is missing");
  if (!has(jinja, kUserTurn)) throw refuse("has no ChatML user turn (" + std::string(kUserTurn) + ")");
  if (!has(jinja, "add_generation_prompt") || !has(jinja, kGenerationPrompt)) {
    throw refuse("has no ChatML generation prompt (" + std::string(kGenerationPrompt) + ")");
  }
  // Qwen2.5's templates open with a default system message when the conversation has none:
  // a system turn whose literal goes on after its "\n" ('<|im_start|>system\nYou are Qwen...').
  constexpr std::string_view kSystemTurn = R"('<|im_start|>system\n)";
  for (std::size_t at = jinja.find(kSystemTurn); at != std::string_view::npos; at = jinja.find(kSystemTurn, at + 1)) {
    const std::size_t after = at + kSystemTurn.size();
    if (after < jinja.size() && jinja[after] != '\'') throw refuse("adds a default system message");
  }
  ChatTemplate parsed;
  parsed.closes_thinking_ = has(jinja, kThinkingSwitch);
  if (parsed.closes_thinking_ && !has(jinja, kEmptyThinkBlock)) {
    throw refuse("has the enable_thinking switch but not Qwen3's empty think block (" + std::string(kEmptyThinkBlock) +
                 ")");
  }
  return parsed;
}

std::string ChatTemplate::user_prompt(std::string_view prompt) const {
  std::string text = "<|im_start|>user\n";
  text.append(prompt).append("<|im_end|>\n<|im_start|>assistant\n");
  if (closes_thinking_) text.append("<think>\n\n</think>\n\n");
  return text;
}

}  // namespace pawtrait::models
