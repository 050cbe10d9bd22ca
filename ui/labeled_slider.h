#pragma once

#include <QWidget>

class QLabel;
class QSlider;

// A slider with its name and a live value label, for values on a fixed grid: value =
// minimum + k · step. The value label follows every move.
class LabeledSlider : public QWidget {
  Q_OBJECT

 public:
  LabeledSlider(const QString& name, double minimum, double maximum, double step, int decimals,
                QWidget* parent = nullptr);

  double value() const;
  void setValue(double value);  // snapped to the grid and clamped
  QSlider* slider() const { return m_slider; }

 Q_SIGNALS:
  void valueChanged(double value);

 private:
  void showValue();
  double m_minimum, m_step;
  int m_decimals;
  QSlider* m_slider;
  QLabel* m_value;
};
