#include "tensors/state_dict_loader.h"

#include <torch/nn/module.h>

#include <set>
#include <sstream>
#include <unordered_map>

#include "common/error.h"
#include "tensors/safetensors_reader.h"

namespace pawtrait::tensors {
namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

template <typename Items, typename Format>
void append_list(std::ostringstream& out, const Items& items, std::size_t max_names, Format format) {
  out << " (";
  for (std::size_t i = 0; i < items.size() && i < max_names; ++i) out << (i ? ", " : "") << format(items[i]);
  if (items.size() > max_names) out << ", and " << items.size() - max_names << " more";
  out << ')';
}

struct Located {
  const SafetensorsFile* file;
  const TensorEntry* entry;
};

}  // namespace

std::string LoadReport::describe(std::size_t max_names) const {
  std::ostringstream out;
  auto plural = [](std::size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  const char* separator = "";
  if (!missing.empty()) {
    out << plural(missing.size(), "missing tensor", "missing tensors");
    append_list(out, missing, max_names, [](const std::string& s) { return s; });
    separator = "; ";
  }
  if (!mismatched.empty()) {
    out << separator << plural(mismatched.size(), "shape mismatch", "shape mismatches");
    append_list(out, mismatched, max_names, [](const ShapeMismatch& m) {
      return m.name + ": model expects " + shape_text(m.expected) + ", " + m.file + " has " + shape_text(m.found);
    });
    separator = "; ";
  }
  if (!unexpected.empty()) {
    out << separator << plural(unexpected.size(), "unused tensor", "unused tensors");
    append_list(out, unexpected, max_names, [](const std::string& s) { return s; });
  }
  return out.str();
}

LoadReport load_state_dict(torch::nn::Module& module, const std::vector<SafetensorsFile>& files,
                           const LoadOptions& options) {
  std::unordered_map<std::string, Located> available;
  for (const SafetensorsFile& file : files) {
    for (const TensorEntry& entry : file.entries()) {
      if (entry.name.compare(0, options.prefix.size(), options.prefix) != 0) continue;
      std::string name = entry.name.substr(options.prefix.size());
      auto [it, inserted] = available.emplace(name, Located{&file, &entry});
      if (!inserted) {
        throw Error("tensor '" + entry.name + "' is in both " + it->second.file->source() + " and " + file.source() +
                    "; the shards do not belong together");
      }
    }
  }

  // Where each module tensor ends up. It is replaced by its weights there, never converted
  // first: module.to() on a freshly built model would write every weight once for nothing
  // (FLUX.2 [klein]'s 3.9 billion in bf16: 7.5 GB resident and 15 s before a byte is read).
  const auto placed = [&](const at::Tensor& t) {
    at::TensorOptions o = t.options();
    if (options.device) o = o.device(*options.device);
    if (options.dtype && t.is_floating_point()) o = o.dtype(*options.dtype);
    return o;
  };

  // Parameters and buffers together, by registered path.
  std::vector<std::pair<std::string, at::Tensor>> targets;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) targets.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers(/*recurse=*/true)) targets.emplace_back(item.key(), item.value());

  LoadReport report;
  struct Step {
    at::Tensor target;
    Located located;
    TensorSource source;
  };
  std::vector<Step> plan;
  std::set<std::string> used;
  for (auto& [name, target] : targets) {
    const TensorSource source = options.source_for ? options.source_for(name) : TensorSource{name};
    auto it = available.find(source.name);
    if (it == available.end()) {
      report.missing.push_back(source.name == name ? name : name + " (as " + options.prefix + source.name + ")");
      continue;
    }
    const Located located = it->second;
    used.insert(source.name);
    std::vector<std::int64_t> shape = located.entry->shape;
    if (!shape.empty() && (source.rows_begin != 0 || source.rows_end != -1)) {
      const std::int64_t end = source.rows_end == -1 ? shape[0] : source.rows_end;
      shape[0] = end - source.rows_begin;
    }
    if (source.transposed && shape.size() == 2) std::swap(shape[0], shape[1]);
    std::vector<std::int64_t> expected = target.sizes().vec();
    const bool one_by_one = shape.size() == expected.size() + 2 && shape[shape.size() - 1] == 1 &&
                            shape[shape.size() - 2] == 1 && std::equal(expected.begin(), expected.end(), shape.begin());
    if (shape != expected && !one_by_one) {
      report.mismatched.push_back({name, expected, shape, located.file->source()});
      continue;
    }
    plan.push_back({target, located, source});
  }
  for (const auto& [name, located] : available) {
    if (!used.contains(name)) report.unexpected.push_back(located.entry->name);
  }
  std::sort(report.unexpected.begin(), report.unexpected.end());

  if (options.strict && !report.complete()) {
    std::string sources;
    for (const SafetensorsFile& file : files) sources += (sources.empty() ? "" : ", ") + file.source();
    throw Error("the weights in " + sources + " do not fit this model: " + report.describe() +
                ". Is it the right model file for this component?");
  }

  at::NoGradGuard no_grad;
  std::set<at::TensorImpl*> loaded;
  for (const Step& step : plan) loaded.insert(step.target.unsafeGetTensorImpl());
  for (auto& [name, target] : targets) {  // what the files do not fill (a lenient load) is only moved
    if (!loaded.contains(target.unsafeGetTensorImpl())) target.set_data(target.to(placed(target)));
  }
  std::set<const TensorEntry*> viewed_whole;  // a module tensor views all of it: copy for a second one
  std::set<const TensorEntry*> viewed;
  std::vector<std::pair<const SafetensorsFile*, const TensorEntry*>> copied;
  for (Step& step : plan) {
    at::Tensor source = step.located.file->tensor(*step.located.entry);
    const bool whole = step.source.rows_begin == 0 && step.source.rows_end == -1;
    if (!whole) {
      source =
          source.slice(0, step.source.rows_begin, step.source.rows_end == -1 ? source.size(0) : step.source.rows_end);
    }
    if (step.source.transposed) source = source.t();
    source = source.reshape(step.target.sizes());
    const at::TensorOptions to = placed(step.target);
    if (options.share_file_memory && to.device().is_cpu() && source.dtype() == to.dtype() && source.is_contiguous() &&
        (!whole || viewed_whole.insert(step.located.entry).second)) {
      // The module's tensor becomes a view of the copy-on-write mapping: nothing is copied
      // now, pages come from the page cache as they are used, and a write (training, merging
      // a LoRA) makes a private copy of just that page. The freshly built tensor is freed.
      step.target.set_data(source);
      viewed.insert(step.located.entry);
    } else {
      if (step.target.dtype() == to.dtype() && step.target.device() == to.device()) {
        step.target.copy_(source);  // into the module's own memory, as it was built
      } else {
        step.target.set_data(source.to(to, /*non_blocking=*/false, /*copy=*/true, at::MemoryFormat::Contiguous));
      }
      copied.emplace_back(step.located.file, step.located.entry);
    }
    ++report.loaded;
  }
  // What was copied need not stay resident in the mapping (unless a module tensor views it).
  for (const auto& [file, entry] : copied) {
    if (!viewed.contains(entry)) file->release(*entry);
  }
  return report;
}

LoadReport load_state_dict(torch::nn::Module& module, const std::vector<std::filesystem::path>& files,
                           const LoadOptions& options) {
  std::vector<SafetensorsFile> opened;
  opened.reserve(files.size());
  for (const auto& path : files) opened.push_back(SafetensorsFile::open(path));
  return load_state_dict(module, opened, options);
}

}  // namespace pawtrait::tensors
