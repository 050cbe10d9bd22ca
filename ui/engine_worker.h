#pragma once

#include <QImage>
#include <QList>
#include <QObject>
#include <QString>

#include <atomic>
#include <memory>

#include "pipeline/generate_request.h"
#include "training/pixel_trainer.h"
#include "training/train_events.h"
#include "training/train_request.h"

// What the window asks the engine to train: the built-in model or a Stable Diffusion one.
struct TrainJob {
  bool builtin = true;
  pawtrait::training::PixelTrainRequest pixel;
  pawtrait::training::TrainRequest stable_diffusion;
};

// What the window asks the engine to draw. `request.model` is "builtin:<run folder>" or a
// Stable Diffusion model; the pictures go into `out_dir` as NNNNN-<seed>.png.
struct GenerateJob {
  pawtrait::pipeline::GenerateRequest request;
  QString out_dir;
};

// The engine, on its own thread (DESIGN.md: the GUI thread never touches a tensor). Its slots
// run on the thread it was moved to; its signals carry plain values back to the window. Any
// engine error ends the job with failed(message), never a crash.
class EngineWorker : public QObject {
  Q_OBJECT

 public:
  EngineWorker();
  ~EngineWorker() override;

  // Thread-safe: checked by the engine between steps.
  void cancel() { m_cancel = true; }
  void setPaused(bool paused) { m_pause = paused; }

 public Q_SLOTS:
  void train(const TrainJob& job);
  void generate(const GenerateJob& job);
  // Describes a base model (family, prediction, size on disk) for the model picker.
  void describeModel(const QString& path);

 Q_SIGNALS:
  void trainProgress(const pawtrait::training::TrainProgress& progress);
  void trainPreview(int step, const QList<QImage>& images);
  void trainFinished(const QString& result, bool stopped);
  void generateProgress(int image, int images, int step, int steps);
  void imageGenerated(const QImage& image, const QString& path);
  void generateFinished(bool stopped);
  // image_size: the model's native picture size (0 when it can't be used).
  void modelDescribed(const QString& path, const QString& description, bool usable, int image_size);
  void failed(const QString& message);
  void logLine(int level, const QString& text);

 private:
  struct LoadedModel;
  std::atomic<bool> m_cancel{false};
  std::atomic<bool> m_pause{false};
  std::unique_ptr<LoadedModel> m_model;  // the last Stable Diffusion model used, kept for the next run
};

Q_DECLARE_METATYPE(TrainJob)
Q_DECLARE_METATYPE(GenerateJob)
Q_DECLARE_METATYPE(pawtrait::training::TrainProgress)
