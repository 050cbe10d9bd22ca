// What the photos' names say the pet is (ui/pet_kind.h): the words people name pet folders and
// photos with, whole words only, the file and the two folders above it, and nothing when the
// names disagree.
#include <QTest>

#include "pet_kind.h"

class PetKindTest : public QObject {
  Q_OBJECT

 private slots:
  void guessesFromFolderAndFileNames_data() {
    QTest::addColumn<QStringList>("paths");
    QTest::addColumn<QString>("kind");
    QTest::newRow("folder") << QStringList{"/home/ann/Pictures/Cats/IMG_0001.jpg"} << "cat";
    QTest::newRow("file name") << QStringList{"/home/ann/Downloads/kitten-on-sofa.png"} << "cat";
    QTest::newRow("plural, capitals") << QStringList{"/data/DOGS/a.jpg", "/data/DOGS/b.jpg"} << "dog";
    QTest::newRow("puppy") << QStringList{"/tmp/Puppy.JPG"} << "dog";
    QTest::newRow("two words") << QStringList{"/p/Guinea Pigs/x.jpg", "/p/guinea_pig_2.jpg"} << "guinea pig";
    QTest::newRow("the folder above the photo's") << QStringList{"/p/bunny/summer/x.jpg"} << "rabbit";
    QTest::newRow("the one above that is too far") << QStringList{"/p/bunny/2024/summer/x.jpg"} << "";
    QTest::newRow("no kind in the names (the demo cat)") << QStringList{"/src/resources/demo/chelsea.png"} << "";
    QTest::newRow("whole words only") << QStringList{"/p/concatenated/dogmatic.jpg"} << "";
    QTest::newRow("names that disagree") << QStringList{"/p/cats/a.jpg", "/p/dogs/b.jpg"} << "";
    QTest::newRow("none") << QStringList{} << "";
  }
  void guessesFromFolderAndFileNames() {
    QFETCH(QStringList, paths);
    QFETCH(QString, kind);
    QCOMPARE(guessPetKind(paths), kind);
  }

  void everyKindIsOneTheGuessCanName() {
    for (const PetKind& kind : petKinds()) {
      QVERIFY(!kind.label.isEmpty());
      QCOMPARE(guessPetKind({QStringLiteral("/p/%1/x.jpg").arg(kind.word)}), kind.word);
    }
  }
};

QTEST_GUILESS_MAIN(PetKindTest)
#include "pet_kind_test.moc"
