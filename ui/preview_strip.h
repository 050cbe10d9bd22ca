#pragma once

#include <QImage>
#include <QList>
#include <QPixmap>
#include <QWidget>

class QDialog;
class QLabel;
class QListWidget;

// The preview samples of a training run: one entry per preview step (its pictures side by
// side, labelled "step N" underneath), newest last. A new entry is scrolled into view when the
// user was already looking at the end of the row; someone who scrolled back to compare an older
// step is not yanked away. Clicking an entry (or Enter on it) emits previewActivated and shows it
// enlarged in a dialog; small previews (64 px pixel art) are enlarged by whole factors without
// smoothing so that every pixel stays sharp. While empty, the row says what will appear.
class PreviewStrip : public QWidget {
  Q_OBJECT

 public:
  explicit PreviewStrip(QWidget* parent = nullptr);

  // Null images are skipped; the pictures are composed at the height of the tallest one.
  void addPreview(int step, const QList<QImage>& images);
  void clear();
  int count() const;
  QImage imageAt(int index) const;  // the composed strip of entry `index`, at full resolution
  int stepAt(int index) const;      // -1 when out of range

  QListWidget* view() const { return m_list; }
  // The enlarged view of the last activated entry, or null if none has been opened.
  QDialog* enlargedView() const { return m_dialog; }

  static constexpr int kThumbnailHeight = 128;  // logical pixels of an entry's pictures in the row

 signals:
  void previewActivated(int index);

 private:
  class Delegate;
  struct Entry {
    int step = 0;
    QImage image;
    QPixmap thumbnail;  // scaled once per device pixel ratio, see thumbnail()
  };

  QPixmap thumbnail(int index, qreal devicePixelRatio);
  QSize thumbnailSize(int index) const;
  void activate(int index);
  void showEnlarged(int index);

  QListWidget* m_list = nullptr;
  QList<Entry> m_entries;
  bool m_followNewest = true;   // the row was at its end: keep it there as entries arrive
  QDialog* m_dialog = nullptr;  // a child, created on first use and reused
  QLabel* m_dialogImage = nullptr;
};
