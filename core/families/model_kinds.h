#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pawtrait::families {

// How a trained built-in model is named: builtin:RUN_DIR (the folder its training wrote).
inline constexpr std::string_view kBuiltinPrefix = "builtin:";

// What kind of model a folder or a file is, told from the names it carries alone: a
// diffusers folder's model_index.json "_class_name", a single file's tensor-name prefixes.
// The first piece of the model-family registry: today it tells the supported Stable
// Diffusion 1.x/2.x from the kinds that are not supported (yet), so that those are refused by
// name instead of failing on a missing or unexpected config later.
struct ModelKind {
  std::string name;  // "Stable Diffusion XL", "FLUX.2 [klein]", ...
  bool supported = false;
};

// The kind a diffusers pipeline class loads; nothing for a class name it does not know (a
// custom pipeline is left to its configs).
std::optional<ModelKind> kind_of_pipeline(const std::string& class_name);

// The kind a single-file checkpoint's tensor names show (SGM/LDM layouts); nothing when the
// names do not tell.
std::optional<ModelKind> kind_of_single_file(const std::vector<std::string>& tensor_names);

// The kind of a diffusers folder (its model_index.json) or a .safetensors file (its tensor
// names); nothing when neither tells. Throws pawtrait::Error for an unreadable file.
std::optional<ModelKind> kind_of_model(const std::filesystem::path& path);

// Throws pawtrait::Error, naming the kind and how it was told, for a folder or file of a kind
// that is not supported; passes otherwise.
void refuse_unsupported(const std::filesystem::path& path);

// Throws pawtrait::Error naming the kind for a single file (`source`) whose tensor names show a
// kind that is not supported.
void refuse_unsupported_single_file(const std::vector<std::string>& tensor_names, const std::string& source);

// Throws pawtrait::Error for a diffusers folder whose model_index.json, or a single file whose
// tensor names, show another kind than Stable Diffusion 1.x/2.x (the SD loader's check;
// `doing` says what was asked of it).
void refuse_other_than_sd(const std::filesystem::path& folder, const std::string& doing);

// Throws pawtrait::Error, naming the kind and how it was told, for a diffusers folder whose
// model_index.json names a kind of model that is not supported. A folder without one, or
// with an unknown class, passes.
void refuse_unsupported_folder(const std::filesystem::path& folder);

// What is supported, for the end of a refusal.
std::string supported_kinds();

}  // namespace pawtrait::families
