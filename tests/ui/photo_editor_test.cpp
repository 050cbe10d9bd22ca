// The crop editor driven as a person would: the suggested box, dragging it and a corner, turns,
// "Whole photo", leaving a photo out; and the photo model keeping the choices.
#include "photo_editor.h"

#include <QCheckBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QtTest>

#include "imaging/photo.h"
#include "imaging/subject_box.h"
#include "photo_model.h"

namespace {

const QString kDemo = QStringLiteral(PAWTRAIT_TESTDATA "/photos/chelsea.png");  // 451 × 300

}  // namespace

class PhotoEditorTest : public QObject {
  Q_OBJECT

 private slots:
  void opensWithTheSuggestedBoxAndItsBucket() {
    PhotoEditor editor(kDemo, {}, false, 512, 64);
    QVERIFY(editor.loaded());
    const auto suggested = pawtrait::imaging::suggest_subject_box(pawtrait::imaging::load_photo(kDemo.toStdString()));
    QCOMPARE(editor.box(), QRect(suggested.x, suggested.y, suggested.width, suggested.height));
    // The box's shape picks the bucket, and the dashed region lies inside the box.
    const QSize bucket = editor.bucket();
    QVERIFY(std::abs(std::log(double(bucket.width()) / bucket.height()) -
                     std::log(double(editor.box().width()) / editor.box().height())) < 0.2);
    QVERIFY(editor.box().adjusted(-1, -1, 1, 1).contains(editor.trainedRegion()));
    QVERIFY(editor.edit().box.has_value());
    QVERIFY(!editor.excluded());
  }

  void dragsTheBoxAndACorner() {
    pawtrait::imaging::PhotoEdit chosen;
    chosen.box = pawtrait::imaging::CropBox{100, 50, 200, 200};
    PhotoEditor editor(kDemo, chosen, false, 512, 64);
    editor.show();
    QVERIFY(QTest::qWaitForWindowExposed(&editor));
    QCOMPARE(editor.box(), QRect(100, 50, 200, 200));
    QWidget* canvas = editor.canvas();
    // Move: grab the middle, let go 40 photo pixels to the right.
    const QRect shown = editor.canvasRectOf(editor.box());
    const double scale = shown.width() / 200.0;
    const QPoint middle = shown.center();
    QTest::mousePress(canvas, Qt::LeftButton, {}, middle);
    QTest::mouseMove(canvas, middle + QPoint(int(std::lround(40 * scale)), 0));
    QTest::mouseRelease(canvas, Qt::LeftButton, {}, middle + QPoint(int(std::lround(40 * scale)), 0));
    QVERIFY2(std::abs(editor.box().x() - 140) <= 2, qPrintable(QString::number(editor.box().x())));
    QCOMPARE(editor.box().size(), QSize(200, 200));
    // Resize: the bottom-right corner up by 80 photo pixels: a wide box, a wide bucket.
    const QRect now = editor.canvasRectOf(editor.box());
    QTest::mousePress(canvas, Qt::LeftButton, {}, now.bottomRight());
    QTest::mouseMove(canvas, now.bottomRight() - QPoint(0, int(std::lround(80 * scale))));
    QTest::mouseRelease(canvas, Qt::LeftButton, {}, now.bottomRight() - QPoint(0, int(std::lround(80 * scale))));
    QVERIFY2(std::abs(editor.box().height() - 120) <= 3, qPrintable(QString::number(editor.box().height())));
    QVERIFY(editor.bucket().width() > editor.bucket().height());
    const auto edit = editor.edit();
    QVERIFY(edit.box.has_value());
    QCOMPARE(edit.box->x, editor.box().x());
    // Whole photo: no box at all (the photo's bucket).
    QTest::mouseClick(editor.findChild<QPushButton*>(QStringLiteral("wholePhoto")), Qt::LeftButton);
    QVERIFY(!editor.edit().box.has_value());
    QCOMPARE(editor.bucket(), QSize(640, 384));  // 451 × 300 at 512²: the same bucket as training
  }

  void turnsAndLeavesOut() {
    PhotoEditor editor(kDemo, {}, false, 512, 64);
    QTest::mouseClick(editor.findChild<QPushButton*>(QStringLiteral("turnRight")), Qt::LeftButton);
    QCOMPARE(editor.edit().quarter_turns, 1);
    QTest::mouseClick(editor.findChild<QPushButton*>(QStringLiteral("wholePhoto")), Qt::LeftButton);
    QCOMPARE(editor.box(), QRect(0, 0, 300, 451));  // the turned photo stands up
    QCOMPARE(editor.bucket(), QSize(384, 640));
    QTest::mouseClick(editor.findChild<QPushButton*>(QStringLiteral("turnLeft")), Qt::LeftButton);
    QTest::mouseClick(editor.findChild<QPushButton*>(QStringLiteral("turnLeft")), Qt::LeftButton);
    QCOMPARE(editor.edit().quarter_turns, 3);
    editor.findChild<QCheckBox*>(QStringLiteral("usePhoto"))->setChecked(false);
    QVERIFY(editor.excluded());
    QTest::keyClicks(editor.findChild<QLineEdit*>(QStringLiteral("photoCaption")),
                     QStringLiteral("  lying on  the grass "));
    QCOMPARE(editor.caption(), QStringLiteral("lying on the grass"));
  }

  void aPhotoThatCannotBeReadSaysSo() {
    QTemporaryDir dir;
    const QString broken = dir.filePath(QStringLiteral("broken.jpg"));
    QFile file(broken);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("\xff\xd8\xff\xe0 not really a jpeg");
    file.close();
    PhotoEditor editor(broken, {}, false, 512, 64);
    QVERIFY(!editor.loaded());
    QVERIFY(editor.findChild<QLabel*>(QStringLiteral("photoEditorCaption"))->text().contains(QStringLiteral("cannot")));
  }

  void theModelKeepsTheChoicesAndLeavesOutWhatIsLeftOut() {
    PhotoModel model;
    model.setResolution(64);
    QSignalSpy finished(&model, &PhotoModel::checksFinished);
    QCOMPARE(model.addPaths({kDemo}), 1);
    QVERIFY(finished.wait(60000));
    QCOMPARE(model.usablePaths().size(), 1);
    pawtrait::imaging::PhotoEdit edit;
    edit.quarter_turns = 2;
    model.setEdit(0, edit, /*excluded=*/true);
    QVERIFY(model.usablePaths().isEmpty());
    QCOMPARE(model.usableCount(), 0);
    QVERIFY(model.index(0).data(Qt::ToolTipRole).toString().contains(QStringLiteral("Left out of training")));
    QCOMPARE(model.edits().size(), std::size_t(1));
    QCOMPARE(model.edits().begin()->second.quarter_turns, 2);
    model.setEdit(0, edit, false);
    QCOMPARE(model.usablePaths().size(), 1);
  }
};

QTEST_MAIN(PhotoEditorTest)
#include "photo_editor_test.moc"
