// Malformed model configs: every numeric field of the tiny model's unet, vae and
// text_encoder configs, and of the built-in model's config, set to values a broken or
// hand-edited file holds (zero, negative, huge, a wrong type, an empty or odd list). Each must
// end in a pawtrait::Error that names the file, or load; never in a crash (a zero head count
// used to be an integer division by zero, SIGFPE, reached just by picking a model folder).
#include <ATen/ATen.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_file.h"
#include "families/builtin/pixel_unet_config.h"
#include "families/stable_diffusion/stable_diffusion.h"
#include "models/component_loader.h"
#include "models/model_info.h"
#include "test_support.h"

namespace pawtrait::models {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<json>& bad_values() {
  static const std::vector<json> values = {
      0, -1, -32, 3, std::int64_t{1} << 40, 1.5, "8", json::array(), json::array({0}), json::array({-1, 64}), nullptr};
  return values;
}

// A copy of the tiny model whose configs are real files and whose weights are links.
class ConfigSweep : public testing::TempDirTest {
 protected:
  fs::path model() {
    const fs::path out = path("model");
    if (fs::exists(out)) return out;
    testing::copy_model_with_linked_weights(testing::testdata() / "sd-tiny", out);
    return out;
  }
};

// Loads and describes the model; a pawtrait::Error must name the config file it came from.
void expect_clean(const fs::path& folder, const std::string& component, const std::string& what) {
  SCOPED_TRACE(what);
  for (int pass = 0; pass < 2; ++pass) {
    try {
      if (pass == 0) {
        at::NoGradGuard no_grad;
        load_stable_diffusion(folder);
      } else {
        inspect_model(folder);
      }
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(component), std::string::npos) << message;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not a pawtrait::Error: " << e.what();
    }
  }
}

TEST_F(ConfigSweep, EveryNumericFieldOfEveryComponent) {
  const fs::path folder = model();
  int tried = 0;
  for (const std::string component : {"unet", "vae", "text_encoder"}) {
    const fs::path file = folder / component / "config.json";
    const json original = read_json_file(file);
    for (const auto& [key, value] : original.items()) {
      if (!value.is_number() && !(value.is_array() && !value.empty() && value[0].is_number())) continue;
      for (const json& bad : bad_values()) {
        json edited = original;
        edited[key] = bad;
        std::ofstream(file) << edited.dump();
        expect_clean(folder, component, component + "." + key + " = " + bad.dump());
        ++tried;
      }
      std::ofstream(file) << original.dump();
    }
  }
  EXPECT_GT(tried, 150);
}

// SDXL's UNet config (text_time micro-conditioning, per-block depths): every numeric field
// broken in turn gives a pawtrait::Error naming the component, never a crash.
TEST_F(ConfigSweep, EveryNumericFieldOfTheSdxlUNet) {
  const fs::path source = testing::testdata() / "sdxl" / "sdxl-tiny" / "unet";
  const fs::path folder = path("sdxl-unet");
  fs::create_directories(folder);
  fs::create_symlink(source / "diffusion_pytorch_model.safetensors", folder / "diffusion_pytorch_model.safetensors");
  const json original = read_json_file(source / "config.json");
  int tried = 0;
  for (const auto& [key, value] : original.items()) {
    if (!value.is_number() && !(value.is_array() && !value.empty() && value[0].is_number())) continue;
    for (const json& bad : bad_values()) {
      SCOPED_TRACE(key + " = " + bad.dump());
      json edited = original;
      edited[key] = bad;
      std::ofstream(folder / "config.json") << edited.dump();
      try {
        at::NoGradGuard no_grad;
        load_unet(folder);
      } catch (const Error& e) {
        // The config's own checks name config.json; weights that no longer fit name the folder.
        EXPECT_NE(std::string(e.what()).find("sdxl-unet"), std::string::npos) << e.what();
      } catch (const std::exception& e) {
        ADD_FAILURE() << "not a pawtrait::Error: " << e.what();
      }
      ++tried;
    }
  }
  EXPECT_GT(tried, 150);
}

TEST_F(ConfigSweep, NamesTheFieldThatIsZero) {
  const fs::path folder = model();
  const fs::path file = folder / "unet" / "config.json";
  json config = read_json_file(file);
  config["attention_head_dim"] = 0;
  std::ofstream(file) << config.dump();
  EXPECT_THROW_MESSAGE(load_stable_diffusion(folder), "unet/config.json", "attention_head_dim",
                       "a whole number from 1 to");

  config = read_json_file(testing::testdata() / "sd-tiny" / "vae" / "config.json");
  config["norm_num_groups"] = 0;
  std::ofstream(folder / "vae" / "config.json") << config.dump();
  std::ofstream(file) << read_json_file(testing::testdata() / "sd-tiny" / "unet" / "config.json").dump();
  EXPECT_THROW_MESSAGE(load_stable_diffusion(folder), "vae/config.json", "norm_num_groups");
}

TEST(PixelConfigSweep, EveryField) {
  const json original = PixelUNetConfig{}.to_json();
  for (const auto& [key, value] : original.items()) {
    if (!value.is_number() && !value.is_array()) continue;
    for (const json& bad : bad_values()) {
      json edited = original;
      edited[key] = bad;
      SCOPED_TRACE(key + " = " + bad.dump());
      try {
        PixelUNetConfig::from_json(edited, "config.json");
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos);
      }
    }
  }
}

}  // namespace
}  // namespace pawtrait::models
