#include "photo_list_view.h"

#include <QPainter>

PhotoListView::PhotoListView(QWidget* parent) : QListView(parent) {
  setViewMode(QListView::IconMode);
  setResizeMode(QListView::Adjust);
  setUniformItemSizes(true);
  setSelectionMode(QAbstractItemView::ExtendedSelection);
  setMovement(QListView::Static);
  setIconSize(QSize(128, 128));
  setSpacing(8);
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
