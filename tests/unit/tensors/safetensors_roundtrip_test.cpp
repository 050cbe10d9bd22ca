#include <ATen/ATen.h>

#include "common/error.h"
#include "tensors/safetensors_reader.h"
#include "tensors/safetensors_writer.h"
#include "tensors/torch_dtype.h"
#include "test_support.h"

namespace pawtrait::tensors {
namespace {

class SafetensorsRoundTrip : public testing::TempDirTest {};

// Values that use each type's range, made on the CPU in a way every dtype supports.
at::Tensor sample(at::ScalarType type, std::vector<std::int64_t> shape, int seed) {
  at::manual_seed(seed);
  if (type == at::kBool) return at::randint(0, 2, shape, at::kLong).to(at::kBool);
  if (at::isFloatingType(type)) return (at::randn(shape) * 3).to(type);
  const std::int64_t high = at::elementSize(type) == 1 ? 127 : 30000;
  return at::randint(0, high, shape, at::kLong).to(type);
}

// Byte-level equality: holds for every dtype, including those without comparison kernels.
void expect_same_bytes(const at::Tensor& a, const at::Tensor& b) {
  ASSERT_EQ(a.scalar_type(), b.scalar_type());
  ASSERT_EQ(a.sizes(), b.sizes());
  at::Tensor ab = a.contiguous().view(at::kByte);
  at::Tensor bb = b.contiguous().view(at::kByte);
  EXPECT_TRUE(at::equal(ab, bb));
}

TEST_F(SafetensorsRoundTrip, EveryDtype) {
  const std::vector<Dtype> all = {Dtype::F64,     Dtype::F32, Dtype::F16, Dtype::BF16, Dtype::F8_E4M3,
                                  Dtype::F8_E5M2, Dtype::I64, Dtype::I32, Dtype::I16,  Dtype::I8,
                                  Dtype::U64,     Dtype::U32, Dtype::U16, Dtype::U8,   Dtype::BOOL};
  NamedTensors written;
  int seed = 0;
  for (Dtype dtype : all) {
    const at::ScalarType type = to_scalar_type(dtype);
    ASSERT_EQ(from_scalar_type(type), dtype);
    // An odd element count for the 1- and 2-byte types puts later tensors off 8-byte alignment.
    written.emplace_back(std::string(dtype_name(dtype)) + ".w", sample(type, {3, 5}, seed++));
  }
  write_safetensors(path("all.safetensors"), written);

  SafetensorsFile file = SafetensorsFile::open(path("all.safetensors"));
  ASSERT_EQ(file.entries().size(), written.size());
  for (const auto& [name, tensor] : written) {
    SCOPED_TRACE(name);
    expect_same_bytes(file.tensor(name), tensor);
  }
}

TEST_F(SafetensorsRoundTrip, MetadataAndValues) {
  at::Tensor w = at::arange(12, at::kFloat).reshape({3, 4});
  write_safetensors(path("m.safetensors"), {{"w", w}, {"scalar", at::scalar_tensor(2.5, at::kDouble)}},
                    {{"format", "pt"}, {"pawtrait.note", "ünïcode ✓"}});
  SafetensorsFile file = SafetensorsFile::open(path("m.safetensors"));
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.metadata().at("pawtrait.note"), "ünïcode ✓");
  EXPECT_TRUE(at::equal(file.tensor("w"), w));
  EXPECT_EQ(file.tensor("scalar").dim(), 0);
  EXPECT_EQ(file.tensor("scalar").item<double>(), 2.5);
}

TEST_F(SafetensorsRoundTrip, NonContiguousAndEmptyTensors) {
  at::Tensor t = at::arange(6, at::kFloat).reshape({2, 3}).t();
  write_safetensors(path("t.safetensors"), {{"t", t}, {"empty", at::empty({0, 4})}});
  SafetensorsFile file = SafetensorsFile::open(path("t.safetensors"));
  EXPECT_TRUE(at::equal(file.tensor("t"), t));
  EXPECT_EQ(file.tensor("empty").sizes(), at::IntArrayRef({0, 4}));
}

TEST_F(SafetensorsRoundTrip, AlignedTensorsAreViewsOfTheMapping) {
  write_safetensors(path("v.safetensors"), {{"a", at::ones({4, 4})}, {"b", at::zeros({8})}});
  SafetensorsFile file = SafetensorsFile::open(path("v.safetensors"));
  at::Tensor first = file.tensor("a");
  at::Tensor second = file.tensor("a");
  EXPECT_EQ(first.data_ptr(), second.data_ptr());  // no copy: both look at the mapped file
  // Writing into a view changes this process's page, never the file.
  first.fill_(7);
  EXPECT_TRUE(at::equal(SafetensorsFile::open(path("v.safetensors")).tensor("a"), at::ones({4, 4})));
}

TEST_F(SafetensorsRoundTrip, ViewsOutliveTheFileObject) {
  write_safetensors(path("o.safetensors"), {{"a", at::full({16}, 3.0)}});
  at::Tensor kept;
  {
    SafetensorsFile file = SafetensorsFile::open(path("o.safetensors"));
    kept = file.tensor("a");
  }
  EXPECT_EQ(kept.sum().item<double>(), 48.0);
}

TEST_F(SafetensorsRoundTrip, ReadsTheTinyModel) {
  SafetensorsFile file =
      SafetensorsFile::open(testing::testdata() / "sd-tiny" / "unet" / "diffusion_pytorch_model.safetensors");
  EXPECT_EQ(file.entries().size(), 304u);
  at::Tensor conv_in = file.tensor("conv_in.weight");
  EXPECT_EQ(conv_in.sizes(), at::IntArrayRef({32, 4, 3, 3}));
  EXPECT_EQ(conv_in.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::isfinite(conv_in).all().item<bool>());
  EXPECT_THROW_MESSAGE(file.tensor("no.such.tensor"), "diffusion_pytorch_model.safetensors", "no.such.tensor");
}

TEST_F(SafetensorsRoundTrip, WriterRejectsBadInput) {
  EXPECT_THROW_MESSAGE(write_safetensors(path("d.safetensors"), {{"x", at::ones({1})}, {"x", at::ones({1})}}),
                       "tensor 'x' is given twice");
  EXPECT_THROW_MESSAGE(write_safetensors(path("c.safetensors"), {{"z", at::ones({2}, at::kComplexFloat)}}),
                       "cannot be saved as safetensors");
  EXPECT_FALSE(std::filesystem::exists(path("d.safetensors")));
  EXPECT_FALSE(std::filesystem::exists(path("c.safetensors")));
}

}  // namespace
}  // namespace pawtrait::tensors
