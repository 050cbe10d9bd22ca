#pragma once

#include <QImage>
#include <QList>
#include <QObject>
#include <QSize>
#include <QString>

#include <memory>

#include "engine/engine.h"

// What the window asks the engine to do, with the job's own stop/pause token: the window
// makes the token when it queues the job, so a Stop pressed before the job starts stops it.
struct TrainJob {
  pawtrait::engine::TrainJob job;
  std::shared_ptr<pawtrait::engine::CancelToken> token = std::make_shared<pawtrait::engine::CancelToken>();
};

// `job.request.model` is "builtin:<run folder>" or a Stable Diffusion model; the pictures go
// into `job.out_dir` as NNNNN-<seed>.png.
struct GenerateJob {
  pawtrait::engine::GenerateJob job;
  std::shared_ptr<pawtrait::engine::CancelToken> token = std::make_shared<pawtrait::engine::CancelToken>();
};

// What the model picker shows of a base model, and what the Generate tab takes from it.
struct ModelSummary {
  QString text;  // a line for people, or why the model can't be used
  bool usable = false;
  QList<QSize> sizes;  // the picture sizes people use with it, its native one first
  int imageSize = 0;   // its native picture side
  QString sampler;     // what it generates with unless told otherwise
  int steps = 0;
  bool sizeConditioned = false;  // it reads SDXL's micro-conditioning sizes
  bool guided = true;            // guidance applies (not to a guidance-distilled model)
  double guidance = 7.5;         // its pipeline's default scale
  bool flow = false;             // a flow-matching model: it samples with Euler only
  bool vaeReplaceable = true;    // another VAE may decode its pictures
  bool checkpointing = false;    // its training saves GPU memory by default here
  bool clipPrompts = true;       // its prompts go through CLIP's tokenizer (the cleanup choice applies)
};

// The engine, on its own thread (DESIGN.md: the GUI thread never touches a tensor): a thin
// adapter that turns the engine's events into Qt signals carrying plain values. Its slots
// run on the thread it was moved to. Any engine error ends the job with failed(message),
// never a crash.
class EngineWorker : public QObject {
  Q_OBJECT

 public:
  EngineWorker();
  ~EngineWorker() override;

 public Q_SLOTS:
  void train(const TrainJob& job);
  void generate(const GenerateJob& job);
  // Describes a base model (family, prediction, size on disk, device) for the model picker.
  void describeModel(const QString& path);

 Q_SIGNALS:
  void trainProgress(const pawtrait::training::TrainProgress& progress);
  void trainPreview(int step, const QList<QImage>& images);
  void trainFinished(const QString& result, bool stopped);
  // The request as it runs, with the model's defaults and the device and dtype chosen.
  void generateStarted(const QString& device, const QString& dtype);
  void generateProgress(int image, int images, int step, int steps);
  void imageGenerated(const QImage& image, const QString& path);
  void generateFinished(bool stopped);
  void modelDescribed(const QString& path, const ModelSummary& summary);
  void failed(const QString& message);
  void logLine(int level, const QString& text);

 private:
  pawtrait::LogSink logSink();
  std::unique_ptr<pawtrait::engine::Engine> m_engine;  // made on the engine thread, at the first job
  pawtrait::engine::Engine& engine();
};

Q_DECLARE_METATYPE(TrainJob)
Q_DECLARE_METATYPE(GenerateJob)
Q_DECLARE_METATYPE(ModelSummary)
Q_DECLARE_METATYPE(pawtrait::training::TrainProgress)
