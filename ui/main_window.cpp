#include "main_window.h"

#include <QApplication>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QStatusBar>
#include <QVBoxLayout>

#include "photo_list_view.h"

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("Pawtrait"));
  setWindowIcon(QIcon(QStringLiteral(":/icons/pawtrait-256.png")));

  auto* photoBox = new QGroupBox(tr("Your pet's photos"));
  auto* photoLayout = new QVBoxLayout(photoBox);
  m_photos = new PhotoListView;
  m_photos->setObjectName(QStringLiteral("photoArea"));
  m_photos->setEmptyText(
      tr("Drag photos of your pet here\n\n3–20 photos of the same pet work best:\n"
         "different places, angles and light"));
  m_photos->setMinimumSize(420, 320);
  m_photoCount = new QLabel(tr("No photos yet"));
  m_photoCount->setObjectName(QStringLiteral("photoCount"));
  photoLayout->addWidget(m_photos, 1);
  photoLayout->addWidget(m_photoCount);

  auto* trainBox = new QGroupBox(tr("Training"));
  auto* trainLayout = new QVBoxLayout(trainBox);
  auto* steps = new QLabel(tr("1. Add photos of your pet\n2. Click Train\n3. Generate new pictures of it"));
  steps->setWordWrap(true);
  m_trainButton = new QPushButton(tr("Train"));
  m_trainButton->setObjectName(QStringLiteral("trainButton"));
  m_trainButton->setEnabled(false);
  m_trainButton->setToolTip(tr("Add photos of your pet first"));
  m_trainButton->setMinimumHeight(40);
  trainLayout->addWidget(steps);
  trainLayout->addStretch(1);
  trainLayout->addWidget(m_trainButton);

  auto* central = new QWidget;
  auto* layout = new QHBoxLayout(central);
  layout->addWidget(photoBox, 3);
  layout->addWidget(trainBox, 1);
  setCentralWidget(central);

  buildMenus();
  statusBar()->showMessage(tr("Add photos of your pet to begin"));
  resize(960, 600);
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* quit = file->addAction(tr("&Quit"));
  quit->setShortcut(QKeySequence::Quit);
  connect(quit, &QAction::triggered, qApp, &QApplication::quit);

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  QAction* about = help->addAction(tr("&About Pawtrait"));
  connect(about, &QAction::triggered, this, &MainWindow::showAbout);
}

void MainWindow::showAbout() {
  QMessageBox::about(this, tr("About Pawtrait"),
                     tr("<b>Pawtrait %1</b><p>Teach Stable Diffusion what your pet looks like from a few photos, "
                        "on your own computer, then make new pictures of it.</p>")
                         .arg(QApplication::applicationVersion()));
}
