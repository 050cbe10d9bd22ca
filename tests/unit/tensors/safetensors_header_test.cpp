// Every malformed-file case of the safetensors format gets its own clear error, naming the
// file and (where there is one) the tensor; nothing crashes or reads out of bounds.
#include "tensors/safetensors_header.h"

#include <cstring>

#include "common/error.h"
#include "tensors/safetensors_reader.h"
#include "test_support.h"

namespace pawtrait::tensors {
namespace {

std::string le64(std::uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(value >> (8 * i));
  return bytes;
}

// A file with the given header text and `data_size` bytes of data.
std::string file_with(const std::string& header, std::size_t data_size) {
  return le64(header.size()) + header + std::string(data_size, '\x01');
}

SafetensorsHeader parse(const std::string& bytes) {
  return parse_safetensors_header(std::as_bytes(std::span(bytes.data(), bytes.size())), "weights.safetensors");
}

TEST(SafetensorsHeader, ParsesAValidHeader) {
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},)"
      R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"empty":{"dtype":"I64","shape":[0,3],"data_offsets":[12,12]}})";
  SafetensorsHeader parsed = parse(file_with(header, 12));
  ASSERT_EQ(parsed.tensors.size(), 3u);
  EXPECT_EQ(parsed.tensors[0].name, "a");  // in data order, not header order
  EXPECT_EQ(parsed.tensors[1].name, "b");
  EXPECT_EQ(parsed.tensors[1].dtype, Dtype::F16);
  EXPECT_EQ(parsed.tensors[2].numel(), 0);
  EXPECT_EQ(parsed.metadata.at("format"), "pt");
  EXPECT_EQ(parsed.data_start, 8 + header.size());
  EXPECT_EQ(parsed.data_size, 12u);
}

TEST(SafetensorsHeader, AcceptsSpacePaddingAfterTheHeader) {
  const std::string header = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}   )";
  EXPECT_EQ(parse(file_with(header, 1)).tensors.size(), 1u);
}

TEST(SafetensorsHeader, EmptyFile) { EXPECT_THROW_MESSAGE(parse(""), "weights.safetensors", "empty"); }

TEST(SafetensorsHeader, ShorterThanTheLengthField) {
  EXPECT_THROW_MESSAGE(parse("abc"), "weights.safetensors", "3 bytes", "too short");
}

TEST(SafetensorsHeader, HeaderLengthPastTheEndOfTheFile) {
  EXPECT_THROW_MESSAGE(parse(le64(1000) + "{}"), "weights.safetensors", "header length (1000 bytes)",
                       "runs past the end of the file (10 bytes)");
}

TEST(SafetensorsHeader, HugeHeaderLengthDoesNotOverflow) {
  EXPECT_THROW_MESSAGE(parse(le64(~0ULL) + "{}"), "runs past the end of the file");
}

TEST(SafetensorsHeader, HeaderIsNotJson) {
  EXPECT_THROW_MESSAGE(parse(file_with("{\"a\": nope}", 0)), "weights.safetensors", "not valid JSON");
}

TEST(SafetensorsHeader, HeaderIsNotAnObject) {
  EXPECT_THROW_MESSAGE(parse(file_with("[1, 2, 3]", 0)), "weights.safetensors", "not a JSON object");
  EXPECT_THROW_MESSAGE(parse(file_with("\"text\"", 0)), "not a JSON object");
}

TEST(SafetensorsHeader, OffsetsOutOfRange) {
  const std::string header = R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
  EXPECT_THROW_MESSAGE(parse(file_with(header, 8)), "weights.safetensors", "tensor 'w'", "[0, 16]",
                       "run past the end of the data (8 bytes)");
}

TEST(SafetensorsHeader, OverlappingTensors) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  EXPECT_THROW_MESSAGE(parse(file_with(header, 12)), "tensor 'b'", "overlaps tensor 'a'");
}

TEST(SafetensorsHeader, GapBetweenTensors) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})";
  EXPECT_THROW_MESSAGE(parse(file_with(header, 20)), "tensor 'b'", "gap of 4 unused bytes");
}

TEST(SafetensorsHeader, GapBeforeTheFirstTensor) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  EXPECT_THROW_MESSAGE(parse(file_with(header, 12)), "tensor 'a'", "gap of 4 unused bytes");
}

TEST(SafetensorsHeader, BytesAfterTheLastTensor) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_THROW_MESSAGE(parse(file_with(header, 10)), "weights.safetensors", "2 bytes after the last tensor");
}

TEST(SafetensorsHeader, ByteCountDoesNotMatchDtypeAndShape) {
  const std::string header = R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})";
  EXPECT_THROW_MESSAGE(parse(file_with(header, 8)), "tensor 'w'", "holds 8 bytes", "F32", "3 x 4 bytes");
}

TEST(SafetensorsHeader, ShapeWhoseSizeOverflows) {
  const std::string header = R"({"w":{"dtype":"F64","shape":[4294967296,4294967296,4],"data_offsets":[0,8]}})";
  EXPECT_THROW_MESSAGE(parse(file_with(header, 8)), "tensor 'w'");
}

TEST(SafetensorsHeader, UnknownDtype) {
  const std::string header = R"({"w":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}})";
  EXPECT_THROW_MESSAGE(parse(file_with(header, 1)), "weights.safetensors", "tensor 'w'", "unknown dtype \"F7\"");
}

TEST(SafetensorsHeader, DuplicateNames) {
  const std::string header = R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                             R"("w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})";
  EXPECT_THROW_MESSAGE(parse(file_with(header, 2)), "weights.safetensors", "tensor 'w' appears twice");
}

TEST(SafetensorsHeader, NegativeOrFractionalNumbers) {
  EXPECT_THROW_MESSAGE(parse(file_with(R"({"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})", 1)), "tensor 'w'",
                       "shape must hold non-negative integers");
  EXPECT_THROW_MESSAGE(parse(file_with(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1.5]}})", 1)), "tensor 'w'",
                       "data_offsets must hold non-negative integers");
}

TEST(SafetensorsHeader, MissingFields) {
  EXPECT_THROW_MESSAGE(parse(file_with(R"({"w":{"shape":[1],"data_offsets":[0,1]}})", 1)), "tensor 'w'", "no dtype");
  EXPECT_THROW_MESSAGE(parse(file_with(R"({"w":{"dtype":"U8","data_offsets":[0,1]}})", 1)), "tensor 'w'", "no shape");
  EXPECT_THROW_MESSAGE(parse(file_with(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0]}})", 1)), "tensor 'w'",
                       "data_offsets must be [begin, end]");
  EXPECT_THROW_MESSAGE(parse(file_with(R"({"w":[1,2]})", 0)), "tensor 'w'", "not an object");
}

TEST(SafetensorsHeader, OffsetsEndBeforeTheyBegin) {
  EXPECT_THROW_MESSAGE(parse(file_with(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[2,1]}})", 2)), "tensor 'w'",
                       "end before they begin");
}

TEST(SafetensorsHeader, MetadataMustBeStrings) {
  EXPECT_THROW_MESSAGE(parse(file_with(R"({"__metadata__":{"steps":100}})", 0)), "__metadata__ entry 'steps'");
  EXPECT_THROW_MESSAGE(parse(file_with(R"({"__metadata__":[1]})", 0)), "__metadata__ must be an object");
}

TEST(SafetensorsHeader, DeeplyNestedJsonIsRejected) {
  const std::string header = "{\"a\":" + std::string(5000, '[') + std::string(5000, ']') + "}";
  EXPECT_THROW_MESSAGE(parse(file_with(header, 0)), "weights.safetensors", "nests deeper");
}

class SafetensorsFileErrors : public testing::TempDirTest {};

TEST_F(SafetensorsFileErrors, OpeningNamesTheFile) {
  auto file = write_bytes("broken.safetensors", le64(64) + "{}");
  EXPECT_THROW_MESSAGE(SafetensorsFile::open(file), "broken.safetensors", "runs past the end");
  EXPECT_THROW_MESSAGE(SafetensorsFile::open(path("absent.safetensors")), "absent.safetensors", "cannot open");
  auto empty = write_bytes("empty.safetensors", "");
  EXPECT_THROW_MESSAGE(SafetensorsFile::open(empty), "empty.safetensors", "empty");
}

TEST_F(SafetensorsFileErrors, TruncatedRealModelFile) {
  const auto source = testing::testdata() / "sd-tiny" / "unet" / "diffusion_pytorch_model.safetensors";
  std::string bytes = read_bytes(source);
  ASSERT_GT(bytes.size(), 100000u) << "test data missing at " << source;
  auto truncated = write_bytes("unet.safetensors", bytes.substr(0, bytes.size() - 1000));
  EXPECT_THROW_MESSAGE(SafetensorsFile::open(truncated), "unet.safetensors", "run past the end of the data");
}

}  // namespace
}  // namespace pawtrait::tensors
