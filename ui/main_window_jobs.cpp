// MainWindow: training, generating and the gallery (the layout is in main_window.cpp).
#include "main_window.h"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QCloseEvent>
#include <QComboBox>
#include <QDateTime>
#include <QDesktopServices>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRandomGenerator>
#include <QSaveFile>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QToolButton>
#include <QUrl>
#include <QVBoxLayout>

#include "app_settings.h"
#include "download_dialog.h"
#include "families/model_kinds.h"
#include "gallery_view.h"
#include "generate_advanced.h"
#include "hub/model_cache.h"
#include "imaging/photo.h"
#include "labeled_slider.h"
#include "loss_plot.h"
#include "models/model_fingerprint.h"
#include "photo_list_view.h"
#include "photo_model.h"
#include "pipeline/image_metadata.h"
#include "pipeline/model_search.h"
#include "preview_strip.h"
#include "training_presets.h"

namespace {

namespace pipeline = pawtrait::pipeline;
namespace training = pawtrait::training;

QString formatEta(double seconds) {
  const int s = static_cast<int>(seconds + 0.5);
  return s >= 3600 ? QStringLiteral("%1:%2:%3")
                         .arg(s / 3600)
                         .arg(s / 60 % 60, 2, 10, QLatin1Char('0'))
                         .arg(s % 60, 2, 10, QLatin1Char('0'))
                   : QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}

}  // namespace

// ---- Behaviour ---------------------------------------------------------------------------

bool MainWindow::builtinModel() const { return m_modelPath.isEmpty(); }

void MainWindow::chooseModel() {
  const QString path =
      QFileDialog::getExistingDirectory(this, tr("Choose a Stable Diffusion model folder (with model_index.json)"));
  if (path.isEmpty()) {
    m_modelChoice->setCurrentIndex(builtinModel() ? 0 : 1);
    return;
  }
  setBaseModel(path);
}

void MainWindow::setBaseModel(const QString& path) {
  m_modelPath = path;
  m_modelSide = 0;
  m_modelJustChosen = true;
  m_modelChoice->setCurrentIndex(path.isEmpty() ? 0 : 1);
  if (path.isEmpty()) {
    m_modelInfo->setText(tr("64×64 pixel pictures, about 10 minutes of training on two CPU cores"));
  } else {
    m_modelChoice->setItemText(1, QFileInfo(path).fileName());
    m_modelInfo->setText(tr("Reading the model…"));
    Q_EMIT requestDescribe(path);
  }
  applyModelKind();
  applyPreset();
  updateActions();
}

void MainWindow::downloadModel() {
  DownloadDialog dialog(this);
  connect(&dialog, &DownloadDialog::modelReady, this, &MainWindow::setBaseModel);
  dialog.exec();
  m_modelChoice->setCurrentIndex(builtinModel() ? 0 : 1);
}

void MainWindow::applyPreset() {
  const TrainingPreset& p = kTrainingPresets[std::clamp(m_preset->currentIndex(), 0, 2)];
  const bool builtin = builtinModel();
  m_steps->setValue(builtin ? p.builtin_steps : p.sd_steps);
  m_learningRate->setValue(builtin ? 0.001 : 0.0001);
  m_rank->setValue(p.rank);
}

void MainWindow::applyModelKind() {
  const bool builtin = builtinModel();
  m_rank->setEnabled(!builtin);
  m_prior->setEnabled(!builtin);
  m_priorCount->setEnabled(!builtin);
  m_precision->setEnabled(!builtin);
  m_checkpointing->setEnabled(!builtin);
  m_maskedLoss->setEnabled(!builtin);
  m_device->setEnabled(!builtin);
  m_guidance->setEnabled(!builtin);
  m_loraStrength->setEnabled(!builtin);
  m_size->setEnabled(!builtin);
  m_generateMoreToggle->setEnabled(!builtin);
  if (builtin) m_generateMoreToggle->setChecked(false);
  m_generateAdvanced->setSizeConditioned(false);  // until the model's description says otherwise
  // The built-in model is unconditional: it draws the pet it learned, whatever the prompt.
  m_prompt->setEnabled(!builtin);
  m_negative->setEnabled(!builtin);
  m_prompt->setToolTip(builtin
                           ? tr("The built-in model draws the pet it learned; prompts need a Stable Diffusion model")
                           : tr("Describe the picture; your pet's name word makes it your pet"));
  const QSignalBlocker quiet(m_resolution);
  m_resolution->clear();
  if (builtin) {
    m_resolution->addItem(QStringLiteral("64×64"), 64);
    m_resolution->addItem(QStringLiteral("32×32"), 32);
    showBuiltinPictureSize();
    m_sampler->setCurrentIndex(m_sampler->findData(QStringLiteral("ddpm")));
    m_sampleSteps->setValue(100);
  } else {
    m_resolution->addItem(tr("the model's own"), 0);
    for (int s : {512, 768, 1024}) m_resolution->addItem(QStringLiteral("%1×%1").arg(s), s);
  }
  updatePhotoResolution();
  updateInstancePrompt();  // a Stable Diffusion model needs the kind of animal
}

void MainWindow::applyModelSummary(const ModelSummary& summary) {
  m_modelSide = summary.imageSize;
  const QSize shown = m_size->currentData().toSize();
  if (!summary.sizes.isEmpty()) setPictureSizes(summary.sizes);  // the model's own size first
  if (m_modelJustChosen) {
    const int sampler = m_sampler->findData(summary.sampler);
    if (sampler >= 0) m_sampler->setCurrentIndex(sampler);
    if (summary.steps > 0) m_sampleSteps->setValue(summary.steps);
    m_guidance->setValue(summary.guidance);
  } else {
    selectPictureSize(shown);  // a reopened project keeps the settings it was saved with
  }
  m_modelJustChosen = false;
  m_generateAdvanced->setSizeConditioned(summary.sizeConditioned);
  m_generateAdvanced->setVaeReplaceable(summary.vaeReplaceable);
  m_checkpointing->setChecked(summary.checkpointing);  // the model's own choice, until changed
  m_generateAdvanced->setClipPrompts(summary.clipPrompts);
  // A guidance-distilled model (FLUX.2 [klein] 4-step) is not guided; a flow model samples with Euler.
  m_guidance->setEnabled(summary.guided && !builtinModel());
  m_guidance->setToolTip(summary.guided
                             ? tr("How closely to follow the prompt (%1 is usual for this model)").arg(summary.guidance)
                             : tr("This model was distilled to follow the prompt without guidance"));
  m_sampler->setEnabled(!summary.flow);
  // Without guidance there is no unconditional branch for a negative prompt to steer.
  m_negative->setEnabled(summary.guided && !builtinModel());
  m_negative->setToolTip(summary.guided ? tr("What the picture should not have")
                                        : tr("This model draws without guidance, so a negative prompt has no effect"));
  if (m_modelSide > 0) m_resolution->setItemText(0, tr("the model's own (%1×%1)").arg(m_modelSide));
  updatePhotoResolution();
}

void MainWindow::updatePhotoResolution() {
  const int chosen = m_resolution->currentData().toInt();
  // Before a model is described its own side is unknown: 512, the smallest Stable Diffusion's.
  m_photoModel->setResolution(chosen > 0 ? chosen : m_modelSide > 0 ? m_modelSide : 512);
}

// The prompt is the model's input, not the interface's text: English, whatever the language
// the window speaks (the models learned from English captions).
void MainWindow::updateInstancePrompt() {
  const QString kind = petClassWord();
  const QString prompt = QStringLiteral("a photo of %1 %2").arg(m_token->text().trimmed(), kind).trimmed();
  const bool kindMissing = kind.isEmpty() && !builtinModel();
  m_instancePrompt->setText(kindMissing ? tr("“%1 …”: say what kind of animal it is").arg(prompt)
                                        : QStringLiteral("“%1”").arg(prompt));
  if (m_prompt != nullptr &&
      (m_prompt->text().isEmpty() || m_prompt->text().startsWith(QStringLiteral("a photo of ")))) {
    m_prompt->setText(prompt);
  }
  if (m_trainButton != nullptr) updateActions();  // Train waits for the kind of animal
}

QString MainWindow::petClassWord() const {
  const QString text = m_class->currentText().trimmed();
  const int listed = m_class->findText(text, Qt::MatchFixedString);
  return listed >= 0 ? m_class->itemData(listed).toString() : text;
}

void MainWindow::setPetClass(const QString& word) {
  const int listed = m_class->findData(word);
  if (listed >= 0) {
    m_class->setCurrentIndex(listed);
  } else {
    m_class->setCurrentIndex(-1);
    m_class->setEditText(word);
  }
}

void MainWindow::showBuiltinPictureSize() {
  if (!builtinModel()) return;
  const int side = m_resolution->currentData().toInt();
  if (side > 0) setPictureSizes({QSize(side, side)});
}

void MainWindow::updateActions() {
  const int total = m_photoModel->rowCount();
  const int usable = m_photoModel->usableCount();
  // Only while the hint is still what the bar says: a later message (the guessed kind) stays.
  if (total > 0 && statusBar()->currentMessage() == tr("Add photos of your pet to begin")) statusBar()->clearMessage();
  if (total == 0) {
    m_photoCount->setText(tr("No photos yet. 3–20 photos of the same pet work best."));
  } else if (m_photoModel->checking()) {
    m_photoCount->setText(tr("%n photo(s), checking…", nullptr, total));
  } else if (usable == total) {
    const int warned = m_photoModel->warningCount();
    m_photoCount->setText(tr("%n photo(s) ready", nullptr, total) +
                          (warned > 0   ? tr(", %n with a warning (hover it)", nullptr, warned)
                           : total < 3  ? tr(" (3–20 work best)")
                           : total > 20 ? tr(" (more than 20 rarely helps)")
                                        : QString()));
  } else {
    m_photoCount->setText(tr("%1 of %2 photos usable; hover a marked one to see why").arg(usable).arg(total));
  }
  const bool busy = m_training || m_generating;
  // A Stable Diffusion model learns the pet as "a photo of sks <kind>": the kind must be said.
  const bool kindMissing = !builtinModel() && petClassWord().isEmpty();
  const bool canTrain =
      !busy && usable > 0 && !m_photoModel->checking() && !m_token->text().trimmed().isEmpty() && !kindMissing;
  m_trainButton->setEnabled(canTrain);
  m_trainButton->setToolTip(usable == 0   ? tr("Add photos of your pet first")
                            : kindMissing ? tr("Say what kind of animal your pet is, under 2. Who is it?")
                                          : tr("Teach the model your pet from these photos (Ctrl+T)"));
  m_pauseButton->setEnabled(m_training);
  m_stopButton->setEnabled(m_training);
  const bool haveModel = builtinModel() ? !m_trainedModel.isEmpty() : true;
  m_generateButton->setEnabled(!busy && haveModel);
  m_generateButton->setToolTip(haveModel ? tr("Make pictures with these settings (Ctrl+Return)")
                                         : tr("Train the built-in model first"));
  m_stopGenerateButton->setEnabled(m_generating);
  m_modelChoice->setEnabled(!busy);
}

void MainWindow::startTraining() {
  if (m_project.isEmpty()) {  // no project open yet: a default one, keeping the photos on screen
    m_project = QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation))
                    .filePath(QStringLiteral("projects/My pet"));
    QDir().mkpath(m_project);
  }
  const QString run = QDir(m_project).filePath(
      QStringLiteral("runs/") + QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss")));
  TrainJob queued;
  pawtrait::engine::TrainJob& job = queued.job;
  job.builtin = builtinModel();
  std::vector<std::filesystem::path> photos;
  for (const QString& p : m_photoModel->usablePaths()) photos.emplace_back(QFile::encodeName(p).toStdString());
  const int steps = m_steps->value();
  if (job.builtin) {
    auto& r = job.pixel;
    r.photos = photos;
    r.run_dir = run.toStdString();
    r.steps = steps;
    r.learning_rate = m_learningRate->value();
    r.model.resolution = m_resolution->currentData().toInt();
    r.preview_every = std::max(10, steps / 8);
    r.validate_every = std::max(5, steps / 40);
    r.checkpoint_every = std::max(50, steps / 4);
  } else {
    auto& r = job.stable_diffusion;
    r.photos = photos;
    r.edits = m_photoModel->edits();
    for (int row = 0; row < m_photoModel->rowCount(); ++row) {
      const QString caption = m_photoModel->captionAt(row);
      const QString path = m_photoModel->index(row).data(PhotoModel::PathRole).toString();
      if (!caption.isEmpty()) r.captions[QFile::encodeName(path).toStdString()] = caption.toStdString();
    }
    r.model = m_modelPath.toStdString();
    r.run_dir = run.toStdString();
    r.token = m_token->text().trimmed().toStdString();
    r.class_name = petClassWord().toStdString();
    r.steps = steps;
    r.learning_rate = m_learningRate->value();
    r.rank = m_rank->value();
    r.alpha = m_rank->value();
    r.resolution = m_resolution->currentData().toInt();
    r.prior_count = m_prior->isChecked() ? m_priorCount->value() : 0;
    r.mixed_precision = m_precision->currentText().toStdString();
    r.device = m_device->currentData().toString().toStdString();
    r.gradient_checkpointing = m_checkpointing->isChecked();
    r.masked_loss = m_maskedLoss->isChecked();
    r.preview_every = std::max(10, steps / 8);
    r.validate_every = std::max(5, steps / 40);
    r.checkpoint_every = std::max(50, steps / 4);
  }
  m_lastRun = run;
  saveProject();
  m_lossPlot->clear();
  m_previews->clear();
  m_trainProgress->setRange(0, steps);
  m_trainProgress->setValue(0);
  m_trainStatus->setText(tr("Starting…"));
  m_training = true;
  m_paused = false;
  m_pauseButton->setText(tr("Pause"));
  m_tabs->setCurrentIndex(0);
  updateActions();
  statusBar()->showMessage(tr("Training; you can keep using the window"));
  m_trainToken = queued.token;
  Q_EMIT requestTrain(queued);
}

void MainWindow::stopTraining() {
  if (!m_training) return;
  if (m_trainToken) m_trainToken->cancel = true;
  m_trainStatus->setText(tr("Stopping after this step…"));
}

void MainWindow::togglePause() {
  m_paused = !m_paused;
  if (m_trainToken) m_trainToken->pause = m_paused;
  m_pauseButton->setText(m_paused ? tr("Resume") : tr("Pause"));
  m_trainStatus->setText(m_paused ? tr("Paused") : tr("Resuming…"));
}

void MainWindow::onProgress(const training::TrainProgress& p) {
  m_lossPlot->addPoint(static_cast<int>(p.step), p.loss, p.smoothed_loss, p.validation_loss);
  m_trainProgress->setMaximum(static_cast<int>(p.steps));
  m_trainProgress->setValue(static_cast<int>(p.step));
  if (!m_paused) {
    m_trainStatus->setText(tr("Step %1 of %2 · %3 steps/s · %4 left")
                               .arg(p.step)
                               .arg(p.steps)
                               .arg(p.it_per_s, 0, 'f', p.it_per_s < 10 ? 2 : 1)
                               .arg(formatEta(p.eta_seconds)));
  }
}

void MainWindow::onPreview(int step, const QList<QImage>& images) { m_previews->addPreview(step, images); }

void MainWindow::onTrainFinished(const QString& result, bool stopped) {
  m_training = false;
  // Empty when stopped before the first step: the model trained before (if any) stays in use.
  if (!result.isEmpty()) {
    m_trainedModel = builtinModel() ? QStringLiteral("builtin:") + QFileInfo(result).absolutePath() : result;
  }
  m_trainStatus->setText(result.isEmpty() ? tr("Stopped before training began")
                         : stopped        ? tr("Stopped; what it learned so far is kept")
                                          : tr("Done"));
  statusBar()->showMessage(stopped ? tr("Training stopped") : tr("Training finished: try the Generate tab"), 10000);
  saveProject();
  updateActions();
  if (m_closeAfterStop) close();
}

void MainWindow::startGenerating() {
  if (m_randomSeed->isChecked()) newRandomSeed();
  GenerateJob queued;
  queued.job.request = currentGenerateRequest();
  queued.job.out_dir = QFile::encodeName(QDir(m_project).filePath(QStringLiteral("gallery"))).toStdString();
  m_generating = true;
  m_generateProgress->setValue(0);
  updateActions();
  m_generateToken = queued.token;
  Q_EMIT requestGenerate(queued);
}

pipeline::GenerateRequest MainWindow::currentGenerateRequest() const {
  pipeline::GenerateRequest r;
  if (builtinModel()) {
    r.model = m_trainedModel.toStdString();
  } else {
    r.model = m_modelPath.toStdString();
    if (!m_trainedModel.isEmpty() && m_trainedModel.endsWith(QStringLiteral(".safetensors"))) {
      r.loras.push_back({m_trainedModel.toStdString(), m_loraStrength->value()});
    }
  }
  r.prompt = m_prompt->text().toStdString();
  // An empty box means no negative prompt (the model's own unconditional branch).
  if (m_negative->isEnabled() && !m_negative->text().isEmpty()) r.negative_prompt = m_negative->text().toStdString();
  r.sampler = m_sampler->currentData().toString().toStdString();
  r.steps = static_cast<std::int64_t>(m_sampleSteps->value());
  r.guidance = m_guidance->value();
  const QSize size = m_size->currentData().toSize();
  r.width = size.width();
  r.height = size.height();
  r.seed = static_cast<std::uint64_t>(m_seed->value());
  r.count = m_count->value();
  if (!builtinModel()) {
    r.device = m_device->currentData().toString().toStdString();
    m_generateAdvanced->writeTo(r);
  }
  return r;
}

void MainWindow::useSettings(const pipeline::GenerateRequest& r) {
  m_prompt->setText(QString::fromStdString(r.prompt));
  m_negative->setText(QString::fromStdString(r.negative_prompt.value_or("")));
  const int sampler = m_sampler->findData(QString::fromStdString(r.sampler));
  if (sampler >= 0) m_sampler->setCurrentIndex(sampler);
  m_sampleSteps->setValue(static_cast<double>(r.steps));
  m_guidance->setValue(r.guidance);
  if (!r.loras.empty()) m_loraStrength->setValue(r.loras.front().strength);
  m_randomSeed->setChecked(false);
  m_seed->setValue(static_cast<int>(r.seed));
  selectPictureSize(QSize(static_cast<int>(r.width), static_cast<int>(r.height)));
  m_generateAdvanced->readFrom(r);
  // Settings away from the usual ones are shown, so that nobody wonders why a picture differs.
  const bool unusual = !r.vae.empty() || r.prompt_cleanup != "nfc" || r.original_size || r.crops_coords_top_left ||
                       r.target_size || r.negative_original_size || r.negative_target_size;
  if (unusual && m_generateMoreToggle->isEnabled()) m_generateMoreToggle->setChecked(true);
  m_tabs->setCurrentIndex(1);
  statusBar()->showMessage(tr("Settings restored from the picture"), 5000);
}

void MainWindow::usePictureSettings(const QString& picture) {
  pipeline::GenerateRequest request = pipeline::request_from_png(picture.toStdString());
  const std::filesystem::path file(QFile::encodeName(picture).toStdString());
  std::vector<std::filesystem::path> folders = pipeline::folders_near(file);
  if (!m_project.isEmpty()) folders.insert(folders.begin(), QFile::encodeName(m_project).toStdString());
  // The folder of the model in use, where its owner keeps the others.
  if (!m_modelPath.isEmpty()) folders.push_back(QFile::encodeName(QFileInfo(m_modelPath).absolutePath()).toStdString());
  try {
    folders.push_back(pawtrait::hub::default_models_dir());
  } catch (const std::exception&) {
    // No home folder: the folders near the picture are all there is.
  }
  QStringList warnings;
  const pawtrait::LogSink log = [&warnings](pawtrait::LogLevel level, const std::string& line) {
    if (level >= pawtrait::LogLevel::Warning) warnings.append(QString::fromStdString(line));
  };
  try {
    pipeline::HowToName how;
    how.model = tr("choose it in the Model box (on this computer, or download it)").toStdString();
    how.vae = tr("choose it as the VAE under More").toStdString();
    how.lora = tr("put it in this project").toStdString();
    request = pipeline::locate_models(request, folders, log, pawtrait::models::default_hash_cache(), how);
  } catch (const std::exception& e) {
    // The rest still helps: the prompt, the seed and the sliders, with the model chosen now.
    request.vae.clear();
    request.model_config.clear();
    useSettings(request);
    QMessageBox::information(this, tr("The picture's model is not here"),
                             QString::fromUtf8(e.what()) + QStringLiteral("\n\n") +
                                 tr("Its other settings are restored; with that model chosen, drop the picture "
                                    "here again to make it exactly."));
    return;
  }
  if (request.model.starts_with(pawtrait::families::kBuiltinPrefix)) {
    if (!builtinModel()) setBaseModel(QString());
    m_trainedModel = QString::fromStdString(request.model);
  } else {
    const QString model = QString::fromStdString(request.model);
    if (QFileInfo(model) != QFileInfo(m_modelPath)) setBaseModel(model);
    if (!request.loras.empty()) m_trainedModel = QString::fromStdString(request.loras.front().path);
  }
  useSettings(request);
  updateActions();
  if (!warnings.isEmpty()) {
    QMessageBox::information(this, tr("Not quite the picture's model"), warnings.join(QStringLiteral("\n")));
  }
}

void MainWindow::onImageGenerated(const QImage& image, const QString& path) { m_gallery->addPicture(image, path); }

void MainWindow::onGenerateFinished(bool stopped) {
  m_generating = false;
  m_generateProgress->setValue(m_generateProgress->maximum());
  statusBar()->showMessage(stopped ? tr("Stopped; the finished pictures are kept") : tr("Pictures ready"), 6000);
  updateActions();
}

void MainWindow::onFailed(const QString& message) {
  const bool wasTraining = m_training;
  m_training = m_generating = false;
  appendLog(3, message);
  updateActions();
  m_trainStatus->setText(wasTraining ? tr("Training stopped: see the message") : m_trainStatus->text());
  QMessageBox::warning(this, wasTraining ? tr("Training stopped") : tr("Something went wrong"), message);
  if (m_closeAfterStop) close();
}

void MainWindow::setPictureSizes(const QList<QSize>& sizes) {
  m_size->clear();
  for (const QSize& size : sizes) {
    m_size->addItem(QStringLiteral("%1×%2").arg(size.width()).arg(size.height()), size);
  }
  m_size->setCurrentIndex(0);
}

void MainWindow::selectPictureSize(const QSize& wanted) {
  int size = m_size->findData(wanted);
  if (size < 0 && wanted.width() > 0 && wanted.height() > 0) {  // a size the list has not
    m_size->addItem(QStringLiteral("%1×%2").arg(wanted.width()).arg(wanted.height()), wanted);
    size = m_size->count() - 1;
  }
  if (size >= 0) m_size->setCurrentIndex(size);
}

void MainWindow::newRandomSeed() { m_seed->setValue(static_cast<int>(QRandomGenerator::global()->bounded(1 << 30))); }

void MainWindow::showPicture(int row) {
  const QString path = m_gallery->pathAt(row);
  if (path.isEmpty()) return;
  QDialog dialog(this);
  dialog.setWindowTitle(QFileInfo(path).fileName());
  auto* layout = new QVBoxLayout(&dialog);
  const QImage image(path);
  auto* picture = new QLabel;
  const int side = std::max(512, image.width());
  picture->setPixmap(QPixmap::fromImage(image.scaled(
      side, side, Qt::KeepAspectRatio, image.width() < 256 ? Qt::FastTransformation : Qt::SmoothTransformation)));
  picture->setAlignment(Qt::AlignCenter);
  layout->addWidget(picture, 1);
  pipeline::GenerateRequest request;
  QString parameters;
  try {
    request = pipeline::request_from_png(path.toStdString());
    parameters = QString::fromStdString(pipeline::a1111_parameters(request));
  } catch (const std::exception& e) {
    parameters = QString::fromUtf8(e.what());
  }
  auto* text = new QLabel(parameters);
  text->setWordWrap(true);
  text->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(text);
  auto* buttons = new QDialogButtonBox;
  QPushButton* use = buttons->addButton(tr("&Use these settings"), QDialogButtonBox::ActionRole);
  QPushButton* copy = buttons->addButton(tr("&Copy"), QDialogButtonBox::ActionRole);
  QPushButton* save = buttons->addButton(tr("&Save…"), QDialogButtonBox::ActionRole);
  buttons->addButton(QDialogButtonBox::Close);
  connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  connect(use, &QPushButton::clicked, &dialog, [&] {
    dialog.accept();
    try {
      usePictureSettings(path);
    } catch (const std::exception& e) {
      QMessageBox::warning(this, tr("Can't read the picture's settings"), QString::fromUtf8(e.what()));
    }
  });
  connect(copy, &QPushButton::clicked, &dialog, [&] { QApplication::clipboard()->setImage(image); });
  connect(save, &QPushButton::clicked, &dialog, [&] {
    const QString target = QFileDialog::getSaveFileName(&dialog, tr("Save picture"), QFileInfo(path).fileName(),
                                                        tr("PNG pictures (*.png)"));
    if (!target.isEmpty() && !QFile::copy(path, target)) {
      QMessageBox::warning(&dialog, tr("Not saved"), tr("Could not write %1").arg(target));
    }
  });
  layout->addWidget(buttons);
  dialog.exec();
}

void MainWindow::saveSelected() {
  const auto items = m_gallery->selectedItems();
  if (items.isEmpty()) return;
  if (items.size() == 1) {
    const QString path = items.front()->data(Qt::UserRole).toString();
    const QString target =
        QFileDialog::getSaveFileName(this, tr("Save picture"), QFileInfo(path).fileName(), tr("PNG pictures (*.png)"));
    if (!target.isEmpty() && !QFile::copy(path, target)) {
      QMessageBox::warning(this, tr("Not saved"), tr("Could not write %1 (it may exist already)").arg(target));
    }
    return;
  }
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Save the selected pictures into"));
  if (dir.isEmpty()) return;
  for (const auto* item : items) {
    const QString path = item->data(Qt::UserRole).toString();
    QFile::copy(path, QDir(dir).filePath(QFileInfo(path).fileName()));
  }
}

void MainWindow::saveAll() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Save all pictures into"));
  if (dir.isEmpty()) return;
  int failed = 0;
  for (const QString& path : m_gallery->paths()) {
    if (!QFile::copy(path, QDir(dir).filePath(QFileInfo(path).fileName()))) ++failed;
  }
  if (failed > 0)
    QMessageBox::warning(this, tr("Some not saved"), tr("%n picture(s) could not be copied", nullptr, failed));
}
