// How responsive the window stays while the built-in model trains and its previews render:
// a 10 ms timer on the GUI thread records how late each tick fires. The same timer idles
// first, as the reference in this run. Prints JSON with the 50th/99th percentile and worst
// lateness in milliseconds, idle and training.
// Usage: gui_latency_bench [STEPS] [PHOTO_DIR]   (QT_QPA_PLATFORM=offscreen works)
#include <QApplication>
#include <QElapsedTimer>
#include <QPushButton>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "main_window.h"

namespace {

struct Lateness {
  std::vector<double> ms;
  double percentile(double p) {
    if (ms.empty()) return 0;
    std::sort(ms.begin(), ms.end());
    return ms[std::min(ms.size() - 1, static_cast<std::size_t>(p * static_cast<double>(ms.size())))];
  }
};

// Ticks a 10 ms timer until `done` says stop; returns how late each tick came.
Lateness measure(const std::function<bool()>& done) {
  Lateness result;
  QElapsedTimer clock;
  clock.start();
  qint64 last = clock.nsecsElapsed();
  QTimer timer;
  timer.setTimerType(Qt::PreciseTimer);
  timer.setInterval(10);
  QEventLoop loop;
  QObject::connect(&timer, &QTimer::timeout, [&] {
    const qint64 now = clock.nsecsElapsed();
    result.ms.push_back(std::max(0.0, static_cast<double>(now - last) / 1e6 - 10.0));
    last = now;
    if (done()) loop.quit();
  });
  timer.start();
  loop.exec();
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("PawtraitLatencyBench"));
  const int steps = argc > 1 ? std::atoi(argv[1]) : 200;
  const QString photos =
      argc > 2 ? QString::fromLocal8Bit(argv[2]) : QStringLiteral(PAWTRAIT_SOURCE_DIR "/resources/demo");
  QTemporaryDir project;
  MainWindow window;
  window.openProject(project.path());
  window.show();
  window.addFiles({photos});
  auto* train = window.findChild<QPushButton*>(QStringLiteral("trainButton"));
  QElapsedTimer wait;
  wait.start();
  while (!train->isEnabled() && wait.elapsed() < 30000) QTest::qWait(50);

  QElapsedTimer idle_clock;
  idle_clock.start();
  Lateness idle = measure([&] { return idle_clock.elapsed() > 5000; });

  window.findChild<QSpinBox*>(QStringLiteral("steps"))->setValue(steps);  // previews every steps/8
  train->click();
  Lateness busy = measure([&] { return !window.isTraining(); });
  std::printf(
      "{\"steps\": %d, \"idle_ticks\": %zu, \"idle_p50_ms\": %.2f, \"idle_p99_ms\": %.2f, \"idle_max_ms\": %.2f, "
      "\"training_ticks\": %zu, \"training_p50_ms\": %.2f, \"training_p99_ms\": %.2f, \"training_max_ms\": %.2f}\n",
      steps, idle.ms.size(), idle.percentile(0.5), idle.percentile(0.99), idle.percentile(1.0), busy.ms.size(),
      busy.percentile(0.5), busy.percentile(0.99), busy.percentile(1.0));
  return 0;
}
