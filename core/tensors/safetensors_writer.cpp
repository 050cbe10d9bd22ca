#include "tensors/safetensors_writer.h"

#include <nlohmann/json.hpp>
#include <set>

#include "common/atomic_file.h"
#include "common/error.h"
#include "tensors/torch_dtype.h"

namespace pawtrait::tensors {

void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // nlohmann's ordered_json keeps insertion order, so the header lists tensors in data order.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string_view> seen;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") throw Error("cannot write " + path.string() + ": '__metadata__' is not a tensor name");
    if (!seen.insert(name).second)
      throw Error("cannot write " + path.string() + ": tensor '" + name + "' is given twice");
    if (!tensor.defined()) throw Error("cannot write " + path.string() + ": tensor '" + name + "' is undefined");
    Dtype dtype = from_scalar_type(tensor.scalar_type());
    const std::uint64_t bytes = static_cast<std::uint64_t>(tensor.numel()) * dtype_size(dtype);
    header[name] = {{"dtype", std::string(dtype_name(dtype))},
                    {"shape", tensor.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  // Pad so the data section, and so every tensor of 8-byte-multiple size, starts 8-aligned.
  text.append((8 - text.size() % 8) % 8, ' ');

  AtomicFile file(path);
  const std::uint64_t header_size = text.size();
  unsigned char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(header_size >> (8 * i));
  file.write(length, sizeof length);
  file.write(text);
  for (const auto& [name, tensor] : tensors) {
    at::Tensor cpu = tensor.to(at::kCPU).contiguous();
    if (cpu.numel() > 0) file.write(cpu.data_ptr(), cpu.nbytes());
  }
  file.commit();
}

}  // namespace pawtrait::tensors
