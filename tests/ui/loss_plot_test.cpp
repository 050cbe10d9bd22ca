#include "loss_plot.h"
#include "preview_strip.h"

#include <qcustomplot.h>
#include <QCheckBox>
#include <QDialog>
#include <QLabel>
#include <QListWidget>
#include <QScrollBar>
#include <QSignalSpy>
#include <QtTest>

#include <cmath>
#include <limits>

namespace {

// Longer than the replot interval, so a pending replot has surely run.
constexpr int kSettleMs = 200;

// Saved when PAWTRAIT_SCREENSHOT_DIR is set, to look at the widgets by eye.
void saveScreenshot(const QImage& image, const QString& name) {
  const QString dir = qEnvironmentVariable("PAWTRAIT_SCREENSHOT_DIR");
  if (!dir.isEmpty()) QVERIFY(image.save(dir + QLatin1Char('/') + name));
}

int pixelsNear(const QImage& image, const QColor& color, int tolerance) {
  int n = 0;
  const QImage rgb = image.convertToFormat(QImage::Format_RGB32);
  for (int y = 0; y < rgb.height(); ++y) {
    const auto* line = reinterpret_cast<const QRgb*>(rgb.constScanLine(y));
    for (int x = 0; x < rgb.width(); ++x) {
      const QRgb p = line[x];
      if (std::abs(qRed(p) - color.red()) + std::abs(qGreen(p) - color.green()) + std::abs(qBlue(p) - color.blue()) <=
          tolerance)
        ++n;
    }
  }
  return n;
}

QImage solid(const QColor& color, int size = 64) {
  QImage image(size, size, QImage::Format_RGB32);
  image.fill(color);
  return image;
}

QList<QImage> threePictures() { return {solid(Qt::red), solid(Qt::green), solid(Qt::blue)}; }

// A loss curve that falls from ~2 to ~0.05 with per-step noise.
double lossAt(int step) { return 0.05 + 2.0 * std::exp(-step / 150.0) + 0.02 * std::sin(step * 1.7); }

}  // namespace

class LossPlotTest : public QObject {
  Q_OBJECT

 private slots:
  void addPointNeverReplotsSynchronouslyAndCoalesces() {
    LossPlot plot;
    plot.resize(640, 400);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    QTest::qWait(kSettleMs);
    const int before = plot.replotCount();

    for (int step = 0; step < 1000; ++step) plot.addPoint(step, lossAt(step), lossAt(step), -1);
    QCOMPARE(plot.replotCount(), before);  // nothing synchronous in addPoint
    QTest::qWait(kSettleMs);

    QCOMPARE(plot.pointCount(), 1000);
    QCOMPARE(plot.plot()->graph(0)->dataCount(), 1000);
    QVERIFY2(plot.replotCount() > before, "the points were never drawn");
    QVERIFY2(plot.replotCount() <= 10, qPrintable(QStringLiteral("%1 replots").arg(plot.replotCount())));
  }

  // The rate limit without a clock: a replot waits for the single-shot timer
  // (kMinReplotIntervalMs, ~30 a second at most), and every point that arrives meanwhile joins
  // it. Ten bursts, each waited out, make ten replots, whatever the machine's speed.
  void pointsArrivingWhileAReplotIsPendingJoinIt() {
    LossPlot plot;
    plot.resize(640, 400);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    QTest::qWait(kSettleMs);
    const int before = plot.replotCount();
    int step = 0;
    for (int burst = 1; burst <= 10; ++burst) {
      for (int i = 0; i < 20; ++i, ++step) plot.addPoint(step, lossAt(step), lossAt(step), -1);
      QCOMPARE(plot.replotCount(), before + burst - 1);  // none yet: the timer decides when
      QTRY_COMPARE_WITH_TIMEOUT(plot.replotCount(), before + burst, 10000);
    }
    QTest::qWait(3 * LossPlot::kMinReplotIntervalMs);
    QCOMPARE(plot.replotCount(), before + 10);  // nothing was left pending
    QCOMPARE(plot.pointCount(), 200);
  }

  void hiddenPlotCatchesUpWhenShown() {
    LossPlot plot;
    plot.resize(640, 400);
    QTest::qWait(kSettleMs);  // QCustomPlot's own initial replot
    const int before = plot.replotCount();
    for (int step = 0; step < 50; ++step) plot.addPoint(step, lossAt(step), lossAt(step), -1);
    QTest::qWait(kSettleMs);
    QCOMPARE(plot.replotCount(), before);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    QTest::qWait(kSettleMs);
    QVERIFY(plot.replotCount() > 0);
    QVERIFY(plot.plot()->xAxis->range().contains(49));
  }

  void validationCountedOnlyWhenComputed() {
    LossPlot plot;
    for (int step = 0; step < 10; ++step) plot.addPoint(step, 1.0, 1.0, step % 3 == 0 ? step * 0.1 : -1.0);
    QCOMPARE(plot.pointCount(), 10);
    QCOMPARE(plot.validationCount(), 4);  // steps 0 (a validation loss of exactly 0 counts), 3, 6, 9
    plot.addPoint(10, 1.0, 1.0, -0.5);
    QCOMPARE(plot.validationCount(), 4);
  }

  void logToggleSwitchesTheValueAxis() {
    LossPlot plot;
    plot.resize(640, 400);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    double lowest = 1e9;
    double highest = 0;
    for (int step = 0; step < 300; ++step) {
      plot.addPoint(step, lossAt(step), lossAt(step), -1);
      lowest = std::min(lowest, lossAt(step));
      highest = std::max(highest, lossAt(step));
    }
    auto* toggle = plot.findChild<QCheckBox*>(QStringLiteral("logScaleToggle"));
    QVERIFY(toggle != nullptr);
    QCOMPARE(toggle, plot.logScaleToggle());
    QVERIFY(!toggle->toolTip().isEmpty());
    QVERIFY(!toggle->accessibleName().isEmpty());
    QCOMPARE(plot.plot()->yAxis->scaleType(), QCPAxis::stLinear);

    QTest::mouseClick(toggle, Qt::LeftButton, {}, QPoint(8, toggle->height() / 2));
    QVERIFY(toggle->isChecked());
    QVERIFY(plot.logScale());
    QCOMPARE(plot.plot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
    QVERIFY(!plot.plot()->yAxis->ticker().dynamicCast<QCPAxisTickerLog>().isNull());
    QVERIFY(plot.plot()->yAxis->range().lower > 0);
    QTest::qWait(kSettleMs);
    QVERIFY(plot.plot()->yAxis->range().contains(lowest));
    QVERIFY(plot.plot()->yAxis->range().contains(highest));
    QVERIFY(plot.plot()->yAxis->range().upper < 2 * highest);
    saveScreenshot(plot.grab().toImage(), QStringLiteral("loss_plot_log.png"));

    plot.setLogScale(false);
    QVERIFY(!toggle->isChecked());
    QCOMPARE(plot.plot()->yAxis->scaleType(), QCPAxis::stLinear);
    QVERIFY(plot.plot()->yAxis->ticker().dynamicCast<QCPAxisTickerLog>().isNull());
  }

  void clearEmptiesEverything() {
    LossPlot plot;
    for (int step = 0; step < 20; ++step) plot.addPoint(step, 1.0, 1.0, 0.5);
    plot.clear();
    QCOMPARE(plot.pointCount(), 0);
    QCOMPARE(plot.validationCount(), 0);
    for (int i = 0; i < plot.plot()->graphCount(); ++i) QCOMPARE(plot.plot()->graph(i)->dataCount(), 0);
  }

  void rangesFollowTheData() {
    LossPlot plot;
    plot.resize(640, 400);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    plot.addPoint(100, 0.05, 0.4, -1);
    plot.addPoint(101, 2.0, 0.5, 3.5);
    plot.addPoint(350, 0.3, 0.3, -1);
    QTest::qWait(kSettleMs);
    const QCPRange y = plot.plot()->yAxis->range();
    const QCPRange x = plot.plot()->xAxis->range();
    QVERIFY2(y.contains(0.05) && y.contains(3.5), qPrintable(QStringLiteral("y %1..%2").arg(y.lower).arg(y.upper)));
    QVERIFY2(y.lower > -0.5 && y.upper < 5, "the fit should be snug");
    QVERIFY(x.contains(100) && x.contains(350));
    QVERIFY(x.lower > 50);  // follows the data, not a fixed origin
  }

  void userZoomHoldsTheViewUntilDoubleClick() {
    LossPlot plot;
    plot.resize(640, 400);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    for (int step = 0; step < 100; ++step) plot.addPoint(step, 1.0 + 0.01 * step, 1.0, -1);
    QTest::qWait(kSettleMs);
    QVERIFY(plot.followsData());

    plot.plot()->yAxis->scaleRange(0.5);  // what the wheel does
    QVERIFY(!plot.followsData());
    const QCPRange zoomed = plot.plot()->yAxis->range();
    plot.addPoint(100, 10.0, 10.0, -1);
    QTest::qWait(kSettleMs);
    QCOMPARE(plot.plot()->yAxis->range(), zoomed);

    QTest::mouseDClick(plot.plot(), Qt::LeftButton, {}, plot.plot()->rect().center());
    QVERIFY(plot.followsData());
    QTest::qWait(kSettleMs);
    QVERIFY(plot.plot()->yAxis->range().contains(10.0));
    QVERIFY(plot.plot()->xAxis->range().contains(100));
  }

  void nonFiniteLossLeavesAGap() {
    LossPlot plot;
    plot.resize(640, 400);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    plot.addPoint(0, 1.0, 1.0, -1);
    plot.addPoint(1, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN(), -1);
    plot.addPoint(2, 0.5, 0.8, -1);
    QTest::qWait(kSettleMs);
    QCOMPARE(plot.pointCount(), 3);
    const QCPRange y = plot.plot()->yAxis->range();
    QVERIFY(std::isfinite(y.lower) && std::isfinite(y.upper));
    QVERIFY(y.upper < 2);
  }

  void lossPlotDrawsSomething() {
    LossPlot plot;
    plot.resize(640, 400);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    for (int step = 0; step < 600; ++step) {
      const double smoothed = 0.05 + 2.0 * std::exp(-step / 150.0);
      plot.addPoint(step, lossAt(step) + 0.15 * std::sin(step * 12.9898), smoothed,
                    step % 50 == 0 ? smoothed * 1.2 : -1);
    }
    QTest::qWait(kSettleMs);
    const QImage image = plot.grab().toImage();
    saveScreenshot(image, QStringLiteral("loss_plot.png"));
    const QColor smoothed = plot.plot()->graph(1)->pen().color();
    const QColor validation = plot.plot()->graph(2)->pen().color();
    QVERIFY2(pixelsNear(image, smoothed, 30) > 200, "no smoothed line");
    QVERIFY2(pixelsNear(image, validation, 30) > 50, "no validation line");
    QVERIFY(smoothed != validation);
  }

  void lossPlotFollowsADarkPalette() {
    LossPlot plot;
    QPalette dark = plot.palette();
    dark.setColor(QPalette::Base, QColor(30, 30, 34));
    dark.setColor(QPalette::Window, QColor(40, 40, 44));
    dark.setColor(QPalette::Text, QColor(220, 220, 220));
    dark.setColor(QPalette::WindowText, QColor(220, 220, 220));
    dark.setColor(QPalette::Highlight, QColor(20, 60, 140));  // too dark to draw with on Base
    plot.setPalette(dark);
    plot.resize(640, 400);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    for (int step = 0; step < 600; ++step) {
      const double smoothed = 0.05 + 2.0 * std::exp(-step / 150.0);
      plot.addPoint(step, lossAt(step) + 0.15 * std::sin(step * 12.9898), smoothed,
                    step % 50 == 0 ? smoothed * 1.2 : -1);
    }
    QTest::qWait(kSettleMs);
    const QImage image = plot.grab().toImage();
    saveScreenshot(image, QStringLiteral("loss_plot_dark.png"));
    const QColor smoothed = plot.plot()->graph(1)->pen().color();
    QVERIFY2(smoothed.lightnessF() > 0.5, "the line would vanish into the dark background");
    QVERIFY(plot.plot()->graph(2)->pen().color().lightnessF() > 0.5);
    const QRect area = plot.plot()->axisRect()->rect();
    QVERIFY(QColor(image.pixel(plot.plot()->mapTo(&plot, area.topLeft() + QPoint(3, 3)))).lightnessF() < 0.3);
    QVERIFY(pixelsNear(image, smoothed, 30) > 200);
  }

  void previewsComposeSideBySideNewestLast() {
    PreviewStrip strip;
    for (int i = 1; i <= 3; ++i) strip.addPreview(i * 100, threePictures());
    QCOMPARE(strip.count(), 3);
    QVERIFY(strip.imageAt(0).width() >= 3 * 64);
    QCOMPARE(strip.imageAt(0).height(), 64);
    QCOMPARE(QColor(strip.imageAt(0).pixel(5, 32)), QColor(Qt::red));
    QCOMPARE(QColor(strip.imageAt(0).pixel(strip.imageAt(0).width() - 5, 32)), QColor(Qt::blue));
    QCOMPARE(strip.stepAt(0), 100);
    QCOMPARE(strip.stepAt(2), 300);
    QCOMPARE(strip.stepAt(3), -1);
    QVERIFY(strip.imageAt(3).isNull());
    QCOMPARE(strip.view()->count(), 3);
    QCOMPARE(strip.view()->item(2)->text(), QStringLiteral("step 300"));
    QVERIFY(!strip.view()->item(2)->toolTip().isEmpty());

    strip.clear();
    QCOMPARE(strip.count(), 0);
    QCOMPARE(strip.view()->count(), 0);
  }

  void mixedSizesAndNullImages() {
    PreviewStrip strip;
    strip.addPreview(1, {solid(Qt::red, 64), QImage(), solid(Qt::blue, 32)});
    const QImage composed = strip.imageAt(0);
    QCOMPARE(composed.height(), 64);
    QVERIFY(composed.width() >= 128 && composed.width() < 3 * 64);
    strip.addPreview(2, {QImage()});
    QCOMPARE(strip.count(), 2);
    QVERIFY(strip.imageAt(1).isNull());
  }

  void scrollsToTheNewestUnlessScrolledBack() {
    PreviewStrip strip;
    strip.resize(500, strip.sizeHint().height());
    strip.show();
    QVERIFY(QTest::qWaitForWindowExposed(&strip));
    for (int i = 1; i <= 12; ++i) strip.addPreview(i * 100, threePictures());
    QTest::qWait(50);
    QScrollBar* bar = strip.view()->horizontalScrollBar();
    QVERIFY(bar->maximum() > 0);
    QCOMPARE(bar->value(), bar->maximum());
    QVERIFY(strip.view()->viewport()->rect().intersects(strip.view()->visualItemRect(strip.view()->item(11))));

    bar->setValue(0);
    strip.addPreview(1300, threePictures());
    QTest::qWait(50);
    QCOMPARE(bar->value(), 0);
  }

  void clickOpensTheEnlargedView() {
    PreviewStrip strip;
    strip.resize(900, strip.sizeHint().height());
    for (int i = 1; i <= 3; ++i) strip.addPreview(i * 100, threePictures());
    strip.show();
    QVERIFY(QTest::qWaitForWindowExposed(&strip));
    QSignalSpy spy(&strip, &PreviewStrip::previewActivated);

    QListWidget* view = strip.view();
    const QRect rect = view->visualItemRect(view->item(1));
    QVERIFY(rect.isValid());
    QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, rect.center());
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.at(0).at(0).toInt(), 1);
    QDialog* dialog = strip.enlargedView();
    QVERIFY(dialog != nullptr);
    QVERIFY(dialog->isVisible());
    QCOMPARE(dialog->windowTitle(), QStringLiteral("Preview at step 200"));
    auto* image = dialog->findChild<QLabel*>(QStringLiteral("previewDialogImage"));
    QVERIFY(image != nullptr);
    const QPixmap enlarged = image->pixmap();
    QVERIFY(enlarged.width() >= 2 * strip.imageAt(1).width());
    QCOMPARE(enlarged.width() % strip.imageAt(1).width(), 0);  // whole factor: sharp pixels
    saveScreenshot(dialog->grab().toImage(), QStringLiteral("preview_dialog.png"));

    view->setCurrentRow(2);
    QTest::keyClick(view, Qt::Key_Return);
    QCOMPARE(spy.count(), 2);
    QCOMPARE(spy.at(1).at(0).toInt(), 2);
    QCOMPARE(dialog->windowTitle(), QStringLiteral("Preview at step 300"));
    dialog->close();
  }

  void previewStripDrawsSomething() {
    PreviewStrip strip;
    strip.resize(1300, strip.sizeHint().height());  // room for three entries
    strip.show();
    QVERIFY(QTest::qWaitForWindowExposed(&strip));
    const QImage empty = strip.grab().toImage();
    saveScreenshot(empty, QStringLiteral("preview_strip_empty.png"));
    QCOMPARE(pixelsNear(empty, Qt::red, 0), 0);

    for (int i = 1; i <= 3; ++i) strip.addPreview(i * 100, threePictures());
    QTest::qWait(50);
    const QImage image = strip.grab().toImage();
    saveScreenshot(image, QStringLiteral("preview_strip.png"));
    // Three 64 px red pictures doubled to the 128 px row height in each of three entries.
    QVERIFY2(pixelsNear(image, Qt::red, 0) >= 3 * 128 * 128, "the pictures are not drawn");
    QVERIFY(image != empty);
    QVERIFY(!strip.view()->accessibleName().isEmpty());
  }
};

QTEST_MAIN(LossPlotTest)
#include "loss_plot_test.moc"
