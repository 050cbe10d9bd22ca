#pragma once

#include <QListView>

// The grid of the pet's photos. While it is empty it tells the user what to put there.
// Delete (and Backspace, the Mac's delete key) removes the selected photos: from a PhotoModel
// directly; with any other model the view emits removeRequested() for its owner to act on.
class PhotoListView : public QListView {
  Q_OBJECT

 public:
  explicit PhotoListView(QWidget* parent = nullptr);

  void setEmptyText(const QString& text);
  QString emptyText() const { return m_emptyText; }

 signals:
  void removeRequested(const QModelIndexList& indexes);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;

 private:
  void removeSelected();

  QString m_emptyText;
};
