#pragma once

#include <QDialog>

#include <atomic>
#include <memory>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QProgressBar;
class QPushButton;
class QThread;

// Getting a base model: well-known Stable Diffusion models or any diffusers repo on the
// Hugging Face hub, downloaded on a thread of its own with progress and Cancel (a cancelled
// download resumes next time), plus the models already downloaded. Emits modelReady with
// the model folder when one is chosen or finished.
class DownloadDialog : public QDialog {
  Q_OBJECT

 public:
  explicit DownloadDialog(QWidget* parent = nullptr);
  ~DownloadDialog() override;

  // The repo id the dialog would download now ("org/name"); setting a well-known one selects it
  // by name in the list.
  QString repoId() const;
  void setRepoId(const QString& repo);
  bool downloading() const { return m_thread != nullptr; }

  void startDownload();

 Q_SIGNALS:
  void modelReady(const QString& folder);

 protected:
  void reject() override;

 private:
  void refreshCached();
  void finished(const QString& folder, const QString& error, bool cancelled);

  QComboBox* m_known = nullptr;
  QLineEdit* m_repo = nullptr;
  QCheckBox* m_fp16 = nullptr;
  QLineEdit* m_token = nullptr;
  QListWidget* m_cached = nullptr;
  QProgressBar* m_progress = nullptr;
  QLabel* m_status = nullptr;
  QPushButton* m_download = nullptr;
  QPushButton* m_use = nullptr;
  QThread* m_thread = nullptr;
  std::shared_ptr<std::atomic<bool>> m_cancel;
};
