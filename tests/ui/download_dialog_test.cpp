// The Download… dialog against a local stand-in for the hub: a model downloads with progress
// into the models folder, shows up among the downloaded ones, and a missing repo says so.
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "download_dialog.h"
#include "hub/model_cache.h"
#include "unit/hub/fake_hub.h"

class DownloadDialogTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    QVERIFY(m_data.isValid());
    m_hub.add_repo("pawtrait-test/sd-tiny", PAWTRAIT_TESTDATA "/sd-tiny", "0123456789abcdef0123456789abcdef01234567");
    qputenv("HF_ENDPOINT", QByteArray::fromStdString(m_hub.endpoint()));
    qputenv("XDG_DATA_HOME", m_data.path().toUtf8());
    qunsetenv("HF_TOKEN");
  }

  void downloadsAModelAndListsIt() {
    DownloadDialog dialog;
    dialog.setRepoId(QStringLiteral("stabilityai/stable-diffusion-xl-base-1.0"));  // SDXL is a well-known base
    QVERIFY(dialog.findChild<QComboBox*>(QStringLiteral("knownModels"))
                ->currentText()
                .startsWith(QStringLiteral("Stable Diffusion XL 1.0 base")));
    dialog.setRepoId(QStringLiteral("black-forest-labs/FLUX.2-klein-4B"));  // and both klein models
    QVERIFY(dialog.findChild<QComboBox*>(QStringLiteral("knownModels"))
                ->currentText()
                .startsWith(QStringLiteral("FLUX.2 [klein] 4B, distilled")));
    dialog.setRepoId(QStringLiteral("black-forest-labs/FLUX.2-klein-base-4B"));
    QVERIFY(dialog.findChild<QComboBox*>(QStringLiteral("knownModels"))
                ->currentText()
                .startsWith(QStringLiteral("FLUX.2 [klein] base 4B")));
    dialog.setRepoId(QStringLiteral("pawtrait-test/sd-tiny"));
    QSignalSpy ready(&dialog, &DownloadDialog::modelReady);
    dialog.findChild<QPushButton*>(QStringLiteral("downloadButton"))->click();
    QVERIFY(dialog.downloading());
    QVERIFY(ready.wait(30000));
    const QString folder = ready.front().front().toString();
    QVERIFY(QFileInfo::exists(folder + QStringLiteral("/unet/diffusion_pytorch_model.safetensors")));
    QVERIFY(pawtrait::hub::read_complete_marker(folder.toStdString()).has_value());
    QVERIFY(!dialog.downloading());

    DownloadDialog again;
    auto* cached = again.findChild<QListWidget*>(QStringLiteral("cachedModels"));
    QCOMPARE(cached->count(), 1);
    QVERIFY(cached->item(0)->text().contains(QStringLiteral("pawtrait-test/sd-tiny")));
    if (qEnvironmentVariableIsSet("PAWTRAIT_SCREENSHOT_DIR")) {
      again.show();
      QVERIFY(QTest::qWaitForWindowExposed(&again));
      again.grab().save(qEnvironmentVariable("PAWTRAIT_SCREENSHOT_DIR") + QStringLiteral("/download-dialog.png"));
    }
  }

  void aMissingRepoSaysSo() {
    DownloadDialog dialog;
    dialog.setRepoId(QStringLiteral("pawtrait-test/no-such-model"));
    QSignalSpy ready(&dialog, &DownloadDialog::modelReady);
    // The error also shows in a message box; close it as a user would.
    auto* status = dialog.findChild<QLabel*>(QStringLiteral("downloadStatus"));
    QTimer closer;
    connect(&closer, &QTimer::timeout, [] {
      if (auto* box = qobject_cast<QDialog*>(QApplication::activeModalWidget())) box->reject();
    });
    closer.start(50);
    dialog.startDownload();
    QTRY_VERIFY_WITH_TIMEOUT(!dialog.downloading(), 30000);
    QCOMPARE(ready.count(), 0);
    QVERIFY2(status->text().contains(QStringLiteral("no-such-model")), qPrintable(status->text()));
  }

 private:
  QTemporaryDir m_data;
  pawtrait::testing::FakeHub m_hub;
};

QTEST_MAIN(DownloadDialogTest)
#include "download_dialog_test.moc"
