#include "families/flux2/flux2_text_encoding.h"

#include <ATen/ATen.h>

#include "common/error.h"

namespace pawtrait::families {

at::Tensor encode_prompts(models::Qwen3TextModel& encoder, const models::TokenizerJson& tokenizer,
                          const std::vector<std::string>& prompts, const std::vector<std::int64_t>& layers,
                          int max_length) {
  std::vector<at::Tensor> rows;
  rows.reserve(prompts.size());
  // One prompt at a time, as the reference does: batching would change nothing but the order
  // of float sums inside the attention.
  for (const std::string& prompt : prompts) {
    rows.push_back(encode_padded_prompt(
        encoder, tokenizer.encode_padded(tokenizer.chat_template().user_prompt(prompt), max_length), layers));
  }
  return at::cat(rows, 0);
}

at::Tensor encode_padded_prompt(models::Qwen3TextModel& encoder, const models::PaddedIds& padded,
                                const std::vector<std::int64_t>& layers) {
  if (layers.empty()) throw Error("no text-encoder layers were given; the default is 9,18,27");
  const at::Device device = encoder->model->embed_tokens->weight.device();
  const auto ids_options = at::TensorOptions().dtype(at::kLong);
  const auto n = static_cast<std::int64_t>(padded.ids.size());
  const at::Tensor ids = at::tensor(padded.ids, ids_options).view({1, n}).to(device);
  const at::Tensor mask = at::tensor(padded.attention_mask, ids_options).view({1, n}).to(device);
  const std::vector<at::Tensor> states = encoder->hidden_states(ids, mask, layers);
  // stack(dim=1) (1, L, n, hidden) -> permute(0, 2, 1, 3) -> (1, n, L·hidden)
  return at::stack(states, 1).permute({0, 2, 1, 3}).reshape({1, n, -1});
}

at::Tensor text_position_ids(std::int64_t n) {
  at::Tensor ids = at::zeros({1, n, 4}, at::TensorOptions().dtype(at::kLong));
  ids.select(2, 3).copy_(at::arange(n, at::TensorOptions().dtype(at::kLong)).view({1, n}));
  return ids;
}

}  // namespace pawtrait::families
