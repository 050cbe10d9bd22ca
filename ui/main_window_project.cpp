// MainWindow: files, project folders and window state (the layout is in main_window.cpp).
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
#include "imaging/aspect_buckets.h"
#include "imaging/caption_sidecar.h"
#include "imaging/photo.h"
#include "labeled_slider.h"
#include "loss_plot.h"
#include "pet_kind.h"
#include "photo_editor.h"
#include "photo_list_view.h"
#include "photo_model.h"
#include "pipeline/image_metadata.h"
#include "preview_strip.h"
#include "training_presets.h"

namespace {

namespace pipeline = pawtrait::pipeline;
namespace training = pawtrait::training;

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

// ---- Files, projects, window state -------------------------------------------------------

void MainWindow::addFiles(const QStringList& paths) {
  QStringList photos;
  for (const QString& path : paths) {
    if (isPawtraitPicture(path)) {
      try {
        usePictureSettings(path);
      } catch (const std::exception& e) {
        QMessageBox::warning(this, tr("Can't read the picture's settings"), QString::fromUtf8(e.what()));
      }
    } else {
      photos.append(path);
    }
  }
  if (!photos.isEmpty()) {
    // The photos' own names, before they are copied: "Cats/IMG_0001.jpg" says what the pet is.
    if (petClassWord().isEmpty()) {
      const QString guessed = guessPetKind(photos);
      if (!guessed.isEmpty()) {
        setPetClass(guessed);
        statusBar()->showMessage(
            tr("Animal: %1, from the photos' names; change it if it is wrong").arg(m_class->currentText()), 8000);
      }
    }
    const int added = m_photoModel->addPaths(copyIntoProject(photos));
    if (added == 0) {
      statusBar()->showMessage(tr("No new photos there"), 5000);
    } else {
      saveProject();  // the list too, not only the copies: nothing is lost if the app is then killed
    }
  }
  updateActions();
}

void MainWindow::openFromCommandLine(const QStringList& arguments) {
  QStringList paths;
  for (const QString& argument : arguments) paths.append(QFileInfo(argument).absoluteFilePath());
  if (!paths.isEmpty()) addFiles(paths);
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
      setPetClass(o.value(QStringLiteral("class")).toString());
      m_modelPath = o.value(QStringLiteral("model")).toString();
      m_modelChoice->setCurrentIndex(m_modelPath.isEmpty() ? 0 : 1);
      if (!m_modelPath.isEmpty()) {
        m_modelChoice->setItemText(1, QFileInfo(m_modelPath).fileName());
        Q_EMIT requestDescribe(m_modelPath);
      }
      m_modelSide = 0;
      m_modelJustChosen = false;
      applyModelKind();
      m_preset->setCurrentIndex(o.value(QStringLiteral("preset")).toInt(1));
      applyPreset();
      m_trainedModel = o.value(QStringLiteral("trained")).toString();
      m_lastRun = o.value(QStringLiteral("last_run")).toString();
      if (!m_lastRun.isEmpty()) showRun(m_lastRun);
      QStringList photos;
      for (const auto& p : o.value(QStringLiteral("photos")).toArray()) photos.append(p.toString());
      if (!photos.isEmpty()) m_photoModel->addPaths(photos);
      restorePhotoEdits(o.value(QStringLiteral("edits")).toObject());
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

void MainWindow::editPhoto(const QModelIndex& index) {
  if (!index.isValid()) return;
  const int row = index.row();
  const QString path = index.data(PhotoModel::PathRole).toString();
  const int resolution = m_photoModel->resolution();
  PhotoEditor editor(path, m_photoModel->editAt(row), m_photoModel->excludedAt(row), resolution,
                     static_cast<int>(pawtrait::imaging::bucket_step(resolution, 8)), this);
  editor.setCaption(m_photoModel->captionAt(row));
  if (editor.exec() != QDialog::Accepted || !editor.loaded()) return;
  const int now = m_photoModel->rowOfPath(path);  // the grid may have changed meanwhile
  if (now < 0) return;
  m_photoModel->setEdit(now, editor.edit(), editor.excluded());
  m_photoModel->setCaption(now, editor.caption());
  // The project's own copy gets the sidecar the CLI reads too (a photo used from where it is,
  // outside the project, is not written to).
  if (QFileInfo(path).absolutePath() == QDir(QDir(m_project).filePath(QStringLiteral("photos"))).absolutePath()) {
    try {
      pawtrait::imaging::write_caption_sidecar(QFile::encodeName(path).toStdString(), editor.caption().toStdString());
    } catch (const std::exception& e) {
      QMessageBox::warning(this, tr("Caption not saved beside the photo"),
                           tr("The caption is kept in the project, but %1").arg(QString::fromStdString(e.what())));
    }
  }
  updateActions();
  saveProject();
}

// project.json's "edits": {photo: {"turns": n, "box": [x, y, width, height], "excluded": true}}.
QJsonObject MainWindow::photoEditsJson() const {
  QJsonObject edits;
  for (int row = 0; row < m_photoModel->rowCount(); ++row) {
    const auto edit = m_photoModel->editAt(row);
    QJsonObject e;
    if (edit.quarter_turns != 0) e[QStringLiteral("turns")] = edit.quarter_turns;
    if (edit.box) {
      e[QStringLiteral("box")] =
          QJsonArray{static_cast<qint64>(edit.box->x), static_cast<qint64>(edit.box->y),
                     static_cast<qint64>(edit.box->width), static_cast<qint64>(edit.box->height)};
    }
    if (m_photoModel->excludedAt(row)) e[QStringLiteral("excluded")] = true;
    if (!m_photoModel->captionAt(row).isEmpty()) e[QStringLiteral("caption")] = m_photoModel->captionAt(row);
    if (!e.isEmpty()) edits[m_photoModel->index(row).data(PhotoModel::PathRole).toString()] = e;
  }
  return edits;
}

void MainWindow::restorePhotoEdits(const QJsonObject& edits) {
  for (auto it = edits.begin(); it != edits.end(); ++it) {
    const int row = m_photoModel->rowOfPath(it.key());
    const QJsonObject e = it.value().toObject();
    if (row < 0) continue;
    pawtrait::imaging::PhotoEdit edit;
    edit.quarter_turns = std::clamp(e.value(QStringLiteral("turns")).toInt(), 0, 3);
    const QJsonArray box = e.value(QStringLiteral("box")).toArray();
    if (box.size() == 4 && box[2].toInteger() > 0 && box[3].toInteger() > 0) {
      edit.box =
          pawtrait::imaging::CropBox{box[0].toInteger(), box[1].toInteger(), box[2].toInteger(), box[3].toInteger()};
    }
    m_photoModel->setEdit(row, edit, e.value(QStringLiteral("excluded")).toBool());
    m_photoModel->setCaption(row, e.value(QStringLiteral("caption")).toString());
  }
}

bool MainWindow::saveProject() {
  if (m_project.isEmpty()) return false;
  QJsonObject o;
  o[QStringLiteral("token")] = m_token->text();
  o[QStringLiteral("class")] = petClassWord();
  o[QStringLiteral("model")] = m_modelPath;
  o[QStringLiteral("preset")] = m_preset->currentIndex();
  o[QStringLiteral("trained")] = m_trainedModel;
  o[QStringLiteral("last_run")] = m_lastRun;
  o[QStringLiteral("photos")] = QJsonArray::fromStringList(m_photoModel->paths());
  o[QStringLiteral("edits")] = photoEditsJson();
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
  if (m_generating && m_generateToken) m_generateToken->cancel = true;
  saveProject();
  app_settings::setWindowGeometry(saveGeometry());
  app_settings::setSplitterState(m_splitter->saveState());
  event->accept();
}
