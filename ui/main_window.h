#pragma once

#include <QMainWindow>

class QLabel;
class QPushButton;
class PhotoListView;

// Pawtrait's window: the pet's photos on the left, training on the right.
class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);

 private:
  void buildMenus();
  void showAbout();

  PhotoListView* m_photos = nullptr;
  QLabel* m_photoCount = nullptr;
  QPushButton* m_trainButton = nullptr;
};
