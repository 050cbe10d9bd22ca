#include "gallery_view.h"

#include <QFileInfo>
#include <QPainter>

GalleryView::GalleryView(QWidget* parent) : QListWidget(parent) {
  setViewMode(QListView::IconMode);
  setResizeMode(QListView::Adjust);
  setMovement(QListView::Static);
  setIconSize(QSize(160, 160));
  setSpacing(6);
  setUniformItemSizes(true);
  setSelectionMode(QAbstractItemView::ExtendedSelection);
  setAccessibleName(tr("Generated pictures"));
  setToolTip(tr("Your generated pictures, newest first. Double-click one to see it large with its settings."));
}

void GalleryView::addPicture(const QImage& image, const QString& path) {
  auto* item =
      new QListWidgetItem(QIcon(QPixmap::fromImage(image.scaled(
                              iconSize(), Qt::KeepAspectRatio,
                              image.width() < iconSize().width() ? Qt::FastTransformation : Qt::SmoothTransformation))),
                          QFileInfo(path).fileName());
  item->setData(Qt::UserRole, path);
  item->setToolTip(path);
  insertItem(0, item);
  setCurrentRow(0, QItemSelectionModel::ClearAndSelect);
}

QString GalleryView::pathAt(int row) const {
  const QListWidgetItem* it = item(row);
  return it != nullptr ? it->data(Qt::UserRole).toString() : QString();
}

QStringList GalleryView::paths() const {
  QStringList all;
  for (int i = 0; i < count(); ++i) all.append(pathAt(i));
  return all;
}

void GalleryView::paintEvent(QPaintEvent* event) {
  QListWidget::paintEvent(event);
  if (count() > 0) return;
  QPainter painter(viewport());
  painter.setPen(palette().color(QPalette::PlaceholderText));
  painter.drawText(viewport()->rect().adjusted(12, 12, -12, -12), Qt::AlignCenter | Qt::TextWordWrap,
                   tr("Pictures you generate appear here"));
}
