#pragma once

#include <QDialog>
#include <QImage>
#include <QRect>

#include "imaging/photo_edit.h"

class QCheckBox;
class QLabel;
class QLineEdit;

// The crop editor (double-click a photo): the photo as it trains, turned as chosen, with the
// box to train on (drag it or its corners; drag outside it for a new one) and, dashed inside
// it, exactly the picture training takes: the aspect-ratio bucket of the box's shape at the
// training size, cut around the box's centre. A photo without a box yet opens with the
// suggested subject box (imaging::suggest_subject_box). Turn left/right, "Whole photo", and
// "Use this photo for training" (off: the photo stays in the project, left out of training),
// and the photo's caption.
class PhotoEditor : public QDialog {
  Q_OBJECT

 public:
  // `resolution` and `bucketStep`: the training size and the family's bucket step.
  PhotoEditor(const QString& path, const pawtrait::imaging::PhotoEdit& edit, bool excluded, int resolution,
              int bucketStep, QWidget* parent = nullptr);

  pawtrait::imaging::PhotoEdit edit() const;
  bool excluded() const;
  // What is particular to this photo, appended to the instance prompt ("lying on the grass").
  void setCaption(const QString& caption);
  QString caption() const;
  bool loaded() const { return !m_photo.isNull(); }  // false: the photo could not be read (said)
  QRect box() const { return m_box; }                // in the turned photo's pixels
  QSize bucket() const;                              // the training picture's size for the box
  QRect trainedRegion() const;                       // the bucket's cut, in the turned photo's pixels
  QWidget* canvas() const { return m_canvas; }
  QRect canvasRectOf(const QRect& photoRect) const;  // where a photo region is drawn

  void turn(int quarters);
  void useWholePhoto();
  void useSuggestion();

 private:
  friend class PhotoCanvas;
  void showTurned();
  void updateCaption();

  QImage m_original, m_photo;  // as decoded (upright), and turned
  int m_turns = 0;
  QRect m_box;               // never empty once loaded
  bool m_suggested = false;  // the box is the suggestion, not yet changed
  int m_resolution, m_step;
  QWidget* m_canvas = nullptr;
  QLabel* m_caption = nullptr;
  QCheckBox* m_use = nullptr;
  QLineEdit* m_caption_edit = nullptr;
};
