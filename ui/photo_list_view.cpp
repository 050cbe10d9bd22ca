#include "photo_list_view.h"

#include <QKeyEvent>
#include <QPainter>
#include <algorithm>

#include "photo_model.h"

PhotoListView::PhotoListView(QWidget* parent) : QListView(parent) {
  setViewMode(QListView::IconMode);
  setResizeMode(QListView::Adjust);
  setUniformItemSizes(true);
  setSelectionMode(QAbstractItemView::ExtendedSelection);
  setMovement(QListView::Static);
  setIconSize(QSize(128, 128));
  setSpacing(8);
  setAccessibleName(tr("Your pet's photos"));
  setAccessibleDescription(tr("Photos used for training. Select photos and press Delete to remove them."));
  setToolTip(tr("Drop photos or folders of your pet here.\nSelect photos and press Delete to remove them."));
}

void PhotoListView::setEmptyText(const QString& text) {
  m_emptyText = text;
  viewport()->update();
}

void PhotoListView::paintEvent(QPaintEvent* event) {
  QListView::paintEvent(event);
  if (model() != nullptr && model()->rowCount(rootIndex()) > 0) return;
  QPainter painter(viewport());
  const QRect area = viewport()->rect().adjusted(16, 16, -16, -16);
  QPen pen(palette().color(QPalette::Mid));
  pen.setStyle(Qt::DashLine);
  pen.setWidth(2);
  painter.setPen(pen);
  painter.drawRoundedRect(area, 12, 12);
  painter.setPen(palette().color(QPalette::PlaceholderText));
  QFont font = painter.font();
  font.setPointSizeF(font.pointSizeF() * 1.3);
  painter.setFont(font);
  painter.drawText(area, Qt::AlignCenter | Qt::TextWordWrap, m_emptyText);
}

void PhotoListView::keyPressEvent(QKeyEvent* event) {
  const bool remove = event->matches(QKeySequence::Delete) ||
                      (event->key() == Qt::Key_Backspace && event->modifiers() == Qt::NoModifier);
  if (remove && state() != EditingState && selectionModel() != nullptr && selectionModel()->hasSelection()) {
    removeSelected();
    event->accept();
    return;
  }
  QListView::keyPressEvent(event);
}

void PhotoListView::removeSelected() {
  const QModelIndexList selected = selectionModel()->selectedIndexes();
  auto* photos = qobject_cast<PhotoModel*>(model());
  if (photos == nullptr) {
    emit removeRequested(selected);
    return;
  }
  // Select the photo that moves into the first removed place, so Delete can be pressed again.
  int next = photos->rowCount();
  for (const QModelIndex& index : selected) next = std::min(next, index.row());
  photos->removePhotos(selected);
  const int rows = photos->rowCount(rootIndex());
  if (rows == 0) return;
  const QModelIndex current = photos->index(std::min(next, rows - 1), 0, rootIndex());
  selectionModel()->setCurrentIndex(current, QItemSelectionModel::ClearAndSelect);
}
