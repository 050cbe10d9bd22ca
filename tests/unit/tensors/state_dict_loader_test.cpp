#include "tensors/state_dict_loader.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include "tensors/safetensors_reader.h"
#include "tensors/safetensors_writer.h"
#include "test_support.h"

namespace pawtrait::tensors {
namespace {

// Nested modules, a bare parameter and a buffer: the names are "block.proj.weight",
// "block.proj.bias", "scale" and "running_mean".
struct BlockImpl : torch::nn::Module {
  BlockImpl() { proj = register_module("proj", torch::nn::Linear(4, 3)); }
  torch::nn::Linear proj{nullptr};
};
TORCH_MODULE(Block);

struct TinyImpl : torch::nn::Module {
  TinyImpl() {
    block = register_module("block", Block());
    scale = register_parameter("scale", at::ones({3}));
    running_mean = register_buffer("running_mean", at::zeros({3}));
  }
  Block block{nullptr};
  at::Tensor scale;
  at::Tensor running_mean;
};
TORCH_MODULE(Tiny);

NamedTensors matching_weights() {
  return {{"block.proj.weight", at::arange(12, at::kFloat).reshape({3, 4})},
          {"block.proj.bias", at::tensor({1.f, 2.f, 3.f})},
          {"scale", at::tensor({0.5f, 0.25f, 2.f})},
          {"running_mean", at::tensor({7.f, 8.f, 9.f})}};
}

class StateDictLoader : public testing::TempDirTest {};

TEST_F(StateDictLoader, FillsParametersAndBuffersByName) {
  write_safetensors(path("w.safetensors"), matching_weights());
  Tiny model;
  LoadReport report = load_state_dict(*model, {path("w.safetensors")});
  EXPECT_EQ(report.loaded, 4u);
  EXPECT_TRUE(report.complete());
  EXPECT_TRUE(report.unexpected.empty());
  EXPECT_TRUE(at::equal(model->block->proj->weight, at::arange(12, at::kFloat).reshape({3, 4})));
  EXPECT_TRUE(at::equal(model->running_mean, at::tensor({7.f, 8.f, 9.f})));
  EXPECT_TRUE(model->scale.requires_grad());  // still a trainable parameter
}

TEST_F(StateDictLoader, MissingTensorsAreNamedAndNothingIsCopied) {
  NamedTensors weights = matching_weights();
  weights.erase(weights.begin() + 1);  // no block.proj.bias
  write_safetensors(path("w.safetensors"), weights);
  Tiny model;
  const at::Tensor before = model->block->proj->weight.clone();
  EXPECT_THROW_MESSAGE(load_state_dict(*model, {path("w.safetensors")}), "w.safetensors", "1 missing tensor",
                       "block.proj.bias");
  EXPECT_TRUE(at::equal(model->block->proj->weight, before));

  LoadOptions lenient;
  lenient.strict = false;
  LoadReport report = load_state_dict(*model, {path("w.safetensors")}, lenient);
  EXPECT_EQ(report.missing, std::vector<std::string>{"block.proj.bias"});
  EXPECT_EQ(report.loaded, 3u);
}

TEST_F(StateDictLoader, ShapeMismatchNamesBothShapesAndTheFile) {
  NamedTensors weights = matching_weights();
  weights[0].second = at::zeros({5, 4});
  write_safetensors(path("w.safetensors"), weights);
  Tiny model;
  EXPECT_THROW_MESSAGE(load_state_dict(*model, {path("w.safetensors")}), "1 shape mismatch",
                       "block.proj.weight: model expects [3, 4]", "w.safetensors has [5, 4]");
}

TEST_F(StateDictLoader, UnexpectedTensorsAreReportedNotFatal) {
  NamedTensors weights = matching_weights();
  weights.emplace_back("block.extra.weight", at::zeros({2}));
  write_safetensors(path("w.safetensors"), weights);
  Tiny model;
  LoadReport report = load_state_dict(*model, {path("w.safetensors")});
  EXPECT_EQ(report.loaded, 4u);
  EXPECT_EQ(report.unexpected, std::vector<std::string>{"block.extra.weight"});
  EXPECT_NE(report.describe().find("1 unused tensor (block.extra.weight)"), std::string::npos) << report.describe();
}

TEST_F(StateDictLoader, PrefixSelectsOneComponentOfACheckpoint) {
  NamedTensors weights;
  for (auto& [name, tensor] : matching_weights()) weights.emplace_back("model.diffusion_model." + name, tensor);
  weights.emplace_back("first_stage_model.conv.weight", at::zeros({1}));
  write_safetensors(path("ckpt.safetensors"), weights);
  Tiny model;
  LoadOptions options;
  options.prefix = "model.diffusion_model.";
  LoadReport report = load_state_dict(*model, {path("ckpt.safetensors")}, options);
  EXPECT_EQ(report.loaded, 4u);
  EXPECT_TRUE(report.unexpected.empty());  // other components are not "unexpected" for this one
  EXPECT_TRUE(at::equal(model->scale, at::tensor({0.5f, 0.25f, 2.f})));
}

TEST_F(StateDictLoader, ConvertsDtypeOnTheWay) {
  NamedTensors weights;
  for (auto& [name, tensor] : matching_weights()) weights.emplace_back(name, tensor.to(at::kHalf));
  write_safetensors(path("half.safetensors"), weights);
  Tiny model;
  LoadOptions options;
  options.dtype = at::kDouble;
  load_state_dict(*model, {path("half.safetensors")}, options);
  EXPECT_EQ(model->block->proj->weight.scalar_type(), at::kDouble);
  EXPECT_EQ(model->running_mean.scalar_type(), at::kDouble);
  EXPECT_TRUE(at::equal(model->scale, at::tensor({0.5, 0.25, 2.0}, at::kDouble)));
}

TEST_F(StateDictLoader, ShardedWeights) {
  NamedTensors weights = matching_weights();
  write_safetensors(path("a.safetensors"), {weights[0], weights[1]});
  write_safetensors(path("b.safetensors"), {weights[2], weights[3]});
  Tiny model;
  EXPECT_EQ(load_state_dict(*model, {path("a.safetensors"), path("b.safetensors")}).loaded, 4u);

  write_safetensors(path("c.safetensors"), {weights[2]});
  EXPECT_THROW_MESSAGE(load_state_dict(*model, {path("b.safetensors"), path("c.safetensors")}), "tensor 'scale'",
                       "b.safetensors", "c.safetensors");
}

TEST_F(StateDictLoader, ParametersViewTheFileCopyOnWrite) {
  write_safetensors(path("w.safetensors"), matching_weights());
  Tiny model;
  const void* built = model->block->proj->weight.data_ptr();
  load_state_dict(*model, {path("w.safetensors")});
  EXPECT_NE(model->block->proj->weight.data_ptr(), built);  // the file's pages, not the built tensor
  {
    at::NoGradGuard no_grad;
    model->scale.mul_(2);  // as training or merging a LoRA writes into the weights
  }
  EXPECT_TRUE(at::equal(model->scale, at::tensor({1.f, 0.5f, 4.f})));
  EXPECT_TRUE(at::equal(SafetensorsFile::open(path("w.safetensors")).tensor("scale"), at::tensor({0.5f, 0.25f, 2.f})));
  EXPECT_TRUE(model->scale.requires_grad());
}

TEST_F(StateDictLoader, CopiesWhenTheFileMemoryIsNotToBeShared) {
  write_safetensors(path("w.safetensors"), matching_weights());
  Tiny model;
  const void* built = model->block->proj->weight.data_ptr();
  LoadOptions options;
  options.share_file_memory = false;
  load_state_dict(*model, {path("w.safetensors")}, options);
  EXPECT_EQ(model->block->proj->weight.data_ptr(), built);
  EXPECT_TRUE(at::equal(model->block->proj->weight, at::arange(12, at::kFloat).reshape({3, 4})));
}

// Loading in another dtype than the model was built in (bf16 weights for a bf16 run): a file
// already in that dtype is viewed as it is, never converted nor copied first.
TEST_F(StateDictLoader, WeightsInTheWantedDtypeAreViewedNotConverted) {
  NamedTensors weights = matching_weights();
  for (auto& [name, t] : weights) t = t.to(at::kBFloat16);
  write_safetensors(path("w.safetensors"), weights);
  std::vector<SafetensorsFile> files;
  files.push_back(SafetensorsFile::open(path("w.safetensors")));
  Tiny model;
  LoadOptions options;
  options.dtype = at::kBFloat16;
  load_state_dict(*model, files, options);
  EXPECT_EQ(model->block->proj->weight.scalar_type(), at::kBFloat16);
  EXPECT_EQ(model->block->proj->weight.data_ptr(), files[0].tensor("block.proj.weight").data_ptr());
  EXPECT_EQ(model->running_mean.scalar_type(), at::kBFloat16);
  // A float32 file into the same bf16 model is converted, once.
  write_safetensors(path("f32.safetensors"), matching_weights());
  Tiny other;
  load_state_dict(*other, {path("f32.safetensors")}, options);
  EXPECT_EQ(other->block->proj->weight.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::equal(other->block->proj->weight, at::arange(12, at::kFloat).reshape({3, 4}).to(at::kBFloat16)));
}

TEST_F(StateDictLoader, OneFileTensorFillingTwoModuleTensorsIsNotShared) {
  write_safetensors(path("w.safetensors"), matching_weights());
  Tiny model;
  LoadOptions options;
  options.source_for = [](const std::string& name) { return TensorSource{name == "running_mean" ? "scale" : name}; };
  load_state_dict(*model, {path("w.safetensors")}, options);
  {
    at::NoGradGuard no_grad;
    model->scale.fill_(3);
  }
  EXPECT_TRUE(at::equal(model->running_mean, at::tensor({0.5f, 0.25f, 2.f})));
}

}  // namespace
}  // namespace pawtrait::tensors
