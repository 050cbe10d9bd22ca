// Takes the screenshots in docs/: the window empty, with photos, training (loss plot and
// previews) and with a gallery, driving it as a user would with the built-in model.
// Usage: screenshot_tour OUTPUT_DIR [PHOTO...]   (QT_QPA_PLATFORM=offscreen works)
// With TOUR_BASE=MODEL it shows that base model's settings instead of training: the Train
// box's advanced settings (base-train.png), the Generate tab's (base-generate.png) and the
// download dialog with SDXL chosen (base-download.png).
#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QFileInfo>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QToolButton>
#include <QtTest>

#include "download_dialog.h"
#include "labeled_slider.h"
#include "loss_plot.h"
#include "main_window.h"
#include "photo_editor.h"

namespace {

void settle(int ms) { QTest::qWait(ms); }

bool waitFor(const std::function<bool()>& done, int timeout_ms) {
  QElapsedTimer timer;
  timer.start();
  while (!done()) {
    if (timer.elapsed() > timeout_ms) return false;
    QTest::qWait(100);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("PawtraitScreenshots"));
  if (argc < 2) {
    fprintf(stderr, "usage: screenshot_tour OUTPUT_DIR [PHOTO...]\n");
    return 2;
  }
  const QDir out(QString::fromLocal8Bit(argv[1]));
  QDir().mkpath(out.path());
  QStringList photos;
  for (int i = 2; i < argc; ++i) photos.append(QString::fromLocal8Bit(argv[i]));
  if (photos.isEmpty()) photos.append(QStringLiteral(PAWTRAIT_SOURCE_DIR "/resources/demo"));
  QTemporaryDir project;

  MainWindow window;
  window.openProject(project.path());
  window.resize(1280, 800);
  window.show();
  settle(500);
  auto shoot = [&](const char* name) {
    settle(300);
    window.grab().save(out.filePath(QString::fromLatin1(name)));
    printf("%s\n", qPrintable(out.filePath(QString::fromLatin1(name))));
  };
  shoot("1-empty.png");

  window.addFiles(photos);
  waitFor([&] { return window.findChild<QPushButton*>(QStringLiteral("trainButton"))->isEnabled(); }, 30000);
  shoot("2-photos.png");
  {  // the crop editor on the first photo, as a double-click opens it
    const QString first = photos.front();
    const QStringList files =
        QFileInfo(first).isDir()
            ? QDir(first).entryList({QStringLiteral("*.png"), QStringLiteral("*.jpg")}, QDir::Files, QDir::Name)
            : QStringList{};
    const QString photo = files.isEmpty() ? first : QDir(first).filePath(files.front());
    PhotoEditor editor(photo, {}, false, 512, 64, &window);
    editor.show();
    settle(300);
    editor.grab().save(out.filePath(QStringLiteral("8-photo-editor.png")));
    printf("%s\n", qPrintable(out.filePath(QStringLiteral("8-photo-editor.png"))));
  }
  if (qEnvironmentVariableIsSet("TOUR_BASE")) {
    window.setBaseModel(qEnvironmentVariable("TOUR_BASE"));
    auto* info = window.findChild<QLabel*>(QStringLiteral("modelInfo"));
    waitFor([&] { return !info->text().endsWith(QStringLiteral("…")); }, 60000);
    window.findChild<QToolButton*>(QStringLiteral("trainAdvanced"))->click();
    shoot("base-train.png");
    window.findChild<QTabWidget*>(QStringLiteral("tabs"))->setCurrentIndex(1);
    window.findChild<QToolButton*>(QStringLiteral("generateMore"))->click();
    shoot("base-generate.png");
    DownloadDialog dialog(&window);
    dialog.setRepoId(QStringLiteral("stabilityai/stable-diffusion-xl-base-1.0"));
    dialog.show();
    settle(300);
    dialog.grab().save(out.filePath(QStringLiteral("base-download.png")));
    printf("%s\n", qPrintable(out.filePath(QStringLiteral("base-download.png"))));
    return 0;
  }
  QTimer::singleShot(150000, [&] { shoot("3-training.png"); });  // mid-run, the plot and previews filling in

  // The Balanced preset, as a user would leave it (1000 steps: about 8 minutes on 2 cores).
  if (qEnvironmentVariableIsSet("TOUR_STEPS")) {
    window.findChild<QSpinBox*>(QStringLiteral("steps"))->setValue(qEnvironmentVariableIntValue("TOUR_STEPS"));
  }
  window.findChild<QPushButton*>(QStringLiteral("trainButton"))->click();
  waitFor([&] { return !window.isTraining(); }, 600000);
  shoot("4-trained.png");

  auto* tabs = window.findChild<QTabWidget*>(QStringLiteral("tabs"));
  tabs->setCurrentIndex(1);
  window.findChild<QSpinBox*>(QStringLiteral("count"))->setValue(6);
  window.findChild<LabeledSlider*>(QStringLiteral("sampleSteps"))->setValue(50);
  window.findChild<QPushButton*>(QStringLiteral("generateButton"))->click();
  waitFor([&] { return !window.isGenerating(); }, 600000);
  shoot("5-gallery.png");

  // The same window in a dark palette, to see that everything stays readable.
  QApplication::setStyle(QStringLiteral("Fusion"));
  QPalette dark;
  dark.setColor(QPalette::Window, QColor(45, 45, 48));
  dark.setColor(QPalette::WindowText, QColor(230, 230, 230));
  dark.setColor(QPalette::Base, QColor(30, 30, 32));
  dark.setColor(QPalette::AlternateBase, QColor(45, 45, 48));
  dark.setColor(QPalette::Text, QColor(230, 230, 230));
  dark.setColor(QPalette::Button, QColor(55, 55, 60));
  dark.setColor(QPalette::ButtonText, QColor(230, 230, 230));
  dark.setColor(QPalette::Highlight, QColor(64, 128, 200));
  dark.setColor(QPalette::HighlightedText, Qt::white);
  dark.setColor(QPalette::PlaceholderText, QColor(150, 150, 150));
  dark.setColor(QPalette::Disabled, QPalette::Text, QColor(120, 120, 120));
  dark.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(120, 120, 120));
  dark.setColor(QPalette::Disabled, QPalette::WindowText, QColor(120, 120, 120));
  QApplication::setPalette(dark);
  tabs->setCurrentIndex(0);
  shoot("6-dark.png");
  return 0;
}
