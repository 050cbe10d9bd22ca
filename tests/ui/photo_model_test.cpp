#include "photo_model.h"

#include <QFile>
#include <QIcon>
#include <QItemSelectionModel>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QStringListModel>
#include <QTemporaryDir>
#include <QThreadPool>
#include <QtTest>

#include "photo_list_view.h"

namespace {

const QString kDemo = QStringLiteral(PAWTRAIT_TESTDATA "/photos/chelsea.png");
constexpr int kWaitMs = 60000;

PhotoModel::Verdict verdictAt(const PhotoModel& model, int row) {
  return model.index(row).data(PhotoModel::VerdictRole).value<PhotoModel::Verdict>();
}

// A picture unlike the demo cat: left-to-right gradient with vertical stripes.
QString writeStripes(const QString& path, int width, int height) {
  QImage image(width, height, QImage::Format_RGB32);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) image.setPixel(x, y, (x / 8) % 2 ? qRgb(250, 30, 30) : qRgb(x % 256, 40, 200));
  }
  return image.save(path) ? path : QString();
}

}  // namespace

class PhotoModelTest : public QObject {
  Q_OBJECT

 private slots:
  void init() {
    // Earlier tests' workers (those of destroyed models) must not overlap the next test's timing.
    QThreadPool::globalInstance()->waitForDone(kWaitMs);
    QCoreApplication::processEvents();
  }

  void addsTheDemoPhotoAtOnceThenItsThumbnailAndVerdict() {
    PhotoModel model;
    QSignalSpy finished(&model, &PhotoModel::checksFinished);
    QCOMPARE(model.addPaths({kDemo}), 1);
    // The row is there before any decoding has been waited for.
    QCOMPARE(model.rowCount(), 1);
    QVERIFY(model.checking());
    const QModelIndex index = model.index(0);
    QCOMPARE(index.data(Qt::DisplayRole).toString(), QStringLiteral("chelsea.png"));
    QCOMPARE(verdictAt(model, 0), PhotoModel::Verdict::Checking);
    QVERIFY(!index.data(Qt::DecorationRole).value<QIcon>().isNull());  // the placeholder
    QCOMPARE(model.usableCount(), 0);

    QVERIFY(finished.wait(kWaitMs));
    QCOMPARE(finished.count(), 1);
    QVERIFY(!model.checking());
    const QImage thumbnail = index.data(PhotoModel::ThumbnailRole).value<QImage>();
    QVERIFY(!thumbnail.isNull());
    QCOMPARE(thumbnail.size(), QSize(256, 170));  // 451×300 with its long side at 256
    QCOMPARE(verdictAt(model, 0), PhotoModel::Verdict::Ok);
    QVERIFY(index.data(PhotoModel::UsableRole).toBool());
    QCOMPARE(model.usableCount(), 1);
    QCOMPARE(model.usablePaths(), QStringList{QFileInfo(kDemo).absoluteFilePath()});
    QVERIFY(index.data(Qt::ToolTipRole).toString().contains(QStringLiteral("chelsea.png")));
    QVERIFY(index.data(Qt::ToolTipRole).toString().contains(QStringLiteral("451×300")));
    QVERIFY(index.data(Qt::AccessibleTextRole).toString().startsWith(QStringLiteral("chelsea.png")));
  }

  // A blurred photo is used, with a yellow badge and a tooltip that says what to do.
  void aBlurredPhotoIsUsedWithAWarning() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("blurred.png"));
    const QImage cat(kDemo);
    // Down to an eighth and back: a blur the sharpness measure scores far below kBlurredBelow.
    QVERIFY(cat.scaled(cat.size() / 8, Qt::IgnoreAspectRatio, Qt::SmoothTransformation)
                .scaled(cat.size(), Qt::IgnoreAspectRatio, Qt::SmoothTransformation)
                .save(path));
    PhotoModel model;
    QCOMPARE(model.addPaths({kDemo, path}), 2);
    QTRY_VERIFY_WITH_TIMEOUT(!model.checking(), kWaitMs);
    QCOMPARE(model.usableCount(), 1);  // the blurred copy is the sharp one's duplicate
    PhotoModel alone;
    QCOMPARE(alone.addPaths({path}), 1);
    QTRY_VERIFY_WITH_TIMEOUT(!alone.checking(), kWaitMs);
    const QModelIndex index = alone.index(0);
    QVERIFY(index.data(PhotoModel::UsableRole).toBool());
    QVERIFY2(index.data(PhotoModel::WarningRole).toString().contains(QStringLiteral("looks blurred")),
             qPrintable(index.data(PhotoModel::WarningRole).toString()));
    const QString tip = index.data(Qt::ToolTipRole).toString();
    QVERIFY2(tip.contains(QStringLiteral("Used for training")) && tip.contains(QStringLiteral("sharper photo")),
             qPrintable(tip));
    QCOMPARE(alone.warningCount(), 1);
    QCOMPARE(model.index(0).data(PhotoModel::WarningRole).toString(), QString());  // the sharp demo photo
  }

  void addingTheSameFileAgainAddsNothing() {
    PhotoModel model;
    QCOMPARE(model.addPaths({kDemo}), 1);
    QCOMPARE(model.addPaths({kDemo, kDemo}), 0);
    const QString roundabout = QStringLiteral(PAWTRAIT_TESTDATA "/photos/../photos/./chelsea.png");
    QCOMPARE(model.addPaths({roundabout}), 0);
    QCOMPARE(model.rowCount(), 1);
    QTRY_VERIFY_WITH_TIMEOUT(!model.checking(), kWaitMs);
  }

  void aCopyUnderAnotherNameIsADuplicateUntilTheOriginalGoes() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString twin = dir.filePath(QStringLiteral("twin.png"));
    QVERIFY(QFile::copy(kDemo, twin));
    PhotoModel model;
    QCOMPARE(model.addPaths({kDemo, twin}), 2);
    QTRY_VERIFY_WITH_TIMEOUT(!model.checking(), kWaitMs);
    QCOMPARE(verdictAt(model, 0), PhotoModel::Verdict::Ok);
    QCOMPARE(verdictAt(model, 1), PhotoModel::Verdict::Duplicate);
    QCOMPARE(model.usableCount(), 1);
    QVERIFY(model.index(1).data(PhotoModel::ReasonRole).toString().contains(QStringLiteral("chelsea.png")));
    QVERIFY(model.index(1).data(Qt::ToolTipRole).toString().contains(QStringLiteral("same picture")));

    // Verdicts depend on the set: without the original, the copy is the one to use.
    QSignalSpy finished(&model, &PhotoModel::checksFinished);
    model.removePhotos({model.index(0)});
    QCOMPARE(model.rowCount(), 1);
    QVERIFY(model.checking());
    QVERIFY(finished.wait(kWaitMs));
    QCOMPARE(verdictAt(model, 0), PhotoModel::Verdict::Ok);
    QCOMPARE(model.usablePaths(), QStringList{QFileInfo(twin).absoluteFilePath()});
  }

  void aCorruptFileIsUnreadable() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("x.jpg"));
    {
      QFile file(path);
      QVERIFY(file.open(QIODevice::WriteOnly));
      QByteArray noise(4096, Qt::Uninitialized);
      QRandomGenerator generator(7);
      for (char& byte : noise) byte = static_cast<char>(generator.bounded(256));
      file.write(noise);
    }
    PhotoModel model;
    QCOMPARE(model.addPaths({path}), 1);
    QTRY_VERIFY_WITH_TIMEOUT(!model.checking(), kWaitMs);
    const QModelIndex index = model.index(0);
    QCOMPARE(verdictAt(model, 0), PhotoModel::Verdict::Unreadable);
    QVERIFY(!index.data(PhotoModel::UsableRole).toBool());
    QVERIFY(index.data(PhotoModel::ThumbnailRole).value<QImage>().isNull());
    QVERIFY(!index.data(Qt::DecorationRole).value<QIcon>().isNull());  // the broken tile with its badge
    const QString tip = index.data(Qt::ToolTipRole).toString();
    QVERIFY2(tip.contains(QStringLiteral("cannot read")), qPrintable(tip));
    QVERIFY2(tip.contains(QStringLiteral("Not used")), qPrintable(tip));
    QCOMPARE(model.usableCount(), 0);
    QVERIFY(model.usablePaths().isEmpty());
  }

  void aTinyPhotoIsTooSmallUntilTheResolutionDrops() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("tiny.png"));
    QImage tiny(20, 20, QImage::Format_RGB32);
    tiny.fill(qRgb(30, 120, 200));
    QVERIFY(tiny.save(path));
    PhotoModel model;
    model.setResolution(64);
    QCOMPARE(model.addPaths({path}), 1);
    QTRY_VERIFY_WITH_TIMEOUT(!model.checking(), kWaitMs);
    QCOMPARE(verdictAt(model, 0), PhotoModel::Verdict::TooSmall);
    const QString reason = model.index(0).data(PhotoModel::ReasonRole).toString();
    QVERIFY2(reason.contains(QStringLiteral("20x20")), qPrintable(reason));
    QVERIFY(model.index(0).data(Qt::ToolTipRole).toString().contains(reason));
    QCOMPARE(model.index(0).data(PhotoModel::ThumbnailRole).value<QImage>().size(), QSize(20, 20));  // not enlarged

    // 20 px is enough for 40: setResolution re-checks.
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.setResolution(40);
    QVERIFY(model.checking());
    QTRY_VERIFY_WITH_TIMEOUT(!model.checking(), kWaitMs);
    QCOMPARE(verdictAt(model, 0), PhotoModel::Verdict::Ok);
    QVERIFY(changed.count() >= 1);
  }

  void addingAFolderAddsThePhotosInside() {
    QTemporaryDir dir;
    QVERIFY(QFile::copy(kDemo, dir.filePath(QStringLiteral("b.png"))));
    QVERIFY(!writeStripes(dir.filePath(QStringLiteral("a.jpg")), 300, 300).isEmpty());
    QFile notes(dir.filePath(QStringLiteral("notes.txt")));
    QVERIFY(notes.open(QIODevice::WriteOnly));
    notes.write("not a photo");
    notes.close();

    PhotoModel model;
    QCOMPARE(model.addPaths({dir.path()}), 2);
    QCOMPARE(model.paths(),
             (QStringList{dir.filePath(QStringLiteral("a.jpg")), dir.filePath(QStringLiteral("b.png"))}));
    QCOMPARE(model.addPaths({dir.path()}), 0);
    QTRY_VERIFY_WITH_TIMEOUT(!model.checking(), kWaitMs);
    QCOMPARE(model.usableCount(), 2);
  }

  void unicodeFileNamesSurviveTheRoundTrip() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("Café 🐱 ü.png"));
    QVERIFY(QFile::copy(kDemo, path));
    PhotoModel model;
    QCOMPARE(model.addPaths({dir.path()}), 1);
    QCOMPARE(model.paths(), QStringList{path});
    QTRY_VERIFY_WITH_TIMEOUT(!model.checking(), kWaitMs);
    QCOMPARE(verdictAt(model, 0), PhotoModel::Verdict::Ok);
    QVERIFY(!model.index(0).data(PhotoModel::ThumbnailRole).value<QImage>().isNull());
  }

  void removingPhotosUpdatesTheUsableCount() {
    QTemporaryDir dir;
    const QString stripes = writeStripes(dir.filePath(QStringLiteral("stripes.png")), 200, 160);
    QVERIFY(!stripes.isEmpty());
    PhotoModel model;
    model.setResolution(64);
    QCOMPARE(model.addPaths({kDemo, stripes}), 2);
    QTRY_VERIFY_WITH_TIMEOUT(!model.checking(), kWaitMs);
    QCOMPARE(model.usableCount(), 2);

    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    model.removePhotos({model.index(0), model.index(0), QModelIndex()});  // repeats and invalid ones are ignored
    QCOMPARE(removed.count(), 1);
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.usableCount(), 1);
    QCOMPARE(model.paths(), QStringList{stripes});
    QTRY_VERIFY_WITH_TIMEOUT(!model.checking(), kWaitMs);
    QCOMPARE(model.usableCount(), 1);

    QSignalSpy finished(&model, &PhotoModel::checksFinished);
    model.clear();
    QCOMPARE(model.rowCount(), 0);
    QCOMPARE(model.usableCount(), 0);
    QVERIFY(!model.checking());
    QCOMPARE(finished.count(), 1);
  }

  void removingRowsWhileTheirWorkIsPendingIsSafe() {
    QTemporaryDir dir;
    for (int i = 0; i < 6; ++i)
      QVERIFY(!writeStripes(dir.filePath(QStringLiteral("p%1.png").arg(i)), 400 + 37 * i, 300).isEmpty());
    PhotoModel model;
    QCOMPARE(model.addPaths({dir.path(), kDemo}), 7);
    model.removePhotos({model.index(1), model.index(3), model.index(4)});
    QCOMPARE(model.rowCount(), 4);
    model.clear();
    QCOMPARE(model.addPaths({kDemo}), 1);
    QTRY_VERIFY_WITH_TIMEOUT(!model.checking(), kWaitMs);
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(verdictAt(model, 0), PhotoModel::Verdict::Ok);
    QVERIFY(!model.index(0).data(PhotoModel::ThumbnailRole).value<QImage>().isNull());
  }

  void destroyingTheModelWithWorkPendingIsSafe() {
    QTemporaryDir dir;
    for (int i = 0; i < 6; ++i) QVERIFY(QFile::copy(kDemo, dir.filePath(QStringLiteral("c%1.png").arg(i))));
    for (int round = 0; round < 3; ++round) {
      auto* model = new PhotoModel;
      QCOMPARE(model->addPaths({dir.path(), kDemo}), 7);
      if (round == 1) QTest::qWait(5);  // some workers mid-decode
      delete model;
    }
    // Let every worker finish and post (or find nobody to post to), then deliver what was posted.
    QVERIFY(QThreadPool::globalInstance()->waitForDone(kWaitMs));
    QTest::qWait(100);
  }

  void deleteKeyRemovesTheSelectedPhotos() {
    PhotoModel model;
    QTemporaryDir dir;
    const QString stripes = writeStripes(dir.filePath(QStringLiteral("stripes.png")), 200, 160);
    QCOMPARE(model.addPaths({kDemo, stripes}), 2);
    PhotoListView view;
    view.setModel(&model);
    view.resize(400, 300);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    QVERIFY(!view.accessibleName().isEmpty());
    view.selectionModel()->select(model.index(0), QItemSelectionModel::Select);
    QTest::keyClick(&view, Qt::Key_Delete);
    QCOMPARE(model.paths(), QStringList{stripes});
    QVERIFY(view.selectionModel()->isSelected(model.index(0)));  // the next photo, ready for another Delete
    QTest::keyClick(&view, Qt::Key_Backspace);
    QCOMPARE(model.rowCount(), 0);
    QTest::keyClick(&view, Qt::Key_Delete);  // nothing selected: nothing happens
    QTRY_VERIFY_WITH_TIMEOUT(!model.checking(), kWaitMs);

    // Another model: the owner is asked.
    QStringListModel names({QStringLiteral("a"), QStringLiteral("b")});
    view.setModel(&names);
    QSignalSpy requested(&view, &PhotoListView::removeRequested);
    view.selectionModel()->select(names.index(1), QItemSelectionModel::Select);
    QTest::keyClick(&view, Qt::Key_Delete);
    QCOMPARE(requested.count(), 1);
    QCOMPARE(requested.at(0).at(0).value<QModelIndexList>(), QModelIndexList{names.index(1)});
    QCOMPARE(names.rowCount(), 2);
  }
};

QTEST_MAIN(PhotoModelTest)
#include "photo_model_test.moc"
