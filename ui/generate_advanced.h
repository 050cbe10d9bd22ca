#pragma once

#include <QWidget>

#include "pipeline/generate_request.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QSpinBox;

// The Generate tab's less common settings: a VAE in place of the model's own, how prompts are
// cleaned before tokenizing, and SDXL's micro-conditioning (the original size, crop corner and
// target size it is told the picture has). Reads them from and into a GenerateRequest.
class GenerateAdvanced : public QWidget {
  Q_OBJECT

 public:
  explicit GenerateAdvanced(QWidget* parent = nullptr);

  // The size settings count for models that read them (SDXL); elsewhere they are disabled.
  void setSizeConditioned(bool on);
  bool sizeConditioned() const { return m_sizeConditioned; }
  // A model that decodes with its own VAE only (FLUX.2 [klein]) has the VAE setting disabled;
  // one whose tokenizer is not CLIP's has the prompt cleanup disabled. Neither is then written.
  void setVaeReplaceable(bool on);
  void setClipPrompts(bool on);
  // Writes these settings into `request` (the size ones only for a size-conditioned model).
  void writeTo(pawtrait::pipeline::GenerateRequest& request) const;
  // Shows the settings `request` was made with (a picture dropped on the window).
  void readFrom(const pawtrait::pipeline::GenerateRequest& request);

 private:
  void chooseVae();
  QSpinBox* sizeBox(const QString& special, const QString& tip) const;

  bool m_sizeConditioned = false;
  bool m_vaeReplaceable = true;
  bool m_clipPrompts = true;
  QWidget* m_vaeRow = nullptr;
  QLineEdit* m_vae = nullptr;
  QComboBox* m_cleanup = nullptr;
  QWidget* m_sizes = nullptr;
  QLabel* m_sizesNote = nullptr;
  QSpinBox *m_originalWidth = nullptr, *m_originalHeight = nullptr;
  QSpinBox *m_cropLeft = nullptr, *m_cropTop = nullptr;
  QSpinBox *m_targetWidth = nullptr, *m_targetHeight = nullptr;
  // A picture's negative-branch sizes have no controls; kept so that re-running it is exact.
  std::optional<pawtrait::pipeline::GenerateRequest::Pair> m_negativeOriginal, m_negativeCrop, m_negativeTarget;
};
