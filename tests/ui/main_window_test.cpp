// The whole flow with the built-in model, as a pet owner goes through it: photos dropped on the
// window, a bad one marked, Train with live loss points and previews, Stop, Generate into the
// gallery, the pictures' settings written and restored, and the project reopened.
#include <QComboBox>
#include <QDir>
#include <QLabel>
#include <QLineEdit>
#include <QMimeData>
#include <QPushButton>
#include <QSpinBox>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QToolButton>
#include <QtTest>

#include "gallery_view.h"
#include "generate_advanced.h"
#include "imaging/png_text.h"
#include "labeled_slider.h"
#include "loss_plot.h"
#include "main_window.h"
#include "photo_list_view.h"
#include "photo_model.h"
#include "pipeline/image_metadata.h"
#include "preview_strip.h"

namespace {

const QString kDemoPhoto = QStringLiteral(PAWTRAIT_TESTDATA "/photos/chelsea.png");

template <typename T>
T* child(QObject& parent, const char* name) {
  T* found = parent.findChild<T*>(QString::fromLatin1(name));
  if (found == nullptr) qFatal("no %s named %s", T::staticMetaObject.className(), name);
  return found;
}

void drop(QWidget& window, const QStringList& files) {
  auto* data = new QMimeData;
  QList<QUrl> urls;
  for (const auto& f : files) urls.append(QUrl::fromLocalFile(f));
  data->setUrls(urls);
  QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, data, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(&window, &enter);
  QDropEvent event(QPointF(10, 10), Qt::CopyAction, data, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(&window, &event);
  delete data;
}

}  // namespace

class MainWindowTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    QVERIFY(m_home.isValid());
    qputenv("XDG_CONFIG_HOME", m_home.filePath(QStringLiteral("config")).toUtf8());
    qputenv("XDG_DATA_HOME", m_home.filePath(QStringLiteral("data")).toUtf8());
    QCoreApplication::setOrganizationName(QStringLiteral("PawtraitTest"));
  }

  void startsEmptyWithTrainingDisabled() {
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    auto* photos = child<PhotoListView>(window, "photoArea");
    QVERIFY(photos->emptyText().contains(QStringLiteral("Drag photos")));
    auto* train = child<QPushButton>(window, "trainButton");
    QVERIFY(!train->isEnabled());
    QVERIFY(!train->toolTip().isEmpty());
    QVERIFY(!child<QPushButton>(window, "generateButton")->isEnabled());  // nothing trained yet
    // The kind of animal is not assumed: it is said, or guessed from the photos' names.
    auto* kind = child<QComboBox>(window, "petClass");
    QVERIFY(kind->currentText().isEmpty());
    QVERIFY(!kind->lineEdit()->placeholderText().isEmpty());
    QCOMPARE(child<QLabel>(window, "instancePrompt")->text(), QStringLiteral("“a photo of sks”"));
    child<QLineEdit>(window, "token")->setText(QStringLiteral("zwx"));
    kind->setCurrentText(QStringLiteral("Cat"));  // a listed kind, however typed, is its word
    QCOMPARE(window.petClassWord(), QStringLiteral("cat"));
    QCOMPARE(child<QLabel>(window, "instancePrompt")->text(), QStringLiteral("“a photo of zwx cat”"));
    QCOMPARE(child<QLineEdit>(window, "prompt")->text(), QStringLiteral("a photo of zwx cat"));
    kind->setCurrentText(QStringLiteral("ferret"));  // and one of the owner's own
    QCOMPARE(window.petClassWord(), QStringLiteral("ferret"));
    // The built-in model draws at its training size, and its (disabled) Size box says so.
    auto* size = child<QComboBox>(window, "size");
    QVERIFY(!size->isEnabled());
    QCOMPARE(size->currentData().toSize(), QSize(64, 64));
    auto* resolution = child<QComboBox>(window, "resolution");
    resolution->setCurrentIndex(resolution->findData(32));
    QCOMPARE(size->currentData().toSize(), QSize(32, 32));
  }

  // `pawtrait PHOTO...` and a file manager's "Open with" (the desktop file's %F): the photos,
  // named relative to where the app started, land in the project, and their folder's name
  // says what the pet is.
  void photosFromTheCommandLine() {
    const QDir root(m_home.filePath(QStringLiteral("command-line")));
    QVERIFY(root.mkpath(QStringLiteral("Pictures/Cats")));
    QVERIFY(QFile::copy(kDemoPhoto, root.filePath(QStringLiteral("Pictures/Cats/chelsea.png"))));
    const QString project = root.filePath(QStringLiteral("project"));
    MainWindow window;
    window.openProject(project);
    const QString previous = QDir::currentPath();
    QDir::setCurrent(root.filePath(QStringLiteral("Pictures")));
    window.openFromCommandLine({QStringLiteral("Cats/chelsea.png")});
    QDir::setCurrent(previous);
    auto* model = qobject_cast<PhotoModel*>(child<PhotoListView>(window, "photoArea")->model());
    QCOMPARE(model->rowCount(), 1);
    QVERIFY(QFileInfo::exists(QDir(project).filePath(QStringLiteral("photos/chelsea.png"))));
    QCOMPARE(window.petClassWord(), QStringLiteral("cat"));
    QVERIFY(window.statusBar()->currentMessage().contains(QStringLiteral("from the photos' names")));
    // The project lists them at once, not only when the window closes.
    QFile saved(QDir(project).filePath(QStringLiteral("project.json")));
    QVERIFY(saved.open(QIODevice::ReadOnly));
    const QByteArray json = saved.readAll();
    QVERIFY2(json.contains("chelsea.png") && json.contains("\"cat\""), json.constData());
    // A kind already said is kept.
    child<QComboBox>(window, "petClass")->setCurrentText(QStringLiteral("dog"));
    QVERIFY(root.mkpath(QStringLiteral("Pictures/Rabbits")));
    QVERIFY(QFile::copy(kDemoPhoto, root.filePath(QStringLiteral("Pictures/Rabbits/other.png"))));
    window.openFromCommandLine({root.filePath(QStringLiteral("Pictures/Rabbits/other.png"))});
    QCOMPARE(window.petClassWord(), QStringLiteral("dog"));
  }

  // Each test function stands alone: this one trains, generates, restores and reopens its
  // own project; the others open theirs.
  void trainGenerateSaveRestoreReopen() {
    trainGenerateSaveRestore();
    if (QTest::currentTestFailed()) return;
    projectReopens();
  }

  void stableDiffusionLoraFromTheWindow() {
    // The tiny Stable Diffusion model as the base: a LoRA trains, then pictures use it.
    MainWindow window;
    window.openProject(m_home.filePath(QStringLiteral("sd-project")));
    window.setBaseModel(QStringLiteral(PAWTRAIT_TESTDATA "/sd-tiny"));
    QTRY_VERIFY_WITH_TIMEOUT(
        child<QLabel>(window, "modelInfo")->text().contains(QStringLiteral("custom")) ||
            child<QLabel>(window, "modelInfo")->text().contains(QStringLiteral("Stable Diffusion")),
        30000);
    window.addFiles({kDemoPhoto});
    auto* model = qobject_cast<PhotoModel*>(child<PhotoListView>(window, "photoArea")->model());
    QTRY_VERIFY_WITH_TIMEOUT(!model->checking(), 20000);
    // The demo photo's name says no kind: Train waits for it, and says so.
    auto* train = child<QPushButton>(window, "trainButton");
    QVERIFY(!train->isEnabled());
    QVERIFY2(train->toolTip().contains(QStringLiteral("kind of animal")), qPrintable(train->toolTip()));
    QVERIFY(child<QLabel>(window, "instancePrompt")->text().contains(QStringLiteral("say what kind of animal")));
    child<QComboBox>(window, "petClass")->setCurrentText(QStringLiteral("dog"));
    QVERIFY(train->isEnabled());
    child<QSpinBox>(window, "steps")->setValue(3);
    QTest::mouseClick(child<QPushButton>(window, "trainButton"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!window.isTraining(), 120000);
    QVERIFY2(child<QLabel>(window, "trainStatus")->text().contains(QStringLiteral("Done")),
             qPrintable(child<QLabel>(window, "trainStatus")->text()));
    QCOMPARE(child<LossPlot>(window, "lossPlot")->pointCount(), 3);

    const auto request = window.currentGenerateRequest();
    QCOMPARE(request.loras.size(), std::size_t{1});  // the LoRA just trained
    QVERIFY(QString::fromStdString(request.loras.front().path).endsWith(QStringLiteral("sks_dog.safetensors")));
    child<LabeledSlider>(window, "sampleSteps")->setValue(3);
    child<QSpinBox>(window, "count")->setValue(1);
    auto* size = child<QComboBox>(window, "size");
    QVERIFY(size->isEnabled());
    QCOMPARE(size->currentData().toSize(), QSize(64, 64));  // the tiny model's own size, from its configs
    // Where it runs is the machine's best ("auto": the GPU when there is one), and is shown.
    QCOMPARE(child<QComboBox>(window, "device")->currentData().toString(), QStringLiteral("auto"));
    QCOMPARE(QString::fromStdString(window.currentGenerateRequest().device), QStringLiteral("auto"));
    QTest::mouseClick(child<QPushButton>(window, "generateButton"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!window.isGenerating(), 120000);
    QCOMPARE(child<GalleryView>(window, "gallery")->count(), 1);
    const auto saved =
        pawtrait::pipeline::request_from_png(child<GalleryView>(window, "gallery")->pathAt(0).toStdString());
    QCOMPARE(saved.loras.size(), std::size_t{1});
    QCOMPARE(QString::fromStdString(saved.prompt), QStringLiteral("a photo of sks dog"));
    QCOMPARE(saved.width, 64);
    // The picture records where it ran, and the window says it.
    if (saved.device == "cpu") {
      QCOMPARE(QString::fromStdString(saved.dtype), QStringLiteral("fp32"));
      QCOMPARE(child<QLabel>(window, "runsOn")->text(), QStringLiteral("on the CPU, float32"));
    } else {
      QCOMPARE(QString::fromStdString(saved.device), QStringLiteral("cuda"));
      QVERIFY(child<QLabel>(window, "runsOn")->text().startsWith(QStringLiteral("on the GPU")));
    }
  }

  // An SDXL base brings its own defaults (Euler, 30 steps) and its micro-conditioning
  // settings; a picture made with them records them and gives them back; a Stable Diffusion
  // base afterwards has its own defaults and no size settings. "Too small" follows the
  // training resolution.
  void kleinBaseModelsFromTheWindow() {
    MainWindow window;
    window.openProject(m_home.filePath(QStringLiteral("klein-project")));
    auto* sampler = child<QComboBox>(window, "sampler");
    auto* steps = child<LabeledSlider>(window, "sampleSteps");
    auto* guidance = child<LabeledSlider>(window, "guidance");
    // The distilled model: 4 steps, Euler only, no guidance.
    window.setBaseModel(QStringLiteral(PAWTRAIT_TESTDATA "/klein/klein-tiny"));
    QTRY_VERIFY_WITH_TIMEOUT(
        child<QLabel>(window, "modelInfo")->text().contains(QStringLiteral("FLUX.2 [klein] distilled, flow matching")),
        30000);
    QCOMPARE(sampler->currentData().toString(), QStringLiteral("euler"));
    QVERIFY(!sampler->isEnabled());
    QVERIFY(child<QLabel>(window, "modelInfo")
                ->text()
                .contains(QStringLiteral("to train your pet, choose its base model")));
    QCOMPARE(steps->value(), 4.0);
    QVERIFY(!guidance->isEnabled());
    QVERIFY(!child<QLineEdit>(window, "negativePrompt")->isEnabled());  // nothing for it to steer
    // klein decodes with its own VAE only and its tokenizer is not CLIP's: a VAE or a cleanup
    // left from an SD model is neither offered nor sent (the engine would refuse it).
    auto* advanced = child<GenerateAdvanced>(window, "generateAdvanced");
    auto* vae = child<QLineEdit>(*advanced, "vae");
    auto* cleanup = child<QComboBox>(*advanced, "promptCleanup");
    QVERIFY(!vae->isEnabled());
    QVERIFY(!cleanup->isEnabled());
    vae->setText(QStringLiteral("/somewhere/sdxl-vae-fp16-fix.safetensors"));
    QVERIFY(window.currentGenerateRequest().vae.empty());
    QCOMPARE(QString::fromStdString(window.currentGenerateRequest().prompt_cleanup), QStringLiteral("nfc"));
    vae->clear();
    child<QSpinBox>(window, "count")->setValue(1);
    QTest::mouseClick(child<QPushButton>(window, "generateButton"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!window.isGenerating(), 120000);
    QCOMPARE(child<GalleryView>(window, "gallery")->count(), 1);
    // The base model: guided at its pipeline's 4.
    window.setBaseModel(QStringLiteral(PAWTRAIT_TESTDATA "/klein/klein-base-tiny"));
    QTRY_VERIFY_WITH_TIMEOUT(child<QLabel>(window, "modelInfo")->text().contains(QStringLiteral("FLUX.2 [klein] base")),
                             30000);
    QVERIFY(guidance->isEnabled());
    QVERIFY(child<QLineEdit>(window, "negativePrompt")->isEnabled());
    QCOMPARE(guidance->value(), 4.0);
    QCOMPARE(steps->value(), 50.0);
    QCOMPARE(window.currentGenerateRequest().guidance, 4.0);
  }

  void sdxlBaseModelFromTheWindow() {
    MainWindow window;
    window.openProject(m_home.filePath(QStringLiteral("sdxl-project")));
    auto* sampler = child<QComboBox>(window, "sampler");
    auto* steps = child<LabeledSlider>(window, "sampleSteps");
    auto* advanced = child<GenerateAdvanced>(window, "generateAdvanced");
    window.setBaseModel(QStringLiteral(PAWTRAIT_TESTDATA "/sdxl/sdxl-tiny"));
    QTRY_VERIFY_WITH_TIMEOUT(child<QLabel>(window, "modelInfo")->text().contains(QStringLiteral("Stable Diffusion XL")),
                             30000);
    QCOMPARE(sampler->currentData().toString(), QStringLiteral("euler"));
    QCOMPARE(steps->value(), 30.0);
    QVERIFY(advanced->sizeConditioned());
    QVERIFY(child<QLineEdit>(*advanced, "vae")->isEnabled());
    QVERIFY(child<QComboBox>(*advanced, "promptCleanup")->isEnabled());
    QCOMPARE(child<QComboBox>(window, "size")->currentData().toSize(), QSize(64, 64));

    // The chelsea photo is 451×300: too small at 1024 (under 512 on its shorter side), fine at 512.
    window.addFiles({kDemoPhoto});
    auto* photos = qobject_cast<PhotoModel*>(child<PhotoListView>(window, "photoArea")->model());
    auto* resolution = child<QComboBox>(window, "resolution");
    resolution->setCurrentIndex(resolution->findData(1024));
    QCOMPARE(photos->resolution(), 1024);
    QTRY_VERIFY_WITH_TIMEOUT(!photos->checking(), 20000);
    QCOMPARE(photos->usableCount(), 0);
    resolution->setCurrentIndex(resolution->findData(512));
    QTRY_VERIFY_WITH_TIMEOUT(!photos->checking() && photos->usableCount() == 1, 20000);
    resolution->setCurrentIndex(0);  // the model's own: the tiny model's 64
    QCOMPARE(photos->resolution(), 64);

    QTest::mouseClick(child<QToolButton>(window, "generateMore"), Qt::LeftButton);
    QVERIFY(!advanced->isHidden());
    child<QSpinBox>(*advanced, "originalWidth")->setValue(1024);
    child<QSpinBox>(*advanced, "originalHeight")->setValue(768);
    child<QSpinBox>(*advanced, "cropTop")->setValue(16);
    child<QComboBox>(*advanced, "promptCleanup")->setCurrentIndex(1);
    window.findChild<QLineEdit*>(QStringLiteral("prompt"))->setText(QStringLiteral("Tom &amp; Jerry"));
    steps->setValue(2);
    child<QSpinBox>(window, "count")->setValue(1);
    auto request = window.currentGenerateRequest();
    QVERIFY(request.original_size == (pawtrait::pipeline::GenerateRequest::Pair{768, 1024}));
    QVERIFY(request.crops_coords_top_left == (pawtrait::pipeline::GenerateRequest::Pair{16, 0}));
    QVERIFY(!request.target_size);
    QCOMPARE(QString::fromStdString(request.prompt_cleanup), QStringLiteral("ftfy"));
    QTest::mouseClick(child<QPushButton>(window, "generateButton"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!window.isGenerating(), 120000);
    QCOMPARE(child<GalleryView>(window, "gallery")->count(), 1);
    const QString picture = child<GalleryView>(window, "gallery")->pathAt(0);
    const auto saved = pawtrait::pipeline::request_from_png(picture.toStdString());
    QVERIFY(saved.original_size == request.original_size);
    QVERIFY(saved.crops_coords_top_left == request.crops_coords_top_left);
    QCOMPARE(QString::fromStdString(saved.prompt_cleanup), QStringLiteral("ftfy"));
    const auto text = pawtrait::imaging::read_png_text(std::filesystem::path(picture.toStdString()));
    QVERIFY(QString::fromStdString(text.at("parameters")).endsWith(QStringLiteral(", Prompt cleanup: ftfy")));

    // A Stable Diffusion base: its own defaults, the size settings off and left out.
    window.setBaseModel(QStringLiteral(PAWTRAIT_TESTDATA "/sd-tiny"));
    QTRY_VERIFY_WITH_TIMEOUT(child<QLabel>(window, "modelInfo")->text().contains(QStringLiteral("pixels")), 30000);
    QCOMPARE(sampler->currentData().toString(), QStringLiteral("dpmpp_2m_karras"));
    QCOMPARE(steps->value(), 25.0);
    QVERIFY(!advanced->sizeConditioned());
    QVERIFY(!window.currentGenerateRequest().original_size);

    // The SDXL picture's settings come back whole, the size ones included once SDXL is the base.
    window.setBaseModel(QStringLiteral(PAWTRAIT_TESTDATA "/sdxl/sdxl-tiny"));
    QTRY_VERIFY_WITH_TIMEOUT(advanced->sizeConditioned(), 30000);
    child<QSpinBox>(*advanced, "originalWidth")->setValue(0);
    child<QComboBox>(*advanced, "promptCleanup")->setCurrentIndex(0);
    window.addFiles({picture});
    const auto again = window.currentGenerateRequest();
    QVERIFY(again.original_size == saved.original_size);
    QVERIFY(again.crops_coords_top_left == saved.crops_coords_top_left);
    QCOMPARE(QString::fromStdString(again.prompt_cleanup), QStringLiteral("ftfy"));
    QCOMPARE(again.steps, 2);

    // With another base chosen, the picture brings its own model back: found by its name and
    // hash beside the model in use (the picture names no folder).
    QVERIFY(text.at("pawtrait").find(PAWTRAIT_TESTDATA) == std::string::npos);
    window.setBaseModel(QStringLiteral(PAWTRAIT_TESTDATA "/sd-tiny"));
    QTRY_VERIFY_WITH_TIMEOUT(!advanced->sizeConditioned(), 30000);
    window.addFiles({picture});
    QTRY_VERIFY_WITH_TIMEOUT(advanced->sizeConditioned(), 30000);
    QCOMPARE(QFileInfo(QString::fromStdString(window.currentGenerateRequest().model)),
             QFileInfo(QStringLiteral(PAWTRAIT_TESTDATA "/sdxl/sdxl-tiny")));
  }

 private:
  // Steps 1-6 of trainGenerateSaveRestoreReopen, in a window that closes before the project
  // reopens.
  void trainGenerateSaveRestore() {
    const QString project = m_home.filePath(QStringLiteral("project"));
    const QString bad = m_home.filePath(QStringLiteral("broken.jpg"));
    {
      QFile f(bad);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write("not a photo at all");
    }
    MainWindow window;
    window.openProject(project);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));

    // 1. Photos dropped onto the window: thumbnails, and a verdict on the broken one.
    drop(window, {kDemoPhoto, bad});
    auto* model = qobject_cast<PhotoModel*>(child<PhotoListView>(window, "photoArea")->model());
    QVERIFY(model != nullptr);
    QCOMPARE(model->rowCount(), 2);
    // Copied into the project, so it keeps working when the originals move.
    QCOMPARE(QFileInfo(model->paths().front()).absolutePath(), QDir(project).filePath(QStringLiteral("photos")));
    QVERIFY(QFileInfo::exists(QDir(project).filePath(QStringLiteral("photos/chelsea.png"))));
    QTRY_VERIFY_WITH_TIMEOUT(!model->checking(), 20000);
    QCOMPARE(model->usableCount(), 1);
    QVERIFY(child<QLabel>(window, "photoCount")->text().contains(QStringLiteral("1 of 2")));
    auto* train = child<QPushButton>(window, "trainButton");
    QVERIFY(train->isEnabled());

    // 2. Train a few steps at 32×32: loss points and a preview arrive live.
    child<QSpinBox>(window, "steps")->setValue(12);
    auto* resolution = child<QComboBox>(window, "resolution");
    resolution->setCurrentIndex(resolution->findData(32));
    QTest::mouseClick(train, Qt::LeftButton);
    QVERIFY(window.isTraining());
    QVERIFY(child<QPushButton>(window, "stopButton")->isEnabled());
    auto* plot = child<LossPlot>(window, "lossPlot");
    auto* previews = child<PreviewStrip>(window, "previews");
    QTRY_VERIFY_WITH_TIMEOUT(!window.isTraining(), 120000);
    QCOMPARE(plot->pointCount(), 12);
    QVERIFY(plot->validationCount() >= 1);
    QVERIFY(previews->count() >= 1);
    QVERIFY(child<QLabel>(window, "trainStatus")->text().contains(QStringLiteral("Done")));

    // 3. Stop: a long run stops between steps and keeps what it learned.
    child<QSpinBox>(window, "steps")->setValue(5000);
    QTest::mouseClick(train, Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(plot->pointCount() >= 3, 60000);
    QTest::mouseClick(child<QPushButton>(window, "stopButton"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!window.isTraining(), 60000);
    QVERIFY(plot->pointCount() < 5000);
    QVERIFY(child<QLabel>(window, "trainStatus")->text().contains(QStringLiteral("Stopped")));

    // 4. Generate two pictures with chosen settings: they fill the gallery.
    auto* generate = child<QPushButton>(window, "generateButton");
    QVERIFY(generate->isEnabled());
    child<LabeledSlider>(window, "sampleSteps")->setValue(7);
    child<QComboBox>(window, "sampler")->setCurrentIndex(child<QComboBox>(window, "sampler")->findData("ddim"));
    child<QSpinBox>(window, "count")->setValue(2);
    QTest::mouseClick(generate, Qt::LeftButton);
    auto* gallery = child<GalleryView>(window, "gallery");
    QTRY_VERIFY_WITH_TIMEOUT(!window.isGenerating(), 60000);
    QCOMPARE(gallery->count(), 2);

    // 5. The saved PNG carries the settings of the sliders.
    const QString picture = gallery->pathAt(0);
    QVERIFY(QFileInfo::exists(picture));
    const auto saved = pawtrait::pipeline::request_from_png(picture.toStdString());
    QCOMPARE(saved.steps, 7);
    QCOMPARE(QString::fromStdString(saved.sampler), QStringLiteral("ddim"));
    QCOMPARE(static_cast<int>(saved.seed), child<QSpinBox>(window, "seed")->value() + 1);  // newest first

    // 6. "Use these settings" — also by dropping the picture on the window — restores them.
    child<LabeledSlider>(window, "sampleSteps")->setValue(42);
    child<QComboBox>(window, "sampler")->setCurrentIndex(0);
    drop(window, {picture});
    QCOMPARE(child<LabeledSlider>(window, "sampleSteps")->value(), 7.0);
    QCOMPARE(child<QComboBox>(window, "sampler")->currentData().toString(), QStringLiteral("ddim"));
    QCOMPARE(child<QSpinBox>(window, "seed")->value(), static_cast<int>(saved.seed));
    QCOMPARE(model->rowCount(), 2);  // a Pawtrait picture is settings, not a photo of the pet
    QVERIFY(window.saveProject());
  }

  void projectReopens() {
    const QString project = m_home.filePath(QStringLiteral("project"));
    MainWindow window;
    window.openLastProject();  // the one the closed window had open
    QCOMPARE(window.projectFolder(), project);
    auto* model = qobject_cast<PhotoModel*>(child<PhotoListView>(window, "photoArea")->model());
    QCOMPARE(model->rowCount(), 2);
    QCOMPARE(child<GalleryView>(window, "gallery")->count(), 2);
    // The last run's loss curve is shown again (it was stopped after a few steps, before any preview).
    QVERIFY(child<LossPlot>(window, "lossPlot")->pointCount() >= 3);
    QCOMPARE(child<LabeledSlider>(window, "sampleSteps")->value(), 7.0);
    QVERIFY(child<QPushButton>(window, "generateButton")->isEnabled());  // the trained model is remembered
  }

  QTemporaryDir m_home;
};

QTEST_MAIN(MainWindowTest)
#include "main_window_test.moc"
