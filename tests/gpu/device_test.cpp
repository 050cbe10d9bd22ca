// The device check's unit tests (tests/gpu/run): every family's components, every sampler, a
// whole generation and DreamBooth steps on the device under test, each against the same work
// on the CPU in float32. PAWTRAIT_TEST_DEVICE names the device: cuda (the default; the test
// fails, saying so, where there is no GPU) or cpu (the dry run: the same code, CPU against
// CPU, where only the lower precisions can differ). Each measured difference is printed as
// "[ measured ]" and, with PAWTRAIT_TEST_REPORT=FILE, appended to FILE as one JSON line, for
// docs/benchmarks-gpu.md.
//
// Bounds, relative to the largest value (max |device − cpu| / max |cpu|):
// - float32: 1e-4, the bound the CPU suites hold the reference to. The GPU sums in other
//   orders; TF32 is turned off for these comparisons (cuDNN allows it by default, in PyTorch
//   too) so that they test the code, not the format. The default (TF32) error is measured and
//   reported beside it.
// - float16 (unit roundoff 2^-11) and bf16 (2^-8), through a few dozen layers of random
//   weights: 2e-2 and 1e-1. They are the bounds to hold until the first device run measures
//   the real spread; docs/benchmarks-gpu.md will carry the measured figures.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "families/diffusion_model.h"
#include "families/model_family.h"
#include "pipeline/text_to_image.h"
#include "runtime/device_choice.h"
#include "schedulers/noise_source.h"
#include "schedulers/sampler_registry.h"
#include "schedulers/scheduler_config.h"
#include "tensors/safetensors_reader.h"
#include "test_support.h"
#include "training/dreambooth.h"
#include "training/train_request.h"

namespace pawtrait {
namespace {

namespace fs = std::filesystem;

std::string device_name() {
  const char* name = std::getenv("PAWTRAIT_TEST_DEVICE");
  return name != nullptr && *name != '\0' ? name : "cuda";
}

c10::Device device_under_test() { return runtime::choose_device(device_name(), "the device check"); }

double bound_for(c10::ScalarType dtype) {
  switch (dtype) {
    case at::kHalf:
      return 2e-2;
    case at::kBFloat16:
      return 1e-1;
    default:
      return 1e-4;
  }
}

// max |a − b| / max |b|, in double on the CPU.
double relative_difference(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor x = a.detach().to(at::kCPU, at::kDouble), y = b.detach().to(at::kCPU, at::kDouble);
  EXPECT_EQ(x.sizes(), y.sizes());
  if (x.sizes() != y.sizes()) return INFINITY;
  return (x - y).abs().max().item<double>() / std::max(y.abs().max().item<double>(), 1e-12);
}

void report(const std::string& what, const std::string& precision, double measured, double bound) {
  std::cout << "[ measured ] " << what << " (" << precision << " on " << device_name() << "): " << measured
            << " (bound " << bound << ")\n";
  if (const char* file = std::getenv("PAWTRAIT_TEST_REPORT"); file != nullptr && *file != '\0') {
    std::ofstream(file, std::ios::app) << nlohmann::json{{"what", what},
                                                         {"precision", precision},
                                                         {"device", device_name()},
                                                         {"relative_difference", measured},
                                                         {"bound", bound}}
                                              .dump()
                                       << "\n";
  }
}

void expect_close(const std::string& what, const std::string& precision, const at::Tensor& got, const at::Tensor& want,
                  double bound) {
  const double d = relative_difference(got, want);
  report(what, precision, d, bound);
  EXPECT_LE(d, bound) << what << " in " << precision;
}

// Turns TF32 off for the float32 comparisons and restores what was set.
class NoTf32 {
 public:
  NoTf32() : cudnn_(at::globalContext().allowTF32CuDNN()) { at::globalContext().setAllowTF32CuDNN(false); }
  ~NoTf32() { at::globalContext().setAllowTF32CuDNN(cudnn_); }
  NoTf32(const NoTf32&) = delete;
  NoTf32& operator=(const NoTf32&) = delete;

 private:
  bool cudnn_;
};

struct Case {
  std::string model;  // under the test data
  c10::ScalarType dtype;
};

std::string precision_name(c10::ScalarType dtype) { return runtime::dtype_name(dtype); }

// The precisions each family runs in on the device. LibTorch's CPU kernels for float16 are
// slow or missing, and the engine refuses it there (runtime/device_choice.h), so the dry run
// leaves float16 out; on a GPU every family runs in all three.
std::vector<Case> component_cases() {
  std::vector<c10::ScalarType> dtypes = {at::kFloat, at::kBFloat16};
  if (device_name() != "cpu") dtypes.push_back(at::kHalf);
  std::vector<Case> cases;
  for (const char* model : {"sd-tiny", "sdxl/sdxl-tiny", "klein/klein-tiny"})
    for (c10::ScalarType dtype : dtypes) cases.push_back({model, dtype});
  return cases;
}

// A test-data model path as a test name: "sdxl/sdxl-tiny" → "sdxl_tiny".
std::string model_name(const std::string& model) {
  std::string name = model.substr(model.find('/') + 1);
  for (char& c : name)
    if (c == '-') c = '_';
  return name;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return model_name(info.param.model) + "_" + precision_name(info.param.dtype);
}

std::unique_ptr<families::DiffusionModel> load(const std::string& model, c10::Device device, c10::ScalarType dtype) {
  families::LoadOptions options;
  options.device = device;
  options.dtype = dtype;
  return families::family_of(model).load(model, options);
}

class DeviceComponents : public ::testing::TestWithParam<Case> {};

// The text encoder(s), the denoiser and the VAE decoder, each on the same inputs.
TEST_P(DeviceComponents, MatchTheCpuInFloat32) {
  const std::string model = (testing::testdata() / GetParam().model).string();
  const c10::ScalarType dtype = GetParam().dtype;
  const std::string precision = precision_name(dtype);
  const double bound = bound_for(dtype);
  std::optional<NoTf32> strict;
  if (dtype == at::kFloat) strict.emplace();
  c10::InferenceMode guard;
  auto cpu = load(model, c10::kCPU, at::kFloat);
  auto dev = load(model, device_under_test(), dtype);
  const std::string name = GetParam().model + " ";

  families::Conditioning want = cpu->encode("a photo of sks dog on the grass", {}, {});
  const families::Conditioning got = dev->encode("a photo of sks dog on the grass", {}, {});
  for (const auto& [key, tensor] : want.tensors) {
    if (!tensor.is_floating_point()) {
      EXPECT_TRUE(at::equal(got.at(key).to(at::kCPU), tensor)) << key;
      continue;
    }
    expect_close(name + "text encoder: " + key, precision, got.at(key), tensor, bound);
  }

  // The denoiser and the decoder read the CPU's conditioning, so that each is judged alone.
  const families::LatentFormat& format = cpu->latent_format();
  const std::int64_t side = cpu->defaults().size / format.spatial_factor;
  at::Generator g = at::detail::createCPUGenerator(1234);
  const at::Tensor x = at::randn({1, format.channels, side, side}, g, at::TensorOptions().dtype(at::kFloat));
  const std::int64_t pixels = side * format.spatial_factor;
  cpu->condition_on_size(want, {}, pixels, pixels);
  const at::Tensor t = at::scalar_tensor(500.0, at::kFloat);
  const at::Tensor predicted = cpu->predict(x, t, want);
  expect_close(name + "denoiser", precision, dev->predict(x.to(dev->options()), t, want.to(dev->options())), predicted,
               bound);
  const at::Tensor latents = at::randn({1, format.channels, side, side}, g, at::TensorOptions().dtype(at::kFloat));
  expect_close(name + "VAE decoder", precision, dev->decode(latents.to(dev->options())), cpu->decode(latents), bound);

  if (dtype == at::kFloat && dev->options().device().is_cuda()) {
    strict.reset();  // what users get: cuDNN's default TF32 convolutions
    report(name + "denoiser with TF32 convolutions", "fp32-tf32",
           relative_difference(dev->predict(x.to(dev->options()), t, want.to(dev->options())), predicted), INFINITY);
  }
}

INSTANTIATE_TEST_SUITE_P(EveryFamily, DeviceComponents, ::testing::ValuesIn(component_cases()), case_name);

// A smooth stand-in for a denoiser, the same function on either device.
at::Tensor toy_model_output(const at::Tensor& x, double t) { return 0.3 * x + 0.01 * t * at::tanh(x); }

// Ten steps of every sampler of the registry on Stable Diffusion's β schedule, and FLUX.2
// [klein]'s flow-matching Euler, the ancestral ones with their noise drawn from the same seed.
TEST(DeviceSamplers, EverySamplerMatchesTheCpuInFloat32) {
  const c10::Device device = device_under_test();
  NoTf32 strict;
  c10::InferenceMode guard;
  const schedulers::DiscreteNoiseProcess sd(
      schedulers::SchedulerConfig::load(testing::testdata() / "sd-tiny" / "scheduler" / "scheduler_config.json"));
  auto klein = load((testing::testdata() / "klein" / "klein-tiny").string(), c10::kCPU, at::kFloat);
  struct Process {
    std::string name;
    const schedulers::NoiseProcess* process;
  };
  std::int64_t ran = 0;
  for (const Process& p : {Process{"SD", &sd}, Process{"klein", &klein->noise_process()}}) {
    for (const schedulers::SamplerInfo& info : schedulers::available_samplers()) {
      schedulers::SamplerOptions options;
      options.image_tokens = 64;  // an 8×8 latent grid, as below
      auto run = [&](c10::Device where) {
        auto s = p.process->make_sampler(info.name, options);
        s->set_timesteps(10);
        at::Generator g = at::detail::createCPUGenerator(7);
        at::Tensor x =
            (at::randn({1, 4, 8, 8}, g, at::TensorOptions().dtype(at::kFloat)) * s->init_noise_sigma()).to(where);
        schedulers::GeneratorNoise noise(11);
        const at::Tensor timesteps = s->timesteps().to(at::kDouble).contiguous();
        for (std::int64_t i = 0; i < timesteps.numel(); ++i) {
          const double t = timesteps[i].item<double>();
          x = s->step(toy_model_output(s->scale_model_input(x, t), t), t, x, &noise).prev_sample;
        }
        return x;
      };
      std::unique_ptr<schedulers::Scheduler> probe;
      try {
        probe = p.process->make_sampler(info.name, options);
      } catch (const std::exception&) {
        continue;  // a sampler this process cannot drive (the engine refuses it the same way)
      }
      expect_close(p.name + " sampler " + info.name, "fp32", run(device), run(c10::kCPU), 1e-5);
      ++ran;
    }
  }
  EXPECT_GE(ran, static_cast<std::int64_t>(schedulers::available_samplers().size()) + 1)
      << "every sampler on SD and at least one on flow matching";
}

// The whole pipeline, prompt to 8-bit picture, on the device: within two 8-bit levels of the
// CPU's picture in float32 (the bound the side-by-side bench holds against the reference).
TEST(DeviceGeneration, EveryFamilyDrawsTheCpuPictureInFloat32) {
  const c10::Device device = device_under_test();
  NoTf32 strict;
  for (const char* name : {"sd-tiny", "sdxl/sdxl-tiny", "klein/klein-tiny"}) {
    const std::string model = (testing::testdata() / name).string();
    pipeline::GenerateRequest request;
    request.model = model;
    request.prompt = "a photo of sks dog";
    request.steps = 6;
    request.seed = 42;
    auto draw = [&](c10::Device where) {
      auto m = load(model, where, at::kFloat);
      const families::GenerateDefaults defaults = m->defaults();
      request.sampler = defaults.sampler;  // what the engine fills in for an empty request
      request.width = request.height = defaults.size;
      request.guidance = defaults.guidance;
      pipeline::TextToImage pipe(*m);
      return pipe.generate(request).front().rgb;
    };
    const std::vector<std::uint8_t> want = draw(c10::kCPU), got = draw(device);
    ASSERT_EQ(got.size(), want.size()) << name;
    int worst = 0;
    for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(int(got[i]) - int(want[i])));
    report(std::string(name) + " picture, largest difference in 8-bit levels", "fp32", worst, 2);
    EXPECT_LE(worst, 2) << name;
  }
}

training::TrainRequest tiny_training(const std::string& model, const fs::path& run_dir, const std::string& device) {
  training::TrainRequest r;
  r.photos = {testing::testdata() / "photos"};
  r.model = testing::testdata() / model;
  r.run_dir = run_dir;
  r.device = device;
  r.mixed_precision = "no";
  r.resolution = 64;
  r.steps = 4;
  r.rank = 4;
  r.alpha = 4;
  r.learning_rate = 1e-3;
  r.seed = 3;
  r.preview_every = 0;
  r.validate_every = 0;
  r.checkpoint_every = 0;
  return r;
}

std::vector<double> train_losses(const training::TrainRequest& r) {
  std::vector<double> losses;
  training::TrainCallbacks callbacks;
  callbacks.on_progress = [&](const training::TrainProgress& p) { losses.push_back(p.loss); };
  training::train_dreambooth(r, callbacks);
  return losses;
}

at::Tensor lora_weights(const fs::path& run_dir) {
  const auto file = tensors::SafetensorsFile::open(run_dir / "lora" / "pytorch_lora_weights.safetensors");
  std::vector<at::Tensor> all;
  for (const auto& entry : file.entries()) all.push_back(file.tensor(entry).flatten().to(at::kDouble));
  return at::cat(all);
}

// ‖a − b‖ / ‖b‖. The trained weights are reported, not held to a bound: LoRA's B matrices
// start at zero and AdamW's first steps move each weight by about ±lr whatever its gradient's
// size, so a gradient that is nearly 0 on both devices can take either sign and move a weight
// by 2·lr on one of them. The losses, smooth in the weights, are what the bounds hold.
double norm_difference(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).norm().item<double>() / std::max(b.norm().item<double>(), 1e-30);
}

class DeviceTraining : public testing::TempDirTest, public ::testing::WithParamInterface<std::string> {};

// LoRA steps on the device follow the CPU's in float32: the same losses (the noise and
// timesteps are drawn on the CPU, so only the arithmetic differs); gradient checkpointing
// changes them only by sums in another order; bf16 and fp16 (with loss scaling) run to
// finite losses near the float32 ones.
TEST_P(DeviceTraining, LoraStepsMatchTheCpuInFloat32) {
  const std::string model = GetParam();
  const std::string device = device_name();
  NoTf32 strict;
  const std::vector<double> want = train_losses(tiny_training(model, path("cpu"), "cpu"));
  const std::vector<double> got = train_losses(tiny_training(model, path("device"), device));
  ASSERT_EQ(got.size(), want.size());
  expect_close(model + " LoRA training losses", "fp32", at::tensor(got), at::tensor(want), 1e-4);
  const double weights = norm_difference(lora_weights(path("device")), lora_weights(path("cpu")));
  report(model + " LoRA weights after 4 steps, relative norm of the difference", "fp32", weights, INFINITY);
  if (device == "cpu") {
    EXPECT_EQ(weights, 0.0);
  }

  training::TrainRequest checkpointed = tiny_training(model, path("checkpointed"), device);
  checkpointed.gradient_checkpointing = true;
  expect_close(model + " LoRA training losses, gradient checkpointing", "fp32", at::tensor(train_losses(checkpointed)),
               at::tensor(got), 1e-5);

  for (const std::string precision : {"bf16", "fp16"}) {
    if (device == "cpu") break;  // the CPU trains in float32 whatever is asked (device_choice.h)
    training::TrainRequest mixed = tiny_training(model, path(precision), device);
    mixed.mixed_precision = precision;
    const std::vector<double> losses = train_losses(mixed);
    ASSERT_EQ(losses.size(), want.size()) << precision;
    for (double loss : losses) EXPECT_TRUE(std::isfinite(loss)) << precision;
    expect_close(model + " LoRA training losses", precision, at::tensor(losses), at::tensor(want),
                 bound_for(at::kBFloat16));
  }
}

// A run stopped after 2 steps and resumed to 4 ends where the uninterrupted run ends. On the
// CPU the two are equal to the bit (the unit suites hold that); on a GPU cuDNN's backward
// kernels may sum in any order, so the losses are held to float32's bound and the weights'
// difference is measured.
TEST_P(DeviceTraining, ResumedRunEndsWhereTheUninterruptedOneDoes) {
  const std::string model = GetParam();
  const std::string device = device_name();
  NoTf32 strict;
  const std::vector<double> whole = train_losses(tiny_training(model, path("whole"), device));
  training::TrainRequest first = tiny_training(model, path("split"), device);
  first.steps = 2;
  std::vector<double> split = train_losses(first);
  training::TrainRequest rest = training::read_run_request(path("split"));
  rest.steps = 4;
  rest.resume = true;
  for (double loss : train_losses(rest)) split.push_back(loss);
  ASSERT_EQ(split.size(), whole.size());
  expect_close(model + " resumed run's losses against the uninterrupted run's", "fp32", at::tensor(split),
               at::tensor(whole), 1e-4);
  const double d = norm_difference(lora_weights(path("split")), lora_weights(path("whole")));
  report(model + " resumed LoRA against uninterrupted, relative norm of the difference", "fp32", d, INFINITY);
  if (device == "cpu") {
    EXPECT_EQ(d, 0.0) << "on the CPU a resumed run is exact";
  }
}

INSTANTIATE_TEST_SUITE_P(EveryFamily, DeviceTraining,
                         ::testing::Values("sd-tiny", "sdxl/sdxl-tiny", "klein/klein-base-tiny"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return model_name(info.param); });

}  // namespace
}  // namespace pawtrait
