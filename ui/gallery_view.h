#pragma once

#include <QListWidget>

// The generated pictures, newest first, as a grid. Each item holds its file: the picture's
// generation parameters are in the PNG itself.
class GalleryView : public QListWidget {
  Q_OBJECT

 public:
  explicit GalleryView(QWidget* parent = nullptr);

  void addPicture(const QImage& image, const QString& path);  // newest first
  QString pathAt(int row) const;
  QStringList paths() const;

 protected:
  void paintEvent(QPaintEvent* event) override;
};
