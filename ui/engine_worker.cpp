#include "engine_worker.h"

#include "common/error.h"

namespace engine = pawtrait::engine;
namespace training = pawtrait::training;

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

// What the person reads: Pawtrait's own messages whole; anything else (LibTorch's run on with
// a stack trace) by its first line, marked as the bug it is.
QString message_of(const std::exception& e) {
  const std::string what = e.what();
  if (dynamic_cast<const pawtrait::Error*>(&e) != nullptr) return QString::fromStdString(what);
  return QString::fromStdString(what.substr(0, what.find('\n'))) +
         QStringLiteral(" (a bug in Pawtrait: please report it, saying what you did)");
}

}  // namespace

EngineWorker::EngineWorker() {
  qRegisterMetaType<TrainJob>();
  qRegisterMetaType<GenerateJob>();
  qRegisterMetaType<ModelSummary>();
  qRegisterMetaType<pawtrait::training::TrainProgress>();
}

EngineWorker::~EngineWorker() = default;

engine::Engine& EngineWorker::engine() {
  if (!m_engine) m_engine = std::make_unique<engine::Engine>();
  return *m_engine;
}

pawtrait::LogSink EngineWorker::logSink() {
  return [this](pawtrait::LogLevel level, const std::string& line) {
    Q_EMIT logLine(static_cast<int>(level), QString::fromStdString(line));
  };
}

void EngineWorker::train(const TrainJob& job) {
  engine::TrainEvents events;
  events.log = logSink();
  events.on_progress = [this](const training::TrainProgress& p) { Q_EMIT trainProgress(p); };
  events.on_preview = [this](const training::TrainPreview& preview) {
    QList<QImage> images;
    for (const auto& image : preview.images) images.append(to_qimage(image.rgb, image.width, image.height));
    Q_EMIT trainPreview(static_cast<int>(preview.step), images);
  };
  try {
    const engine::TrainOutcome outcome = engine().train(job.job, events, *job.token);
    Q_EMIT trainFinished(QString::fromStdString(outcome.made.string()), outcome.stopped);
  } catch (const std::exception& e) {
    Q_EMIT failed(message_of(e));
  }
}

void EngineWorker::generate(const GenerateJob& job) {
  engine::GenerateEvents events;
  events.log = logSink();
  events.on_start = [this](const pawtrait::pipeline::GenerateRequest& r) {
    Q_EMIT generateStarted(QString::fromStdString(r.device), QString::fromStdString(r.dtype));
  };
  events.on_step = [this](const engine::GenerateStep& p) {
    Q_EMIT generateProgress(static_cast<int>(p.image), static_cast<int>(p.images), static_cast<int>(p.step),
                            static_cast<int>(p.steps));
  };
  events.on_picture = [this](const engine::Picture& picture) {
    Q_EMIT imageGenerated(to_qimage(picture.rgb, picture.width, picture.height),
                          QString::fromStdString(picture.file.string()));
  };
  try {
    const engine::GenerateResult result = engine().generate(job.job, events, *job.token);
    Q_EMIT generateFinished(result.stopped);
  } catch (const std::exception& e) {
    Q_EMIT failed(message_of(e));
  }
}

void EngineWorker::describeModel(const QString& path) {
  try {
    const engine::ModelDescription d = engine().describe(path.toStdString());
    const QString where = d.device == "cuda" ? tr("the GPU (CUDA, %1)").arg(QString::fromStdString(d.dtype))
                                             : tr("the CPU (float32, slow)");
    ModelSummary summary;
    summary.text = tr("%1, %2, %3×%3 pixels, %4 on disk; runs on %5")
                       .arg(QString::fromStdString(d.family), d.prediction_type == "v_prediction" ? tr("v-prediction")
                                                              : d.prediction_type == "flow"       ? tr("flow matching")
                                                                                                  : tr("ε-prediction"))
                       .arg(d.image_size)
                       .arg(describe_size(d.bytes_on_disk), where);
    // A step-distilled model generates well but trains badly: its LoRAs are trained on the base.
    if (!d.guided && d.prediction_type == "flow") summary.text += tr("; to train your pet, choose its base model");
    summary.usable = true;
    for (const auto& [w, h] : d.sizes) summary.sizes.append(QSize(static_cast<int>(w), static_cast<int>(h)));
    summary.imageSize = static_cast<int>(d.image_size);
    summary.sampler = QString::fromStdString(d.sampler);
    summary.steps = static_cast<int>(d.steps);
    summary.sizeConditioned = d.size_conditioned;
    summary.guided = d.guided;
    summary.guidance = d.guidance;
    summary.flow = d.prediction_type == "flow";
    summary.vaeReplaceable = d.vae_replaceable;
    summary.checkpointing = d.gradient_checkpointing;
    summary.clipPrompts = d.clip_prompts;
    Q_EMIT modelDescribed(path, summary);
  } catch (const std::exception& e) {
    ModelSummary summary;
    summary.text = message_of(e);
    Q_EMIT modelDescribed(path, summary);
  }
}
