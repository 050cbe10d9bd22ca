#include "labeled_slider.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QSlider>
#include <cmath>

LabeledSlider::LabeledSlider(const QString& name, double minimum, double maximum, double step, int decimals,
                             QWidget* parent)
    : QWidget(parent), m_minimum(minimum), m_step(step), m_decimals(decimals) {
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* label = new QLabel(name);
  label->setMinimumWidth(110);
  m_slider = new QSlider(Qt::Horizontal);
  m_slider->setRange(0, static_cast<int>(std::lround((maximum - minimum) / step)));
  m_slider->setAccessibleName(name);
  m_value = new QLabel;
  m_value->setMinimumWidth(40);
  m_value->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
  label->setBuddy(m_slider);
  layout->addWidget(label);
  layout->addWidget(m_slider, 1);
  layout->addWidget(m_value);
  connect(m_slider, &QSlider::valueChanged, this, [this] {
    showValue();
    Q_EMIT valueChanged(value());
  });
  showValue();
}

double LabeledSlider::value() const { return m_minimum + m_slider->value() * m_step; }

void LabeledSlider::setValue(double value) {
  m_slider->setValue(static_cast<int>(std::lround((value - m_minimum) / m_step)));
  showValue();
}

void LabeledSlider::showValue() { m_value->setText(QString::number(value(), 'f', m_decimals)); }
