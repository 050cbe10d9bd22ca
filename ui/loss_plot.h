#pragma once

#include <QTimer>
#include <QWidget>

class QCheckBox;
class QCPGraph;
class QCustomPlot;

// The live training loss (QCustomPlot): the raw loss of each step as faint points, the
// smoothed loss and the validation loss as lines; wheel to zoom, drag to pan, and a log-scale
// toggle. Points are appended as they arrive; replots are coalesced to at most 30 a second so
// that any step rate stays smooth.
//
// View policy: while the user has not touched the view, both axes follow the data (refitted at
// every coalesced replot). Once the user zooms or pans, the view is theirs and new points no
// longer move it; a double-click on the plot (or resetView()) fits the data again and resumes
// following. Colours come from the widget's palette and are re-derived when it changes, so the
// plot reads well in light and dark themes.
class LossPlot : public QWidget {
  Q_OBJECT

 public:
  explicit LossPlot(QWidget* parent = nullptr);

  // One training step. `smoothed` is the running average the trainer reports; validation < 0:
  // not computed at this step. Non-finite values are kept as gaps (a diverged step is visible as
  // a hole in the line rather than flattening the axis). Never replots synchronously.
  void addPoint(int step, double loss, double smoothed, double validation);
  void clear();
  void setLogScale(bool on);
  bool logScale() const;

  // Fits both axes to the data and follows it again (what a double-click does).
  void resetView();
  // False once the user has zoomed or panned, until resetView().
  bool followsData() const { return m_followData; }

  int pointCount() const;       // raw loss points
  int validationCount() const;  // validation points
  int replotCount() const;      // replots done so far (tests check the coalescing)
  QCustomPlot* plot() const;
  QCheckBox* logScaleToggle() const { return m_logToggle; }

  static constexpr int kMinReplotIntervalMs = 33;  // ~30 replots a second at most

 protected:
  void changeEvent(QEvent* event) override;
  void showEvent(QShowEvent* event) override;

 private:
  void scheduleReplot();
  void flushReplot();
  void fitToData(Qt::Orientations axes = Qt::Horizontal | Qt::Vertical);
  void applyPalette();
  void onAxisRangeChanged();

  QCustomPlot* m_plot = nullptr;
  QCheckBox* m_logToggle = nullptr;
  QCPGraph* m_raw = nullptr;
  QCPGraph* m_smoothed = nullptr;
  QCPGraph* m_validation = nullptr;
  QTimer m_replotTimer;
  bool m_replotPending = false;
  bool m_followData = true;
  bool m_settingRange = false;  // our own range changes must not count as the user's
  int m_replotCount = 0;
};
