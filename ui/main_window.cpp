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
#include "generate_advanced.h"
#include "imaging/photo.h"
#include "labeled_slider.h"
#include "loss_plot.h"
#include "pet_kind.h"
#include "photo_list_view.h"
#include "photo_model.h"
#include "pipeline/image_metadata.h"
#include "preview_strip.h"
#include "training_presets.h"

namespace {

namespace pipeline = pawtrait::pipeline;
namespace training = pawtrait::training;

// A button that shows and hides `section` (hidden at first), its arrow saying which.
QToolButton* disclosure(const char* name, const QString& text, const QString& tip, QWidget* section) {
  auto* button = new QToolButton;
  button->setObjectName(QString::fromLatin1(name));
  button->setText(text);
  button->setCheckable(true);
  button->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
  button->setArrowType(Qt::RightArrow);
  button->setToolTip(tip);
  section->setVisible(false);
  QObject::connect(button, &QToolButton::toggled, section, [button, section](bool on) {
    section->setVisible(on);
    button->setArrowType(on ? Qt::DownArrow : Qt::RightArrow);
  });
  return button;
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
  connect(m_worker, &EngineWorker::generateStarted, this, [this](const QString& device, const QString& dtype) {
    const QString precision = dtype == QStringLiteral("fp32")   ? tr("float32")
                              : dtype == QStringLiteral("fp16") ? tr("float16")
                                                                : tr("bfloat16");
    m_runsOn->setText(device == QStringLiteral("cuda") ? tr("on the GPU, %1").arg(precision)
                                                       : tr("on the CPU, %1").arg(precision));
  });
  connect(m_worker, &EngineWorker::generateProgress, this, [this](int image, int images, int step, int steps) {
    m_generateProgress->setMaximum(std::max(1, images * std::max(steps, 1)));
    m_generateProgress->setValue(image * std::max(steps, 1) + step);
  });
  connect(m_worker, &EngineWorker::modelDescribed, this, [this](const QString& path, const ModelSummary& summary) {
    if (path != m_modelPath) return;
    m_modelInfo->setText(summary.text);
    if (summary.usable) {
      applyModelSummary(summary);
    } else {
      setBaseModel(QString());
      QMessageBox::warning(this, tr("This model can't be used"), summary.text);
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
  applyModelKind();
  applyPreset();
  updateInstancePrompt();
  updateActions();
  statusBar()->showMessage(tr("Add photos of your pet to begin"));
  resize(1280, 800);
  restoreWindowState();
}

MainWindow::~MainWindow() {
  for (const auto& token : {m_trainToken, m_generateToken}) {
    if (token) token->cancel = true;
  }
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
  m_photos->setToolTip(
      tr("Drop photos or folders here. Double-click one to see and choose what training uses. Select and press Delete "
         "to remove."));
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
  connect(m_photos, &QListView::doubleClicked, this, &MainWindow::editPhoto);
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
  for (const PetKind& kind : petKinds()) m_class->addItem(kind.label, kind.word);
  // Empty until said or guessed from the photos' folder names: a wrong kind teaches the
  // model the wrong animal.
  m_class->setCurrentIndex(-1);
  m_class->lineEdit()->setPlaceholderText(tr("dog, cat, rabbit… (type or choose)"));
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
  for (const auto& p : kTrainingPresets) m_preset->addItem(tr(p.name));
  m_preset->setCurrentIndex(1);
  m_preset->setToolTip(tr("Quick: a first look. Balanced: good for most pets. Best: longer, more detail."));
  m_advanced = new QWidget;
  m_advancedToggle = disclosure("trainAdvanced", tr("Advanced"), tr("Show the training settings"), m_advanced);
  auto* presetLabel = new QLabel(tr("&Preset:"));
  presetLabel->setBuddy(m_preset);
  presetRow->addWidget(presetLabel);
  presetRow->addWidget(m_preset, 1);
  presetRow->addWidget(m_advancedToggle);
  layout->addLayout(presetRow);

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
  m_device = new QComboBox;
  m_device->setObjectName(QStringLiteral("device"));
  m_device->addItem(tr("Automatic (the GPU when there is one)"), QStringLiteral("auto"));
  m_device->addItem(tr("CPU"), QStringLiteral("cpu"));
  m_device->addItem(tr("NVIDIA GPU (CUDA)"), QStringLiteral("cuda"));
  m_device->setToolTip(tr("Where Stable Diffusion models train and draw; the built-in model always uses the CPU"));
  form->addRow(tr("Precision:"), m_precision);
  form->addRow(m_checkpointing);
  m_maskedLoss = new QCheckBox(tr("Focus on my pet (masked loss)"));
  m_maskedLoss->setObjectName(QStringLiteral("maskedLoss"));
  m_maskedLoss->setToolTip(
      tr("The loss counts the pet fully and the rest of each photo a tenth. Where the pet is: a NAME-masklabel.png "
         "beside the photo (white = pet), else where Pawtrait guesses it is (Find my pet in the photo editor). "
         "Helps when the floor or sofa keeps showing up in the pictures."));
  form->addRow(m_maskedLoss);
  form->addRow(tr("Run on:"), m_device);
  layout->addWidget(m_advanced);
  connect(m_preset, &QComboBox::currentIndexChanged, this, &MainWindow::applyPreset);
  connect(m_resolution, &QComboBox::currentIndexChanged, this, &MainWindow::updatePhotoResolution);
  connect(m_resolution, &QComboBox::currentIndexChanged, this, &MainWindow::showBuiltinPictureSize);

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
  m_size->setToolTip(tr("Picture size, width × height"));
  setPictureSizes({QSize(512, 512), QSize(576, 576), QSize(640, 640), QSize(768, 768)});
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
  m_generateAdvanced = new GenerateAdvanced;
  m_generateAdvanced->setObjectName(QStringLiteral("generateAdvanced"));
  m_generateMoreToggle =
      disclosure("generateMore", tr("More"), tr("Show the VAE, prompt and SDXL size settings"), m_generateAdvanced);
  row->addWidget(m_generateMoreToggle);
  layout->addLayout(row);
  layout->addWidget(m_generateAdvanced);

  auto* buttons = new QHBoxLayout;
  m_generateButton = new QPushButton(tr("Generate"));
  m_generateButton->setObjectName(QStringLiteral("generateButton"));
  m_generateButton->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
  m_generateButton->setMinimumHeight(36);
  m_stopGenerateButton = new QPushButton(tr("Stop"));
  m_stopGenerateButton->setObjectName(QStringLiteral("stopGenerateButton"));
  m_stopGenerateButton->setToolTip(tr("Stop after the current step; finished pictures are kept"));
  m_generateProgress = new QProgressBar;
  m_runsOn = new QLabel;
  m_runsOn->setObjectName(QStringLiteral("runsOn"));
  m_runsOn->setToolTip(tr("Where the last pictures were drawn; choose under Train › Advanced"));
  buttons->addWidget(m_generateButton, 2);
  buttons->addWidget(m_stopGenerateButton, 1);
  buttons->addWidget(m_generateProgress, 3);
  buttons->addWidget(m_runsOn);
  layout->addLayout(buttons);
  connect(m_generateButton, &QPushButton::clicked, this, &MainWindow::startGenerating);
  connect(m_stopGenerateButton, &QPushButton::clicked, this, [this] {
    if (m_generateToken) m_generateToken->cancel = true;
  });

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
