#pragma once

#include <QJsonObject>
#include <QMainWindow>
#include <QSize>
#include <QStringList>
#include <QThread>

#include "engine_worker.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QSplitter;
class QTabWidget;
class QToolButton;
class GalleryView;
class GenerateAdvanced;
class LabeledSlider;
class LossPlot;
class PhotoListView;
class PhotoModel;
class PreviewStrip;

// Pawtrait's window: the pet's photos, who it is and which model learns it on the left;
// training (loss plot, previews) and generating (settings, gallery) on the right. Work lives
// in a project folder: project.json (photos and settings), runs/ (training runs), gallery/.
class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Opens (or creates) a project folder and shows what it holds.
  void openProject(const QString& folder);
  // The project open when the app last closed, or "My pet" in the app's data folder.
  void openLastProject();
  QString projectFolder() const { return m_project; }
  bool saveProject();
  // The crop editor for the photo at `index` (double-click in the grid); its choices go into
  // the photo model, the project file and later runs' config.json.
  void editPhoto(const QModelIndex& index);
  // Files and folders, as if dropped: photos join the photo list; a PNG made by Pawtrait
  // restores its generation settings instead.
  void addFiles(const QStringList& paths);
  // The files the app was started with (`pawtrait PHOTO...`, a file manager's "Open with"),
  // relative to the folder it was started in.
  void openFromCommandLine(const QStringList& arguments);
  // The Animal box's kind as the training prompt says it: the English word of a listed kind
  // (whatever language the box shows it in), else what was typed; empty when not said.
  QString petClassWord() const;
  // A Stable Diffusion model folder or file as the base (empty: the built-in model).
  void setBaseModel(const QString& path);
  bool isTraining() const { return m_training; }
  bool isGenerating() const { return m_generating; }
  // Puts every generation setting of `request` into the controls.
  void useSettings(const pawtrait::pipeline::GenerateRequest& request);
  // A Pawtrait picture's settings, with its model and LoRA found again by name and hash (near
  // the picture, in the project, in the models folder) and chosen; says so when one is not
  // there, and restores the rest.
  void usePictureSettings(const QString& picture);
  pawtrait::pipeline::GenerateRequest currentGenerateRequest() const;

 Q_SIGNALS:
  void requestTrain(const TrainJob& job);
  void requestGenerate(const GenerateJob& job);
  void requestDescribe(const QString& path);

 protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;
  void closeEvent(QCloseEvent* event) override;

 private:
  QWidget* buildPhotosBox();
  QWidget* buildSubjectBox();
  QWidget* buildModelBox();
  QWidget* buildTrainBox();
  QWidget* buildTrainingTab();
  QWidget* buildGenerateTab();
  void buildMenus();
  void showAbout();
  void showLog();
  void appendLog(int level, const QString& text);

  void chooseModel();
  void downloadModel();
  void applyPreset();
  // The controls that depend on the kind of base model: built-in or Stable Diffusion.
  void applyModelKind();
  // A described base model's defaults: sampler, steps, picture sizes, SDXL's size settings.
  void applyModelSummary(const ModelSummary& summary);
  // "Too small" follows the training resolution (the model's own when that is chosen).
  void updatePhotoResolution();
  // The built-in model draws at its training size: its (disabled) Size box says so.
  void showBuiltinPictureSize();
  void setPetClass(const QString& word);
  void updateInstancePrompt();
  void updateActions();
  void startTraining();
  void stopTraining();
  void togglePause();
  void onProgress(const pawtrait::training::TrainProgress& progress);
  void onPreview(int step, const QList<QImage>& images);
  void onTrainFinished(const QString& result, bool stopped);
  void startGenerating();
  void onImageGenerated(const QImage& image, const QString& path);
  void onGenerateFinished(bool stopped);
  void onFailed(const QString& message);
  void showPicture(int row);
  void saveSelected();
  void saveAll();
  void newRandomSeed();
  // Fills the size box with the model's usual sizes and selects the first (its own).
  void setPictureSizes(const QList<QSize>& sizes);
  // Selects `size` in the size box, adding it when the list has not got it.
  void selectPictureSize(const QSize& size);
  bool builtinModel() const;
  void loadProjectFile();
  // Copies photos (files, or the photos in folders) into the project's photos/ folder, so the
  // project keeps working when the originals move; returns the copies.
  QStringList copyIntoProject(const QStringList& paths);
  void restoreWindowState();
  // Shows a finished run's loss curve and previews again (a reopened project).
  void showRun(const QString& run);
  QJsonObject photoEditsJson() const;
  void restorePhotoEdits(const QJsonObject& edits);

  QThread m_engineThread;
  EngineWorker* m_worker = nullptr;
  QString m_project;
  QString m_modelPath;  // a Stable Diffusion model; empty: the built-in one
  int m_modelSide = 0;  // its native picture side, once described
  // Chosen now (its defaults replace the Generate settings) rather than reopened with a project.
  bool m_modelJustChosen = false;
  QString m_trainedModel;  // builtin:<run> or a LoRA file, from the last finished run
  QString m_lastRun;       // the run folder of the last training
  bool m_training = false, m_generating = false, m_paused = false, m_closeAfterStop = false;
  // The running (or queued) jobs' stop/pause tokens; Stop sets them even before a job starts.
  std::shared_ptr<pawtrait::engine::CancelToken> m_trainToken, m_generateToken;
  QStringList m_logLines;

  PhotoModel* m_photoModel = nullptr;
  PhotoListView* m_photos = nullptr;
  QLabel* m_photoCount = nullptr;
  QLineEdit* m_token = nullptr;
  QComboBox* m_class = nullptr;
  QLabel* m_instancePrompt = nullptr;
  QComboBox* m_modelChoice = nullptr;
  QLabel* m_modelInfo = nullptr;
  QComboBox* m_preset = nullptr;
  QToolButton* m_advancedToggle = nullptr;
  QWidget* m_advanced = nullptr;
  QSpinBox* m_steps = nullptr;
  QDoubleSpinBox* m_learningRate = nullptr;
  QSpinBox* m_rank = nullptr;
  QComboBox* m_resolution = nullptr;
  QCheckBox* m_prior = nullptr;
  QSpinBox* m_priorCount = nullptr;
  QComboBox* m_precision = nullptr;
  QCheckBox* m_checkpointing = nullptr;
  QCheckBox* m_maskedLoss = nullptr;
  QComboBox* m_device = nullptr;
  QLabel* m_runsOn = nullptr;
  QPushButton* m_trainButton = nullptr;
  QPushButton* m_pauseButton = nullptr;
  QPushButton* m_stopButton = nullptr;
  QProgressBar* m_trainProgress = nullptr;
  QLabel* m_trainStatus = nullptr;

  QTabWidget* m_tabs = nullptr;
  QSplitter* m_splitter = nullptr;
  LossPlot* m_lossPlot = nullptr;
  PreviewStrip* m_previews = nullptr;
  QLineEdit* m_prompt = nullptr;
  QLineEdit* m_negative = nullptr;
  LabeledSlider* m_sampleSteps = nullptr;
  LabeledSlider* m_guidance = nullptr;
  LabeledSlider* m_loraStrength = nullptr;
  QComboBox* m_sampler = nullptr;
  QSpinBox* m_seed = nullptr;
  QCheckBox* m_randomSeed = nullptr;
  QComboBox* m_size = nullptr;
  QToolButton* m_generateMoreToggle = nullptr;
  GenerateAdvanced* m_generateAdvanced = nullptr;
  QSpinBox* m_count = nullptr;
  QPushButton* m_generateButton = nullptr;
  QPushButton* m_stopGenerateButton = nullptr;
  QProgressBar* m_generateProgress = nullptr;
  GalleryView* m_gallery = nullptr;
};
