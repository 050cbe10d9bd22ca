#include "loss_plot.h"

#include <qcustomplot.h>
#include <QCheckBox>
#include <QEvent>
#include <QHBoxLayout>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>

namespace {

// Steps are integers: never put ticks between them, however far the user zooms in.
class StepTicker : public QCPAxisTicker {
 protected:
  double getTickStep(const QCPRange& range) override { return std::max(1.0, QCPAxisTicker::getTickStep(range)); }
};

// Training losses often stay within one decade (0.05 .. 0.3), where a plain log ticker labels a
// single power of ten or none at all. Below ~1.5 decades this one labels 1-2-5 (or 1..9)
// mantissas instead, and falls back to linear ticks for very narrow ranges.
class LossLogTicker : public QCPAxisTickerLog {
 protected:
  QVector<double> createTickVector(double tickStep, const QCPRange& range) override {
    m_narrow = false;
    if (range.lower <= 0 || range.upper / range.lower >= std::pow(10.0, 1.5))
      return QCPAxisTickerLog::createTickVector(tickStep, range);
    m_narrow = true;
    for (const QVector<double>& mantissas : {QVector<double>{1, 2, 5}, QVector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9}}) {
      const QVector<double> ticks = mantissaTicks(mantissas, range);
      const auto inside = std::count_if(ticks.begin(), ticks.end(), [&](double t) { return range.contains(t); });
      if (inside >= 3) return ticks;
    }
    return QCPAxisTicker::createTickVector(QCPAxisTicker::getTickStep(range), range);
  }
  int getSubTickCount(double tickStep) override { return m_narrow ? 0 : QCPAxisTickerLog::getSubTickCount(tickStep); }

 private:
  static QVector<double> mantissaTicks(const QVector<double>& mantissas, const QCPRange& range) {
    QVector<double> ticks;
    const int first = static_cast<int>(std::floor(std::log10(range.lower)));
    const int last = static_cast<int>(std::ceil(std::log10(range.upper)));
    for (int exponent = first; exponent <= last; ++exponent)
      for (double m : mantissas) ticks.append(m * std::pow(10.0, exponent));
    return ticks;
  }

  bool m_narrow = false;  // set by createTickVector, read by getSubTickCount in the same generate()
};

double finiteOrNaN(double v) { return std::isfinite(v) ? v : std::numeric_limits<double>::quiet_NaN(); }

// A colour of `hue` that stands out against the background: lighter on dark themes, darker on
// light ones.
QColor readableColor(const QColor& seed, bool darkBackground) {
  QColor hsl = seed.toHsl();
  const float saturation = std::max(hsl.hslSaturationF(), 0.55f);
  const float lightness =
      darkBackground ? std::clamp(hsl.lightnessF(), 0.60f, 0.75f) : std::clamp(hsl.lightnessF(), 0.30f, 0.45f);
  return QColor::fromHslF(hsl.hslHueF() < 0 ? 0.58f : hsl.hslHueF(), saturation, lightness);
}

}  // namespace

LossPlot::LossPlot(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("lossPlot"));

  m_logToggle = new QCheckBox(tr("Log scale"), this);
  m_logToggle->setObjectName(QStringLiteral("logScaleToggle"));
  m_logToggle->setToolTip(
      tr("Show the loss on a logarithmic axis, which spreads out the small values of late training"));
  m_logToggle->setAccessibleName(tr("Logarithmic loss axis"));

  m_plot = new QCustomPlot(this);
  m_plot->setObjectName(QStringLiteral("lossPlotCanvas"));
  m_plot->setAccessibleName(tr("Training loss plot"));
  m_plot->setToolTip(tr("Wheel to zoom, drag to pan, double-click to fit the data again"));
  m_plot->setMinimumSize(240, 160);
  m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  m_plot->setNoAntialiasingOnDrag(true);

  auto* top = new QHBoxLayout;
  top->addStretch();
  top->addWidget(m_logToggle);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(2);
  layout->addLayout(top);
  layout->addWidget(m_plot, 1);

  m_plot->xAxis->setLabel(tr("step"));
  m_plot->yAxis->setLabel(tr("loss"));
  m_plot->xAxis->setTicker(QSharedPointer<StepTicker>::create());
  m_plot->xAxis->setRange(0, 10);
  m_plot->yAxis->setRange(0, 1);

  m_raw = m_plot->addGraph();
  m_raw->setName(tr("loss per step"));
  m_raw->setLineStyle(QCPGraph::lsNone);
  m_smoothed = m_plot->addGraph();
  m_smoothed->setName(tr("smoothed"));
  m_smoothed->setLineStyle(QCPGraph::lsLine);
  m_validation = m_plot->addGraph();
  m_validation->setName(tr("validation"));
  m_validation->setLineStyle(QCPGraph::lsLine);

  m_plot->legend->setVisible(true);
  m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  applyPalette();

  m_replotTimer.setSingleShot(true);
  m_replotTimer.setInterval(kMinReplotIntervalMs);
  connect(&m_replotTimer, &QTimer::timeout, this, &LossPlot::flushReplot);
  connect(m_plot, &QCustomPlot::afterReplot, this, [this] { ++m_replotCount; });
  connect(m_plot->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, &LossPlot::onAxisRangeChanged);
  connect(m_plot->yAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, &LossPlot::onAxisRangeChanged);
  connect(m_plot, &QCustomPlot::mouseDoubleClick, this, &LossPlot::resetView);
  connect(m_logToggle, &QCheckBox::toggled, this, &LossPlot::setLogScale);
}

void LossPlot::addPoint(int step, double loss, double smoothed, double validation) {
  m_raw->addData(step, finiteOrNaN(loss));
  m_smoothed->addData(step, finiteOrNaN(smoothed));
  if (validation >= 0) m_validation->addData(step, finiteOrNaN(validation));
  scheduleReplot();
}

void LossPlot::clear() {
  m_raw->data()->clear();
  m_smoothed->data()->clear();
  m_validation->data()->clear();
  m_followData = true;
  scheduleReplot();
}

void LossPlot::setLogScale(bool on) {
  if (on == logScale()) return;
  {
    const QSignalBlocker blocker(m_logToggle);
    m_logToggle->setChecked(on);
  }
  QCPAxis* y = m_plot->yAxis;
  m_settingRange = true;
  if (on) {
    y->setScaleType(QCPAxis::stLogarithmic);
    y->setTicker(QSharedPointer<LossLogTicker>::create());
    y->setNumberFormat(QStringLiteral("gb"));
    y->setNumberPrecision(3);
  } else {
    y->setScaleType(QCPAxis::stLinear);
    y->setTicker(QSharedPointer<QCPAxisTicker>::create());
    y->setNumberFormat(QStringLiteral("gb"));
    y->setNumberPrecision(6);
  }
  m_settingRange = false;
  // A y range chosen in one scale means little in the other: refit y, keep the user's x.
  fitToData(Qt::Vertical);
  scheduleReplot();
}

bool LossPlot::logScale() const { return m_plot->yAxis->scaleType() == QCPAxis::stLogarithmic; }

void LossPlot::resetView() {
  m_followData = true;
  fitToData();
  scheduleReplot();
}

int LossPlot::pointCount() const { return m_raw->dataCount(); }
int LossPlot::validationCount() const { return m_validation->dataCount(); }
int LossPlot::replotCount() const { return m_replotCount; }
QCustomPlot* LossPlot::plot() const { return m_plot; }

void LossPlot::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::PaletteChange || event->type() == QEvent::StyleChange) {
    applyPalette();
    scheduleReplot();
  }
}

void LossPlot::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  if (m_replotPending) scheduleReplot();  // points that arrived while hidden
}

void LossPlot::scheduleReplot() {
  m_replotPending = true;
  if (!m_replotTimer.isActive()) m_replotTimer.start();
}

void LossPlot::flushReplot() {
  // A hidden plot (another tab) keeps the flag and catches up in showEvent.
  if (!isVisible()) return;
  m_replotPending = false;
  if (m_followData) fitToData();
  m_plot->replot(QCustomPlot::rpQueuedRefresh);
}

void LossPlot::fitToData(Qt::Orientations axes) {
  const QCP::SignDomain domain = logScale() ? QCP::sdPositive : QCP::sdBoth;
  bool haveKeys = false;
  bool haveValues = false;
  QCPRange keys;
  QCPRange values;
  for (QCPGraph* graph : {m_raw, m_smoothed, m_validation}) {
    bool found = false;
    const QCPRange k = graph->getKeyRange(found);
    if (found) keys = haveKeys ? QCPRange(std::min(keys.lower, k.lower), std::max(keys.upper, k.upper)) : k;
    haveKeys = haveKeys || found;
    const QCPRange v = graph->getValueRange(found, domain);
    if (found) values = haveValues ? QCPRange(std::min(values.lower, v.lower), std::max(values.upper, v.upper)) : v;
    haveValues = haveValues || found;
  }

  m_settingRange = true;
  if (haveKeys && axes.testFlag(Qt::Horizontal)) {
    const double pad = std::max(0.5, keys.size() * 0.02);
    m_plot->xAxis->setRange(keys.lower - pad, keys.upper + pad);
  }
  if (haveValues && axes.testFlag(Qt::Vertical)) {
    if (logScale()) {
      const double factor = values.upper > values.lower ? std::pow(values.upper / values.lower, 0.06) : 1.25;
      m_plot->yAxis->setRange(values.lower / factor, values.upper * factor);
    } else {
      const double pad = values.size() > 0 ? values.size() * 0.06 : std::max(std::abs(values.upper) * 0.1, 1e-3);
      m_plot->yAxis->setRange(values.lower - pad, values.upper + pad);
    }
  }
  m_settingRange = false;
}

void LossPlot::onAxisRangeChanged() {
  // Only drag and wheel change the ranges outside fitToData/setLogScale.
  if (!m_settingRange) m_followData = false;
}

void LossPlot::applyPalette() {
  if (m_validation == nullptr) return;  // palette events during construction
  const QPalette pal = palette();
  const QColor base = pal.color(QPalette::Base);
  const QColor text = pal.color(QPalette::Text);
  const bool dark = base.lightnessF() < 0.5;

  QColor seed = pal.color(QPalette::Highlight);
  if (seed.hslSaturationF() < 0.2) seed = QColor::fromHslF(0.58f, 0.7f, 0.5f);  // grey highlight: use a blue
  const QColor accent = readableColor(seed, dark);
  // The complementary hue (blue → orange on most themes) keeps validation apart, also for the
  // common red-green colour blindness.
  const QColor other = readableColor(QColor::fromHslF(std::fmod(accent.hslHueF() + 0.5f, 1.0f), 0.8f, 0.5f), dark);

  QColor faint = accent;
  faint.setAlpha(dark ? 90 : 70);
  m_raw->setPen(Qt::NoPen);
  m_raw->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, faint, faint, 4));
  m_smoothed->setPen(QPen(accent, 2));
  m_smoothed->setScatterStyle(QCPScatterStyle());
  m_validation->setPen(QPen(other, 2));
  m_validation->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(other, 1.5), base, 7));

  m_plot->setBackground(base);
  m_plot->axisRect()->setBackground(base);
  QColor gridColor = text;
  gridColor.setAlpha(dark ? 45 : 35);
  QColor axisColor = text;
  axisColor.setAlpha(160);
  for (QCPAxis* axis : {m_plot->xAxis, m_plot->yAxis, m_plot->xAxis2, m_plot->yAxis2}) {
    axis->setBasePen(QPen(axisColor, 1));
    axis->setTickPen(QPen(axisColor, 1));
    axis->setSubTickPen(QPen(axisColor, 1));
    axis->setTickLabelColor(text);
    axis->setLabelColor(text);
    axis->grid()->setPen(QPen(gridColor, 1, Qt::SolidLine));
    axis->grid()->setZeroLinePen(Qt::NoPen);
  }

  QColor legendFill = base;
  legendFill.setAlpha(210);
  m_plot->legend->setBrush(legendFill);
  m_plot->legend->setBorderPen(QPen(gridColor, 1));
  m_plot->legend->setTextColor(text);
  QFont legendFont = font();
  legendFont.setPointSizeF(legendFont.pointSizeF() * 0.9);
  m_plot->legend->setFont(legendFont);
}
