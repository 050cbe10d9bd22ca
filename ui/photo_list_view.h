#pragma once

#include <QListView>

// The grid of the pet's photos. While it is empty it tells the user what to put there.
class PhotoListView : public QListView {
  Q_OBJECT

 public:
  explicit PhotoListView(QWidget* parent = nullptr);

  void setEmptyText(const QString& text);
  QString emptyText() const { return m_emptyText; }

 protected:
  void paintEvent(QPaintEvent* event) override;

 private:
  QString m_emptyText;
};
