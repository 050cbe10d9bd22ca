#include <QLabel>
#include <QPushButton>
#include <QtTest>

#include "main_window.h"
#include "photo_list_view.h"

class MainWindowTest : public QObject {
  Q_OBJECT

 private slots:
  void startsEmptyWithTrainingDisabled() {
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QCOMPARE(window.windowTitle(), QStringLiteral("Pawtrait"));

    auto* photos = window.findChild<PhotoListView*>(QStringLiteral("photoArea"));
    QVERIFY(photos != nullptr);
    QVERIFY(photos->isVisible());
    QVERIFY(photos->emptyText().contains(QStringLiteral("Drag photos")));

    auto* train = window.findChild<QPushButton*>(QStringLiteral("trainButton"));
    QVERIFY(train != nullptr);
    QVERIFY(!train->isEnabled());
    QVERIFY(!train->toolTip().isEmpty());
  }

  void emptyPhotoAreaPaintsItsHint() {
    PhotoListView view;
    view.setEmptyText(QStringLiteral("Drag photos of your pet here"));
    view.resize(400, 300);
    const QImage blank = [&] {
      PhotoListView plain;
      plain.resize(400, 300);
      return plain.grab().toImage();
    }();
    const QImage withHint = view.grab().toImage();
    QCOMPARE(withHint.size(), blank.size());
    QVERIFY(withHint != blank);  // the dashed frame and text are drawn
  }
};

QTEST_MAIN(MainWindowTest)
#include "main_window_test.moc"
