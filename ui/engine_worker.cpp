#include "engine_worker.h"

#include <filesystem>

#include "common/error.h"
#include "models/clip_tokenizer.h"
#include "models/stable_diffusion.h"
#include "pipeline/picture_files.h"
#include "pipeline/text_to_image.h"
#include "runtime/runtime_info.h"
#include "schedulers/sampler_registry.h"
#include "training/dreambooth_trainer.h"
#include "training/pixel_model.h"

namespace fs = std::filesystem;
namespace training = pawtrait::training;
namespace pipeline = pawtrait::pipeline;
namespace models = pawtrait::models;

namespace {

QImage to_qimage(const std::vector<std::uint8_t>& rgb, std::int64_t width, std::int64_t height) {
  return QImage(rgb.data(), static_cast<int>(width), static_cast<int>(height), static_cast<int>(width * 3),
                QImage::Format_RGB888)
      .copy();
}

QString describe_size(std::uintmax_t bytes) {
  return bytes >= (1u << 30) ? QString::number(static_cast<double>(bytes) / (1u << 30), 'f', 1) + QStringLiteral(" GB")
                             : QString::number(static_cast<double>(bytes) / (1u << 20), 'f', 0) + QStringLiteral(" MB");
}

std::uintmax_t size_on_disk(const fs::path& path) {
  if (!fs::is_directory(path)) return fs::file_size(path);
  std::uintmax_t total = 0;
  for (const auto& entry : fs::recursive_directory_iterator(path)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

}  // namespace

// A Stable Diffusion model loaded for generating, kept while the next request uses the same one.
struct EngineWorker::LoadedModel {
  std::string key;
  models::StableDiffusion model;
  std::unique_ptr<pipeline::TextToImage> sampler;
};

EngineWorker::EngineWorker() {
  qRegisterMetaType<TrainJob>();
  qRegisterMetaType<GenerateJob>();
  qRegisterMetaType<pawtrait::training::TrainProgress>();
}

EngineWorker::~EngineWorker() = default;

void EngineWorker::train(const TrainJob& job) {
  m_cancel = false;
  m_pause = false;
  training::TrainCallbacks callbacks;
  callbacks.cancel = &m_cancel;
  callbacks.pause = &m_pause;
  callbacks.log = [this](pawtrait::LogLevel level, const std::string& line) {
    Q_EMIT logLine(static_cast<int>(level), QString::fromStdString(line));
  };
  callbacks.on_progress = [this](const training::TrainProgress& p) { Q_EMIT trainProgress(p); };
  callbacks.on_preview = [this](const training::TrainPreview& preview) {
    QList<QImage> images;
    for (const auto& image : preview.images) images.append(to_qimage(image.rgb, image.width, image.height));
    Q_EMIT trainPreview(static_cast<int>(preview.step), images);
  };
  try {
    if (job.builtin) {
      const auto result = training::train_pixel_model(job.pixel, callbacks);
      Q_EMIT trainFinished(QString::fromStdString(result.weights.string()), m_cancel.load());
    } else {
      m_model.reset();  // training loads its own copy; free the generator's
      const auto result = training::train_dreambooth(job.stable_diffusion, callbacks);
      const fs::path made = job.stable_diffusion.mode == "full" ? result.model_dir : result.lora_kohya;
      Q_EMIT trainFinished(QString::fromStdString(made.string()), result.stopped);
    }
  } catch (const std::exception& e) {
    Q_EMIT failed(QString::fromStdString(e.what()));
  }
}

void EngineWorker::generate(const GenerateJob& job) {
  m_cancel = false;
  const fs::path out = job.out_dir.toStdString();
  try {
    fs::create_directories(out);
    int index = pipeline::next_picture_index(out);
    const pipeline::GenerateRequest& request = job.request;
    if (request.model.rfind("builtin:", 0) == 0) {
      training::PixelModel model = training::load_pixel_model(request.model.substr(8));
      pawtrait::schedulers::sampler_info(request.sampler);  // an unknown name fails before any work
      for (std::int64_t i = 0; i < request.count && !m_cancel; ++i) {
        pipeline::GenerateRequest one = request;
        one.seed = request.seed + static_cast<std::uint64_t>(i);
        one.count = 1;
        one.width = one.height = model.config.resolution;
        Q_EMIT generateProgress(static_cast<int>(i), static_cast<int>(request.count), 0, static_cast<int>(one.steps));
        const auto rgb = training::sample_pixel_model(model, one.sampler, one.steps, one.seed, 1);
        const fs::path file = pipeline::write_picture(out, index, rgb[0], one.width, one.height, one);
        Q_EMIT imageGenerated(to_qimage(rgb[0], one.width, one.height), QString::fromStdString(file.string()));
      }
    } else {
      const std::string key = request.model + "|" + request.model_config + "|" + request.device + "|" + request.dtype;
      if (!m_model || m_model->key != key) {
        m_model.reset();
        models::StableDiffusionOptions options;
        options.device = request.device == "cuda" ? c10::Device(c10::kCUDA) : c10::Device(c10::kCPU);
        options.dtype = request.dtype == "fp16" ? c10::kHalf : request.dtype == "bf16" ? c10::kBFloat16 : c10::kFloat;
        if (!request.model_config.empty()) options.model_config = request.model_config;
        options.log = [this](pawtrait::LogLevel level, const std::string& line) {
          Q_EMIT logLine(static_cast<int>(level), QString::fromStdString(line));
        };
        auto loaded = std::make_unique<LoadedModel>();
        loaded->key = key;
        loaded->model = models::load_stable_diffusion(request.model, options);
        if (!loaded->model.tokenizer_dir) {
          throw pawtrait::Error(request.model + " carries no tokenizer; choose a model config folder that has one");
        }
        loaded->sampler = std::make_unique<pipeline::TextToImage>(
            loaded->model, models::ClipTokenizer::load(*loaded->model.tokenizer_dir));
        m_model = std::move(loaded);
      }
      pipeline::GenerateCallbacks callbacks;
      callbacks.cancel = &m_cancel;
      callbacks.on_step = [this](const pipeline::StepProgress& p) {
        Q_EMIT generateProgress(static_cast<int>(p.image), static_cast<int>(p.images), static_cast<int>(p.step),
                                static_cast<int>(p.steps));
      };
      callbacks.on_image = [&](const pipeline::GeneratedImage& image) {
        const fs::path file = pipeline::write_picture(out, index, image.rgb, image.width, image.height, image.request);
        Q_EMIT imageGenerated(to_qimage(image.rgb, image.width, image.height), QString::fromStdString(file.string()));
      };
      callbacks.log = [this](pawtrait::LogLevel level, const std::string& line) {
        Q_EMIT logLine(static_cast<int>(level), QString::fromStdString(line));
      };
      m_model->sampler->generate(request, callbacks);
    }
    Q_EMIT generateFinished(m_cancel.load());
  } catch (const std::exception& e) {
    Q_EMIT failed(QString::fromStdString(e.what()));
  }
}

void EngineWorker::describeModel(const QString& path) {
  const fs::path model = path.toStdString();
  try {
    const models::Architecture arch = models::detect_architecture(model);
    const auto runtime = pawtrait::runtime::query_runtime();
    const QString text =
        tr("%1, %2, %3×%3 pixels, %4 on disk; trains on the %5")
            .arg(QString::fromStdString(arch.family),
                 arch.prediction_type == "v_prediction" ? tr("v-prediction") : tr("ε-prediction"))
            .arg(arch.image_size)
            .arg(describe_size(size_on_disk(model)),
                 runtime.cuda_available ? tr("GPU (CUDA, mixed precision)") : tr("CPU (float32, slow)"));
    Q_EMIT modelDescribed(path, text, true, static_cast<int>(arch.image_size));
  } catch (const std::exception& e) {
    Q_EMIT modelDescribed(path, QString::fromStdString(e.what()), false, 0);
  }
}
