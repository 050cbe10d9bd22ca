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
#include "gallery_view.h"
#include "imaging/photo.h"
#include "labeled_slider.h"
#include "loss_plot.h"
#include "photo_list_view.h"
#include "photo_model.h"
#include "pipeline/image_metadata.h"
#include "preview_strip.h"

namespace {

namespace pipeline = pawtrait::pipeline;
namespace training = pawtrait::training;

// Steps for each preset: built-in model / Stable Diffusion LoRA.
struct Preset {
  const char* name;
  int builtin_steps;
  int sd_steps;
  int rank;
};
constexpr Preset kPresets[] = {{"Quick", 300, 200, 8}, {"Balanced", 1000, 400, 16}, {"Best", 2000, 800, 32}};

QString formatEta(double seconds) {
  const int s = static_cast<int>(seconds + 0.5);
  return s >= 3600 ? QStringLiteral("%1:%2:%3")
                         .arg(s / 3600)
                         .arg(s / 60 % 60, 2, 10, QLatin1Char('0'))
                         .arg(s % 60, 2, 10, QLatin1Char('0'))
                   : QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}

bool isPawtraitPicture(const QString& path) {
  if (!path.endsWith(QStringLiteral(".png"), Qt::CaseInsensitive)) return false;
  try {
    pipeline::request_from_png(path.toStdString());
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("Pawtrait"));
  setWindowIcon(QIcon(QStringLiteral(":/icons/pawtrait-256.png")));
  setAcceptDrops(true);

  // The engine's thread: every tensor operation happens there.
  m_worker = new EngineWorker;
  m_worker->moveToThread(&m_engineThread);
  connect(&m_engineThread, &QThread::finished, m_worker, &QObject::deleteLater);
  connect(this, &MainWindow::requestTrain, m_worker, &EngineWorker::train);
  connect(this, &MainWindow::requestGenerate, m_worker, &EngineWorker::generate);
  connect(this, &MainWindow::requestDescribe, m_worker, &EngineWorker::describeModel);
  connect(m_worker, &EngineWorker::trainProgress, this, &MainWindow::onProgress);
  connect(m_worker, &EngineWorker::trainPreview, this, &MainWindow::onPreview);
  connect(m_worker, &EngineWorker::trainFinished, this, &MainWindow::onTrainFinished);
  connect(m_worker, &EngineWorker::imageGenerated, this, &MainWindow::onImageGenerated);
  connect(m_worker, &EngineWorker::generateFinished, this, &MainWindow::onGenerateFinished);
  connect(m_worker, &EngineWorker::failed, this, &MainWindow::onFailed);
  connect(m_worker, &EngineWorker::logLine, this, &MainWindow::appendLog);
  connect(m_worker, &EngineWorker::generateProgress, this, [this](int image, int images, int step, int steps) {
    m_generateProgress->setMaximum(std::max(1, images * std::max(steps, 1)));
    m_generateProgress->setValue(image * std::max(steps, 1) + step);
  });
  connect(m_worker, &EngineWorker::modelDescribed, this,
          [this](const QString& path, const QString& text, bool usable, int imageSize) {
            if (path != m_modelPath) return;
            m_modelInfo->setText(text);
            if (usable && imageSize > 0) {  // pictures at the model's own size by default
              int index = m_size->findData(imageSize);
              if (index < 0) {
                m_size->insertItem(0, QStringLiteral("%1×%1").arg(imageSize), imageSize);
                index = 0;
              }
              m_size->setCurrentIndex(index);
            }
            if (!usable) {
              m_modelPath.clear();
              m_modelChoice->setCurrentIndex(0);
              QMessageBox::warning(this, tr("This model can't be used"), text);
            }
            updateActions();
          });
  m_engineThread.setObjectName(QStringLiteral("engine"));
  m_engineThread.start();

  auto* left = new QWidget;
  auto* leftLayout = new QVBoxLayout(left);
  leftLayout->addWidget(buildPhotosBox(), 1);
  leftLayout->addWidget(buildSubjectBox());
  leftLayout->addWidget(buildModelBox());
  leftLayout->addWidget(buildTrainBox());

  m_tabs = new QTabWidget;
  m_tabs->setObjectName(QStringLiteral("tabs"));
  m_tabs->addTab(buildTrainingTab(), tr("&Training"));
  m_tabs->addTab(buildGenerateTab(), tr("&Generate"));

  m_splitter = new QSplitter(Qt::Horizontal);
  m_splitter->setObjectName(QStringLiteral("mainSplitter"));
  m_splitter->addWidget(left);
  m_splitter->addWidget(m_tabs);
  m_splitter->setStretchFactor(0, 2);
  m_splitter->setStretchFactor(1, 3);
  setCentralWidget(m_splitter);

  buildMenus();
  applyPreset();
  updateInstancePrompt();
  updateActions();
  statusBar()->showMessage(tr("Add photos of your pet to begin"));
  resize(1280, 800);
  restoreWindowState();
}

MainWindow::~MainWindow() {
  m_worker->cancel();
  m_engineThread.quit();
  m_engineThread.wait();
}

// ---- Left column -------------------------------------------------------------------------

QWidget* MainWindow::buildPhotosBox() {
  auto* box = new QGroupBox(tr("1. Your pet's photos"));
  auto* layout = new QVBoxLayout(box);
  m_photoModel = new PhotoModel(this);
  m_photos = new PhotoListView;
  m_photos->setObjectName(QStringLiteral("photoArea"));
  m_photos->setModel(m_photoModel);
  m_photos->setEmptyText(
      tr("Drag photos of your pet here\n\n3–20 photos of the same pet work best:\n"
         "different places, angles and light"));
  m_photos->setMinimumSize(360, 220);
  m_photos->setAccessibleName(tr("Photos of your pet"));
  m_photos->setToolTip(tr("Drop photos or folders here. Select and press Delete to remove."));
  m_photoCount = new QLabel;
  m_photoCount->setObjectName(QStringLiteral("photoCount"));
  auto* add = new QPushButton(tr("&Add photos…"));
  add->setToolTip(tr("Choose photos of your pet (JPEG, PNG, WebP, HEIC, …)"));
  auto* remove = new QPushButton(tr("&Remove"));
  remove->setObjectName(QStringLiteral("removePhotos"));
  remove->setToolTip(tr("Remove the selected photos from the project (Delete)"));
  connect(add, &QPushButton::clicked, this, [this] {
    const QStringList files = QFileDialog::getOpenFileNames(
        this, tr("Add photos of your pet"), QStandardPaths::writableLocation(QStandardPaths::PicturesLocation),
        tr("Photos (*.jpg *.jpeg *.png *.webp *.bmp *.tif *.tiff *.heic *.heif);;All files (*)"));
    addFiles(files);
  });
  auto removeSelected = [this] { m_photoModel->removePhotos(m_photos->selectionModel()->selectedIndexes()); };
  connect(remove, &QPushButton::clicked, this, removeSelected);
  // Delete/Backspace in the grid is the view's own (PhotoListView).
  connect(m_photoModel, &QAbstractItemModel::rowsInserted, this, &MainWindow::updateActions);
  connect(m_photoModel, &QAbstractItemModel::rowsRemoved, this, &MainWindow::updateActions);
  connect(m_photoModel, &QAbstractItemModel::modelReset, this, &MainWindow::updateActions);
  connect(m_photoModel, &QAbstractItemModel::dataChanged, this, &MainWindow::updateActions);
  connect(m_photoModel, &PhotoModel::checksFinished, this, &MainWindow::updateActions);
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(m_photoCount, 1);
  buttons->addWidget(add);
  buttons->addWidget(remove);
  layout->addWidget(m_photos, 1);
  layout->addLayout(buttons);
  return box;
}

QWidget* MainWindow::buildSubjectBox() {
  auto* box = new QGroupBox(tr("2. Who is it?"));
  auto* form = new QFormLayout(box);
  m_token = new QLineEdit(QStringLiteral("sks"));
  m_token->setObjectName(QStringLiteral("token"));
  m_token->setToolTip(
      tr("A rare word that will mean your pet in prompts. Keep it short and unusual, like sks or zwx."));
  m_class = new QComboBox;
  m_class->setObjectName(QStringLiteral("petClass"));
  m_class->setEditable(true);
  m_class->addItems({tr("dog"), tr("cat"), tr("rabbit"), tr("bird"), tr("horse"), tr("hamster"), tr("guinea pig")});
  m_class->setToolTip(tr("What kind of animal your pet is; type your own if it isn't listed"));
  m_instancePrompt = new QLabel;
  m_instancePrompt->setObjectName(QStringLiteral("instancePrompt"));
  m_instancePrompt->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_instancePrompt->setToolTip(tr("The prompt your photos are learned under"));
  form->addRow(tr("&Name word:"), m_token);
  form->addRow(tr("&Animal:"), m_class);
  form->addRow(tr("Learned as:"), m_instancePrompt);
  connect(m_token, &QLineEdit::textChanged, this, &MainWindow::updateInstancePrompt);
  connect(m_class, &QComboBox::currentTextChanged, this, &MainWindow::updateInstancePrompt);
  return box;
}

QWidget* MainWindow::buildModelBox() {
  auto* box = new QGroupBox(tr("3. Model"));
  auto* layout = new QVBoxLayout(box);
  m_modelChoice = new QComboBox;
  m_modelChoice->setObjectName(QStringLiteral("modelChoice"));
  m_modelChoice->addItem(tr("Built-in (no download, trains on the CPU)"));
  m_modelChoice->addItem(tr("Stable Diffusion model on this computer…"));
  m_modelChoice->addItem(tr("Download a Stable Diffusion model…"));
  m_modelChoice->setToolTip(
      tr("The built-in model is small and quick; Stable Diffusion makes far better pictures "
         "but wants an NVIDIA GPU"));
  m_modelInfo = new QLabel(tr("64×64 pixel pictures, about 10 minutes of training on two CPU cores"));
  m_modelInfo->setObjectName(QStringLiteral("modelInfo"));
  m_modelInfo->setWordWrap(true);
  layout->addWidget(m_modelChoice);
  layout->addWidget(m_modelInfo);
  connect(m_modelChoice, &QComboBox::activated, this, [this](int index) {
    if (index == 1) {
      chooseModel();
    } else if (index == 2) {
      downloadModel();
    } else {
      setBaseModel(QString());
    }
  });
  return box;
}

QWidget* MainWindow::buildTrainBox() {
  auto* box = new QGroupBox(tr("4. Train"));
  auto* layout = new QVBoxLayout(box);
  auto* presetRow = new QHBoxLayout;
  m_preset = new QComboBox;
  m_preset->setObjectName(QStringLiteral("preset"));
  for (const auto& p : kPresets) m_preset->addItem(tr(p.name));
  m_preset->setCurrentIndex(1);
  m_preset->setToolTip(tr("Quick: a first look. Balanced: good for most pets. Best: longer, more detail."));
  m_advancedToggle = new QToolButton;
  m_advancedToggle->setText(tr("Advanced"));
  m_advancedToggle->setCheckable(true);
  m_advancedToggle->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
  m_advancedToggle->setArrowType(Qt::RightArrow);
  m_advancedToggle->setToolTip(tr("Show the training settings"));
  auto* presetLabel = new QLabel(tr("&Preset:"));
  presetLabel->setBuddy(m_preset);
  presetRow->addWidget(presetLabel);
  presetRow->addWidget(m_preset, 1);
  presetRow->addWidget(m_advancedToggle);
  layout->addLayout(presetRow);

  m_advanced = new QWidget;
  auto* form = new QFormLayout(m_advanced);
  form->setContentsMargins(0, 0, 0, 0);
  m_steps = new QSpinBox;
  m_steps->setObjectName(QStringLiteral("steps"));
  m_steps->setRange(1, 100000);
  m_steps->setToolTip(tr("Training steps: more learns more detail, too many copies the photos"));
  m_learningRate = new QDoubleSpinBox;
  m_learningRate->setDecimals(6);
  m_learningRate->setRange(0.000001, 0.01);
  m_learningRate->setSingleStep(0.00001);
  m_learningRate->setToolTip(tr("How big each learning step is"));
  m_rank = new QSpinBox;
  m_rank->setRange(1, 128);
  m_rank->setToolTip(tr("LoRA rank: the adapter's capacity (Stable Diffusion only)"));
  m_resolution = new QComboBox;
  m_resolution->setObjectName(QStringLiteral("resolution"));
  m_resolution->setToolTip(tr("The picture size training works at"));
  m_prior = new QCheckBox(tr("Keep other animals of this kind looking normal"));
  m_prior->setToolTip(
      tr("Prior preservation: the model first draws pictures of the animal kind and learns them "
         "alongside your photos (Stable Diffusion only)"));
  m_priorCount = new QSpinBox;
  m_priorCount->setRange(1, 1000);
  m_priorCount->setValue(100);
  m_priorCount->setToolTip(tr("How many class pictures to draw once and reuse"));
  m_precision = new QComboBox;
  m_precision->addItems({QStringLiteral("auto"), QStringLiteral("no"), QStringLiteral("bf16"), QStringLiteral("fp16")});
  m_precision->setToolTip(tr("Mixed precision on NVIDIA GPUs: auto picks bf16 where the GPU has it"));
  m_checkpointing = new QCheckBox(tr("Save GPU memory (slower)"));
  m_checkpointing->setToolTip(tr("Gradient checkpointing: recomputes activations instead of keeping them"));
  form->addRow(tr("Steps:"), m_steps);
  form->addRow(tr("Learning rate:"), m_learningRate);
  form->addRow(tr("LoRA rank:"), m_rank);
  form->addRow(tr("Resolution:"), m_resolution);
  auto* priorRow = new QHBoxLayout;
  priorRow->addWidget(m_prior, 1);
  priorRow->addWidget(m_priorCount);
  form->addRow(priorRow);
  form->addRow(tr("Precision:"), m_precision);
  form->addRow(m_checkpointing);
  m_advanced->setVisible(false);
  layout->addWidget(m_advanced);
  connect(m_advancedToggle, &QToolButton::toggled, this, [this](bool on) {
    m_advanced->setVisible(on);
    m_advancedToggle->setArrowType(on ? Qt::DownArrow : Qt::RightArrow);
  });
  connect(m_preset, &QComboBox::currentIndexChanged, this, &MainWindow::applyPreset);

  auto* buttons = new QHBoxLayout;
  m_trainButton = new QPushButton(tr("Train"));
  m_trainButton->setObjectName(QStringLiteral("trainButton"));
  m_trainButton->setMinimumHeight(36);
  m_trainButton->setDefault(true);
  m_trainButton->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_T));
  m_pauseButton = new QPushButton(tr("Pause"));
  m_pauseButton->setObjectName(QStringLiteral("pauseButton"));
  m_pauseButton->setToolTip(tr("Pause training between steps"));
  m_stopButton = new QPushButton(tr("Stop"));
  m_stopButton->setObjectName(QStringLiteral("stopButton"));
  m_stopButton->setToolTip(tr("Stop training; what it learned so far is kept"));
  buttons->addWidget(m_trainButton, 2);
  buttons->addWidget(m_pauseButton, 1);
  buttons->addWidget(m_stopButton, 1);
  layout->addLayout(buttons);
  m_trainProgress = new QProgressBar;
  m_trainProgress->setObjectName(QStringLiteral("trainProgress"));
  m_trainProgress->setTextVisible(true);
  m_trainStatus = new QLabel;
  m_trainStatus->setObjectName(QStringLiteral("trainStatus"));
  layout->addWidget(m_trainProgress);
  layout->addWidget(m_trainStatus);
  connect(m_trainButton, &QPushButton::clicked, this, &MainWindow::startTraining);
  connect(m_pauseButton, &QPushButton::clicked, this, &MainWindow::togglePause);
  connect(m_stopButton, &QPushButton::clicked, this, &MainWindow::stopTraining);
  return box;
}

// ---- Right side --------------------------------------------------------------------------

QWidget* MainWindow::buildTrainingTab() {
  auto* split = new QSplitter(Qt::Vertical);
  m_lossPlot = new LossPlot;
  m_lossPlot->setObjectName(QStringLiteral("lossPlot"));
  m_previews = new PreviewStrip;
  m_previews->setObjectName(QStringLiteral("previews"));
  split->addWidget(m_lossPlot);
  split->addWidget(m_previews);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  return split;
}

QWidget* MainWindow::buildGenerateTab() {
  auto* page = new QWidget;
  auto* layout = new QVBoxLayout(page);
  auto* form = new QFormLayout;
  m_prompt = new QLineEdit;
  m_prompt->setObjectName(QStringLiteral("prompt"));
  m_prompt->setToolTip(tr("Describe the picture; your pet's name word makes it your pet"));
  m_negative = new QLineEdit;
  m_negative->setObjectName(QStringLiteral("negativePrompt"));
  m_negative->setPlaceholderText(tr("what to avoid, e.g. blurry, extra legs"));
  m_negative->setToolTip(tr("What the picture should not have"));
  form->addRow(tr("&Prompt:"), m_prompt);
  form->addRow(tr("&Avoid:"), m_negative);
  layout->addLayout(form);
  m_sampleSteps = new LabeledSlider(tr("Steps"), 1, 150, 1, 0);
  m_sampleSteps->setObjectName(QStringLiteral("sampleSteps"));
  m_sampleSteps->setToolTip(tr("Sampling steps: more is slower and often cleaner"));
  m_guidance = new LabeledSlider(tr("Guidance"), 1, 20, 0.5, 1);
  m_guidance->setObjectName(QStringLiteral("guidance"));
  m_guidance->setToolTip(tr("How closely to follow the prompt (Stable Diffusion; 7.5 is usual)"));
  m_loraStrength = new LabeledSlider(tr("Pet strength"), 0, 1.5, 0.05, 2);
  m_loraStrength->setObjectName(QStringLiteral("loraStrength"));
  m_loraStrength->setToolTip(tr("How strongly the trained LoRA applies (Stable Diffusion)"));
  m_sampleSteps->setValue(25);
  m_guidance->setValue(7.5);
  m_loraStrength->setValue(1.0);
  layout->addWidget(m_sampleSteps);
  layout->addWidget(m_guidance);
  layout->addWidget(m_loraStrength);

  auto* row = new QHBoxLayout;
  m_sampler = new QComboBox;
  m_sampler->setObjectName(QStringLiteral("sampler"));
  m_sampler->addItem(tr("DDPM"), QStringLiteral("ddpm"));
  m_sampler->addItem(tr("DDIM"), QStringLiteral("ddim"));
  m_sampler->addItem(tr("Euler"), QStringLiteral("euler"));
  m_sampler->addItem(tr("Euler a"), QStringLiteral("euler_a"));
  m_sampler->addItem(tr("DPM++ 2M"), QStringLiteral("dpmpp_2m"));
  m_sampler->addItem(tr("DPM++ 2M Karras"), QStringLiteral("dpmpp_2m_karras"));
  m_sampler->setToolTip(tr("The sampling method"));
  m_seed = new QSpinBox;
  m_seed->setObjectName(QStringLiteral("seed"));
  m_seed->setRange(0, std::numeric_limits<int>::max());
  m_seed->setToolTip(tr("The same seed and settings make the same picture"));
  m_randomSeed = new QCheckBox(tr("Random"));
  m_randomSeed->setChecked(true);
  m_randomSeed->setToolTip(tr("A new seed for every run"));
  auto* dice = new QToolButton;
  dice->setText(tr("New"));
  dice->setToolTip(tr("Pick a new random seed"));
  connect(dice, &QToolButton::clicked, this, &MainWindow::newRandomSeed);
  m_size = new QComboBox;
  m_size->setObjectName(QStringLiteral("size"));
  m_size->setToolTip(tr("Picture size (Stable Diffusion)"));
  for (int s : {512, 576, 640, 768}) m_size->addItem(QStringLiteral("%1×%1").arg(s), s);
  m_count = new QSpinBox;
  m_count->setObjectName(QStringLiteral("count"));
  m_count->setRange(1, 64);
  m_count->setValue(4);
  m_count->setToolTip(tr("How many pictures"));
  row->addWidget(new QLabel(tr("Sampler:")));
  row->addWidget(m_sampler);
  row->addSpacing(12);
  row->addWidget(new QLabel(tr("Seed:")));
  row->addWidget(m_seed);
  row->addWidget(dice);
  row->addWidget(m_randomSeed);
  row->addSpacing(12);
  row->addWidget(new QLabel(tr("Size:")));
  row->addWidget(m_size);
  row->addWidget(new QLabel(tr("Pictures:")));
  row->addWidget(m_count);
  row->addStretch(1);
  layout->addLayout(row);

  auto* buttons = new QHBoxLayout;
  m_generateButton = new QPushButton(tr("Generate"));
  m_generateButton->setObjectName(QStringLiteral("generateButton"));
  m_generateButton->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
  m_generateButton->setMinimumHeight(36);
  m_stopGenerateButton = new QPushButton(tr("Stop"));
  m_stopGenerateButton->setObjectName(QStringLiteral("stopGenerateButton"));
  m_stopGenerateButton->setToolTip(tr("Stop after the current step; finished pictures are kept"));
  m_generateProgress = new QProgressBar;
  buttons->addWidget(m_generateButton, 2);
  buttons->addWidget(m_stopGenerateButton, 1);
  buttons->addWidget(m_generateProgress, 3);
  layout->addLayout(buttons);
  connect(m_generateButton, &QPushButton::clicked, this, &MainWindow::startGenerating);
  connect(m_stopGenerateButton, &QPushButton::clicked, this, [this] { m_worker->cancel(); });

  m_gallery = new GalleryView;
  m_gallery->setObjectName(QStringLiteral("gallery"));
  layout->addWidget(m_gallery, 1);
  connect(m_gallery, &QListWidget::itemActivated, this,
          [this](QListWidgetItem* item) { showPicture(m_gallery->row(item)); });
  auto* galleryButtons = new QHBoxLayout;
  auto* save = new QPushButton(tr("&Save…"));
  save->setToolTip(tr("Save the selected pictures somewhere else (Ctrl+S)"));
  save->setShortcut(QKeySequence::Save);
  auto* saveAllButton = new QPushButton(tr("Save a&ll…"));
  saveAllButton->setToolTip(tr("Copy every picture into a folder"));
  auto* showFolder = new QPushButton(tr("Show in &folder"));
  showFolder->setToolTip(tr("Open the folder the pictures are in"));
  galleryButtons->addStretch(1);
  galleryButtons->addWidget(save);
  galleryButtons->addWidget(saveAllButton);
  galleryButtons->addWidget(showFolder);
  layout->addLayout(galleryButtons);
  connect(save, &QPushButton::clicked, this, &MainWindow::saveSelected);
  connect(saveAllButton, &QPushButton::clicked, this, &MainWindow::saveAll);
  connect(showFolder, &QPushButton::clicked, this, [this] {
    QDesktopServices::openUrl(QUrl::fromLocalFile(QDir(m_project).filePath(QStringLiteral("gallery"))));
  });
  return page;
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* newProject = file->addAction(tr("&New project…"));
  newProject->setShortcut(QKeySequence::New);
  connect(newProject, &QAction::triggered, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Choose an empty folder for the new project"));
    if (!dir.isEmpty()) openProject(dir);
  });
  QAction* open = file->addAction(tr("&Open project…"));
  open->setShortcut(QKeySequence::Open);
  connect(open, &QAction::triggered, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open a Pawtrait project folder"));
    if (!dir.isEmpty()) openProject(dir);
  });
  QAction* saveAs = file->addAction(tr("Save project &as…"));
  saveAs->setShortcut(QKeySequence::SaveAs);
  connect(saveAs, &QAction::triggered, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Choose a folder for a copy of this project"));
    if (dir.isEmpty()) return;
    saveProject();
    QFile::copy(QDir(m_project).filePath(QStringLiteral("project.json")),
                QDir(dir).filePath(QStringLiteral("project.json")));
    openProject(dir);
  });
  file->addSeparator();
  QAction* quit = file->addAction(tr("&Quit"));
  quit->setShortcut(QKeySequence::Quit);
  connect(quit, &QAction::triggered, this, &QWidget::close);

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  QAction* log = help->addAction(tr("Engine &log"));
  log->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
  connect(log, &QAction::triggered, this, &MainWindow::showLog);
  QAction* about = help->addAction(tr("&About Pawtrait"));
  connect(about, &QAction::triggered, this, &MainWindow::showAbout);
}

void MainWindow::showAbout() {
  QMessageBox::about(this, tr("About Pawtrait"),
                     tr("<b>Pawtrait %1</b><p>Teach Stable Diffusion what your pet looks like from a few photos, "
                        "on your own computer, then make new pictures of it.</p>")
                         .arg(QApplication::applicationVersion()));
}

void MainWindow::appendLog(int level, const QString& text) {
  const QString line =
      QTime::currentTime().toString(QStringLiteral("HH:mm:ss ")) + (level >= 2 ? tr("warning: ") : QString()) + text;
  m_logLines.append(line);
  if (level >= 2) statusBar()->showMessage(text, 8000);
}

void MainWindow::showLog() {
  QDialog dialog(this);
  dialog.setWindowTitle(tr("Engine log"));
  auto* layout = new QVBoxLayout(&dialog);
  auto* text = new QPlainTextEdit(m_logLines.join(QLatin1Char('\n')));
  text->setReadOnly(true);
  text->setAccessibleName(tr("What the engine decided"));
  layout->addWidget(text);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
  connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  layout->addWidget(buttons);
  dialog.resize(720, 420);
  dialog.exec();
}

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
  m_modelChoice->setCurrentIndex(path.isEmpty() ? 0 : 1);
  if (path.isEmpty()) {
    m_modelInfo->setText(tr("64×64 pixel pictures, about 10 minutes of training on two CPU cores"));
  } else {
    m_modelChoice->setItemText(1, QFileInfo(path).fileName());
    m_modelInfo->setText(tr("Reading the model…"));
    Q_EMIT requestDescribe(path);
  }
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
  const Preset& p = kPresets[std::clamp(m_preset->currentIndex(), 0, 2)];
  const bool builtin = builtinModel();
  m_steps->setValue(builtin ? p.builtin_steps : p.sd_steps);
  m_learningRate->setValue(builtin ? 0.001 : 0.0001);
  m_rank->setValue(p.rank);
  m_rank->setEnabled(!builtin);
  m_prior->setEnabled(!builtin);
  m_priorCount->setEnabled(!builtin);
  m_precision->setEnabled(!builtin);
  m_checkpointing->setEnabled(!builtin);
  m_guidance->setEnabled(!builtin);
  m_loraStrength->setEnabled(!builtin);
  m_size->setEnabled(!builtin);
  // The built-in model is unconditional: it draws the pet it learned, whatever the prompt.
  m_prompt->setEnabled(!builtin);
  m_negative->setEnabled(!builtin);
  m_prompt->setToolTip(builtin
                           ? tr("The built-in model draws the pet it learned; prompts need a Stable Diffusion model")
                           : tr("Describe the picture; your pet's name word makes it your pet"));
  m_resolution->clear();
  if (builtin) {
    m_resolution->addItem(QStringLiteral("64×64"), 64);
    m_resolution->addItem(QStringLiteral("32×32"), 32);
    m_sampler->setCurrentIndex(0);
    m_sampleSteps->setValue(100);
  } else {
    m_resolution->addItem(tr("the model's own"), 0);
    for (int s : {512, 768}) m_resolution->addItem(QStringLiteral("%1×%1").arg(s), s);
    m_sampler->setCurrentIndex(5);
    m_sampleSteps->setValue(25);
  }
  m_photoModel->setResolution(builtin ? 64 : 512);
}

void MainWindow::updateInstancePrompt() {
  const QString prompt = tr("a photo of %1 %2").arg(m_token->text().trimmed(), m_class->currentText().trimmed());
  m_instancePrompt->setText(QStringLiteral("“%1”").arg(prompt));
  if (m_prompt != nullptr && (m_prompt->text().isEmpty() || m_prompt->text().startsWith(tr("a photo of ")))) {
    m_prompt->setText(prompt);
  }
}

void MainWindow::updateActions() {
  const int total = m_photoModel->rowCount();
  const int usable = m_photoModel->usableCount();
  if (total == 0) {
    m_photoCount->setText(tr("No photos yet. 3–20 photos of the same pet work best."));
  } else if (m_photoModel->checking()) {
    m_photoCount->setText(tr("%n photo(s), checking…", nullptr, total));
  } else if (usable == total) {
    m_photoCount->setText(tr("%n photo(s) ready", nullptr, total) + (total < 3    ? tr(" (3–20 work best)")
                                                                     : total > 20 ? tr(" (more than 20 rarely helps)")
                                                                                  : QString()));
  } else {
    m_photoCount->setText(tr("%1 of %2 photos usable; hover a marked one to see why").arg(usable).arg(total));
  }
  const bool busy = m_training || m_generating;
  const bool canTrain = !busy && usable > 0 && !m_photoModel->checking() && !m_token->text().trimmed().isEmpty();
  m_trainButton->setEnabled(canTrain);
  m_trainButton->setToolTip(usable == 0 ? tr("Add photos of your pet first")
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
  TrainJob job;
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
    r.model = m_modelPath.toStdString();
    r.run_dir = run.toStdString();
    r.token = m_token->text().trimmed().toStdString();
    r.class_name = m_class->currentText().trimmed().toStdString();
    r.steps = steps;
    r.learning_rate = m_learningRate->value();
    r.rank = m_rank->value();
    r.alpha = m_rank->value();
    r.resolution = m_resolution->currentData().toInt();
    r.prior_count = m_prior->isChecked() ? m_priorCount->value() : 0;
    r.mixed_precision = m_precision->currentText().toStdString();
    r.gradient_checkpointing = m_checkpointing->isChecked();
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
  Q_EMIT requestTrain(job);
}

void MainWindow::stopTraining() {
  if (!m_training) return;
  m_worker->cancel();
  m_trainStatus->setText(tr("Stopping after this step…"));
}

void MainWindow::togglePause() {
  m_paused = !m_paused;
  m_worker->setPaused(m_paused);
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
  if (builtinModel()) {
    m_trainedModel = QStringLiteral("builtin:") + QFileInfo(result).absolutePath();
  } else {
    m_trainedModel = result;
  }
  m_trainStatus->setText(stopped ? tr("Stopped; what it learned so far is kept") : tr("Done"));
  statusBar()->showMessage(stopped ? tr("Training stopped") : tr("Training finished: try the Generate tab"), 10000);
  saveProject();
  updateActions();
  if (m_closeAfterStop) close();
}

void MainWindow::startGenerating() {
  if (m_randomSeed->isChecked()) newRandomSeed();
  GenerateJob job;
  job.request = currentGenerateRequest();
  job.out_dir = QDir(m_project).filePath(QStringLiteral("gallery"));
  m_generating = true;
  m_generateProgress->setValue(0);
  updateActions();
  Q_EMIT requestGenerate(job);
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
  r.negative_prompt = m_negative->text().toStdString();
  r.sampler = m_sampler->currentData().toString().toStdString();
  r.steps = static_cast<std::int64_t>(m_sampleSteps->value());
  r.guidance = m_guidance->value();
  r.width = r.height = m_size->currentData().toInt();
  r.seed = static_cast<std::uint64_t>(m_seed->value());
  r.count = m_count->value();
  return r;
}

void MainWindow::useSettings(const pipeline::GenerateRequest& r) {
  m_prompt->setText(QString::fromStdString(r.prompt));
  m_negative->setText(QString::fromStdString(r.negative_prompt));
  const int sampler = m_sampler->findData(QString::fromStdString(r.sampler));
  if (sampler >= 0) m_sampler->setCurrentIndex(sampler);
  m_sampleSteps->setValue(static_cast<double>(r.steps));
  m_guidance->setValue(r.guidance);
  if (!r.loras.empty()) m_loraStrength->setValue(r.loras.front().strength);
  m_randomSeed->setChecked(false);
  m_seed->setValue(static_cast<int>(r.seed));
  const int size = m_size->findData(static_cast<int>(r.width));
  if (size >= 0) m_size->setCurrentIndex(size);
  m_tabs->setCurrentIndex(1);
  statusBar()->showMessage(tr("Settings restored from the picture"), 5000);
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
    useSettings(request);
    dialog.accept();
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

// ---- Files, projects, window state -------------------------------------------------------

void MainWindow::addFiles(const QStringList& paths) {
  QStringList photos;
  for (const QString& path : paths) {
    if (isPawtraitPicture(path)) {
      try {
        useSettings(pipeline::request_from_png(path.toStdString()));
      } catch (const std::exception& e) {
        QMessageBox::warning(this, tr("Can't read the picture's settings"), QString::fromUtf8(e.what()));
      }
    } else {
      photos.append(path);
    }
  }
  if (!photos.isEmpty()) {
    const int added = m_photoModel->addPaths(copyIntoProject(photos));
    if (added == 0) statusBar()->showMessage(tr("No new photos there"), 5000);
  }
  updateActions();
}

QStringList MainWindow::copyIntoProject(const QStringList& paths) {
  if (m_project.isEmpty()) return paths;
  const QDir folder(QDir(m_project).filePath(QStringLiteral("photos")));
  QDir().mkpath(folder.path());
  std::vector<std::filesystem::path> items;
  for (const QString& p : paths) items.emplace_back(QFile::encodeName(p).toStdString());
  QStringList copies;
  QStringList failed;
  std::error_code ec;
  for (const auto& file : pawtrait::imaging::find_photos(items)) {
    const QString source = QFile::decodeName(file.c_str());
    const QFileInfo info(source);
    if (!info.exists() || info.absolutePath() == folder.absolutePath()) {
      copies.append(source);  // already ours, or missing (the photo list says so)
      continue;
    }
    // The same name with the same size is taken to be the same photo, copied before.
    QString target = folder.filePath(info.fileName());
    for (int n = 2; QFileInfo::exists(target) && QFileInfo(target).size() != info.size(); ++n) {
      target = folder.filePath(QStringLiteral("%1-%2.%3").arg(info.completeBaseName()).arg(n).arg(info.suffix()));
    }
    if (QFileInfo::exists(target) || QFile::copy(source, target)) {
      copies.append(target);
    } else {
      failed.append(source);
      copies.append(source);
    }
  }
  if (!failed.isEmpty()) {
    QMessageBox::warning(this, tr("Photos not copied into the project"),
                         tr("These photos are used from where they are, because they could not be copied into %1 "
                            "(is the disk full?):\n%2")
                             .arg(folder.path(), failed.join(QLatin1Char('\n'))));
  }
  return copies;
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  if (event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
  QStringList paths;
  for (const QUrl& url : event->mimeData()->urls()) {
    if (url.isLocalFile()) paths.append(url.toLocalFile());
  }
  if (paths.isEmpty()) return;
  event->acceptProposedAction();
  addFiles(paths);
}

void MainWindow::openProject(const QString& folder) {
  QDir().mkpath(folder);
  m_project = QDir(folder).absolutePath();
  setWindowTitle(tr("%1 – Pawtrait").arg(QFileInfo(m_project).fileName()));
  app_settings::setLastProject(m_project);
  m_photoModel->clear();
  m_gallery->clear();
  m_lossPlot->clear();
  m_previews->clear();
  m_trainedModel.clear();
  m_lastRun.clear();
  loadProjectFile();
  updateActions();
}

void MainWindow::openLastProject() {
  const QString last = app_settings::lastProject();
  openProject(!last.isEmpty() && QFileInfo(last).isDir()
                  ? last
                  : QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation))
                        .filePath(QStringLiteral("projects/My pet")));
}

void MainWindow::loadProjectFile() {
  QFile file(QDir(m_project).filePath(QStringLiteral("project.json")));
  if (file.open(QIODevice::ReadOnly)) {
    QJsonParseError error{};
    const QJsonObject o = QJsonDocument::fromJson(file.readAll(), &error).object();
    if (error.error != QJsonParseError::NoError) {
      QMessageBox::warning(this, tr("Project file damaged"),
                           tr("%1 could not be read (%2); starting with empty settings. Your photos and pictures "
                              "in the folder are untouched.")
                               .arg(file.fileName(), error.errorString()));
    } else {
      m_token->setText(o.value(QStringLiteral("token")).toString(QStringLiteral("sks")));
      m_class->setCurrentText(o.value(QStringLiteral("class")).toString(tr("dog")));
      m_modelPath = o.value(QStringLiteral("model")).toString();
      m_modelChoice->setCurrentIndex(m_modelPath.isEmpty() ? 0 : 1);
      if (!m_modelPath.isEmpty()) {
        m_modelChoice->setItemText(1, QFileInfo(m_modelPath).fileName());
        Q_EMIT requestDescribe(m_modelPath);
      }
      m_preset->setCurrentIndex(o.value(QStringLiteral("preset")).toInt(1));
      applyPreset();
      m_trainedModel = o.value(QStringLiteral("trained")).toString();
      m_lastRun = o.value(QStringLiteral("last_run")).toString();
      if (!m_lastRun.isEmpty()) showRun(m_lastRun);
      QStringList photos;
      for (const auto& p : o.value(QStringLiteral("photos")).toArray()) photos.append(p.toString());
      if (!photos.isEmpty()) m_photoModel->addPaths(photos);
      if (o.contains(QStringLiteral("generate"))) {
        const QByteArray json = QJsonDocument(o.value(QStringLiteral("generate")).toObject()).toJson();
        try {
          useSettings(pipeline::GenerateRequest::from_json(nlohmann::json::parse(json.toStdString()), "project.json"));
          m_tabs->setCurrentIndex(0);
        } catch (const std::exception&) {
          // Older or hand-edited settings: the controls keep their defaults.
        }
      }
    }
  }
  // The gallery: every picture in gallery/, newest first.
  const QDir gallery(QDir(m_project).filePath(QStringLiteral("gallery")));
  const QStringList pictures = gallery.entryList({QStringLiteral("*.png")}, QDir::Files, QDir::Name);
  for (const QString& name : pictures) {
    const QString path = gallery.filePath(name);
    m_gallery->addPicture(QImage(path), path);
  }
}

bool MainWindow::saveProject() {
  if (m_project.isEmpty()) return false;
  QJsonObject o;
  o[QStringLiteral("token")] = m_token->text();
  o[QStringLiteral("class")] = m_class->currentText();
  o[QStringLiteral("model")] = m_modelPath;
  o[QStringLiteral("preset")] = m_preset->currentIndex();
  o[QStringLiteral("trained")] = m_trainedModel;
  o[QStringLiteral("last_run")] = m_lastRun;
  o[QStringLiteral("photos")] = QJsonArray::fromStringList(m_photoModel->paths());
  o[QStringLiteral("generate")] =
      QJsonDocument::fromJson(QByteArray::fromStdString(currentGenerateRequest().to_json().dump())).object();
  QSaveFile file(QDir(m_project).filePath(QStringLiteral("project.json")));
  if (!file.open(QIODevice::WriteOnly) || file.write(QJsonDocument(o).toJson()) < 0 || !file.commit()) {
    QMessageBox::warning(this, tr("Project not saved"),
                         tr("Could not write %1: %2").arg(file.fileName(), file.errorString()));
    return false;
  }
  return true;
}

void MainWindow::restoreWindowState() {
  restoreGeometry(app_settings::windowGeometry());
  m_splitter->restoreState(app_settings::splitterState());
}

void MainWindow::showRun(const QString& run) {
  QFile csv(QDir(run).filePath(QStringLiteral("loss.csv")));
  if (csv.open(QIODevice::ReadOnly | QIODevice::Text)) {
    csv.readLine();  // the header: step,loss,smoothed_loss,validation_loss,lr
    while (!csv.atEnd()) {
      const QList<QByteArray> fields = csv.readLine().trimmed().split(',');
      if (fields.size() < 4) continue;
      bool ok = false;
      const int step = fields[0].toInt(&ok);
      if (!ok) continue;
      const double validation = fields[3].isEmpty() ? -1.0 : fields[3].toDouble();
      m_lossPlot->addPoint(step, fields[1].toDouble(), fields[2].toDouble(), validation);
    }
  }
  const QDir previews(QDir(run).filePath(QStringLiteral("previews")));
  for (const QString& name : previews.entryList({QStringLiteral("step-*.png")}, QDir::Files, QDir::Name)) {
    const int step = name.mid(5, 6).toInt();
    m_previews->addPreview(step, {QImage(previews.filePath(name))});
  }
}

void MainWindow::closeEvent(QCloseEvent* event) {
  if (m_training && !m_closeAfterStop) {
    const auto answer = QMessageBox::question(
        this, tr("Training is running"),
        tr("Stop training and quit? What it learned so far is saved, and you can continue later."),
        QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel);
    if (answer != QMessageBox::Yes) {
      event->ignore();
      return;
    }
    m_closeAfterStop = true;
    stopTraining();
    event->ignore();  // closes when the engine has saved its checkpoint
    return;
  }
  if (m_generating) m_worker->cancel();
  saveProject();
  app_settings::setWindowGeometry(saveGeometry());
  app_settings::setSplitterState(m_splitter->saveState());
  event->accept();
}
