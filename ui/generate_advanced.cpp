#include "generate_advanced.h"

#include <QComboBox>
#include <QFile>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QToolButton>

namespace pipeline = pawtrait::pipeline;
using Pair = pipeline::GenerateRequest::Pair;

namespace {

// A width and a height side by side, read as the (height, width) pair the request holds;
// unset while either is 0.
std::optional<Pair> size_pair(const QSpinBox* width, const QSpinBox* height) {
  if (width->value() == 0 || height->value() == 0) return std::nullopt;
  return Pair{height->value(), width->value()};
}

void show_pair(const std::optional<Pair>& pair, QSpinBox* first, QSpinBox* second) {
  // The request's pairs are (height, width) and (top, left); the boxes show width/left first.
  first->setValue(pair ? static_cast<int>((*pair)[1]) : 0);
  second->setValue(pair ? static_cast<int>((*pair)[0]) : 0);
}

QWidget* side_by_side(QWidget* a, const QString& between, QWidget* b) {
  auto* row = new QWidget;
  auto* layout = new QHBoxLayout(row);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(a);
  layout->addWidget(new QLabel(between));
  layout->addWidget(b);
  layout->addStretch(1);
  return row;
}

}  // namespace

GenerateAdvanced::GenerateAdvanced(QWidget* parent) : QWidget(parent) {
  auto* form = new QFormLayout(this);
  form->setContentsMargins(0, 0, 0, 0);

  m_vae = new QLineEdit;
  m_vae->setObjectName(QStringLiteral("vae"));
  m_vae->setPlaceholderText(tr("the model's own"));
  m_vae->setToolTip(
      tr("A VAE file or folder to decode the pictures with instead of the model's own, such as "
         "the fp16-fix VAE for SDXL"));
  auto* chooseVae = new QToolButton;
  chooseVae->setText(tr("Choose…"));
  connect(chooseVae, &QToolButton::clicked, this, &GenerateAdvanced::chooseVae);
  m_vaeRow = new QWidget;
  auto* vaeRow = new QHBoxLayout(m_vaeRow);
  vaeRow->setContentsMargins(0, 0, 0, 0);
  vaeRow->addWidget(m_vae, 1);
  vaeRow->addWidget(chooseVae);
  form->addRow(tr("VAE:"), m_vaeRow);

  m_cleanup = new QComboBox;
  m_cleanup->setObjectName(QStringLiteral("promptCleanup"));
  m_cleanup->addItem(tr("As current diffusers (transformers 5)"), QStringLiteral("nfc"));
  m_cleanup->addItem(tr("As older tools (transformers 4 with ftfy)"), QStringLiteral("ftfy"));
  m_cleanup->setToolTip(
      tr("How prompts are tidied before the text encoder reads them. The older way also turns "
         "&amp; into &, curly quotes into straight ones and full-width letters into plain ones; "
         "choose it to remake a picture from a setup that used it"));
  form->addRow(tr("Prompts read:"), m_cleanup);

  m_sizes = new QWidget;
  auto* sizes = new QFormLayout(m_sizes);
  sizes->setContentsMargins(0, 0, 0, 0);
  m_originalWidth = sizeBox(tr("the picture's"), tr("The width of the photo SDXL is told it started from"));
  m_originalHeight = sizeBox(tr("the picture's"), tr("The height of the photo SDXL is told it started from"));
  m_cropLeft = sizeBox(QString(), tr("Where SDXL is told the picture was cut from that photo, from the left"));
  m_cropTop = sizeBox(QString(), tr("Where SDXL is told the picture was cut from that photo, from the top"));
  m_targetWidth = sizeBox(tr("the picture's"), tr("The width SDXL is told the picture is meant to have"));
  m_targetHeight = sizeBox(tr("the picture's"), tr("The height SDXL is told the picture is meant to have"));
  m_originalWidth->setObjectName(QStringLiteral("originalWidth"));
  m_originalHeight->setObjectName(QStringLiteral("originalHeight"));
  m_cropLeft->setSingleStep(8);
  m_cropTop->setSingleStep(8);
  m_cropLeft->setObjectName(QStringLiteral("cropLeft"));
  m_cropTop->setObjectName(QStringLiteral("cropTop"));
  sizes->addRow(tr("Original size:"), side_by_side(m_originalWidth, QStringLiteral("×"), m_originalHeight));
  sizes->addRow(tr("Crop corner:"), side_by_side(m_cropLeft, QStringLiteral(","), m_cropTop));
  sizes->addRow(tr("Target size:"), side_by_side(m_targetWidth, QStringLiteral("×"), m_targetHeight));
  m_sizes->setToolTip(
      tr("SDXL learned each photo's original size and crop: a large original size and a (0, 0) "
         "corner ask for a sharp, whole subject; a small size looks upscaled, a corner off (0, 0) "
         "cut off"));
  m_sizesNote = new QLabel(tr("(SDXL models only)"));
  auto* sizesHeader = new QLabel(tr("SDXL sizes:"));
  sizesHeader->setToolTip(m_sizes->toolTip());
  form->addRow(sizesHeader, m_sizesNote);
  form->addRow(m_sizes);
  setSizeConditioned(false);
}

QSpinBox* GenerateAdvanced::sizeBox(const QString& special, const QString& tip) const {
  auto* box = new QSpinBox;
  box->setRange(0, 8192);
  box->setSingleStep(64);
  if (!special.isEmpty()) box->setSpecialValueText(special);
  box->setToolTip(tip);
  return box;
}

void GenerateAdvanced::setSizeConditioned(bool on) {
  m_sizeConditioned = on;
  m_sizes->setEnabled(on);
  m_sizesNote->setVisible(!on);
}

void GenerateAdvanced::setVaeReplaceable(bool on) {
  m_vaeReplaceable = on;
  m_vaeRow->setEnabled(on);
  m_vae->setPlaceholderText(on ? tr("the model's own") : tr("the model's own (the only one it works with)"));
}

void GenerateAdvanced::setClipPrompts(bool on) {
  m_clipPrompts = on;
  m_cleanup->setEnabled(on);
  if (!on) m_cleanup->setCurrentIndex(0);
}

void GenerateAdvanced::chooseVae() {
  const QString file = QFileDialog::getOpenFileName(this, tr("Choose a VAE"), QString(),
                                                    tr("VAE weights (*.safetensors);;All files (*)"));
  if (!file.isEmpty()) m_vae->setText(file);
}

void GenerateAdvanced::writeTo(pipeline::GenerateRequest& r) const {
  r.vae = m_vaeReplaceable ? QFile::encodeName(m_vae->text().trimmed()).toStdString() : std::string();
  r.prompt_cleanup = m_clipPrompts ? m_cleanup->currentData().toString().toStdString() : std::string("nfc");
  if (!m_sizeConditioned) return;
  r.original_size = size_pair(m_originalWidth, m_originalHeight);
  if (m_cropLeft->value() != 0 || m_cropTop->value() != 0) {
    r.crops_coords_top_left = Pair{m_cropTop->value(), m_cropLeft->value()};
  }
  r.target_size = size_pair(m_targetWidth, m_targetHeight);
  r.negative_original_size = m_negativeOriginal;
  r.negative_crops_coords_top_left = m_negativeCrop;
  r.negative_target_size = m_negativeTarget;
}

void GenerateAdvanced::readFrom(const pipeline::GenerateRequest& r) {
  m_vae->setText(QFile::decodeName(r.vae.c_str()));
  const int cleanup = m_cleanup->findData(QString::fromStdString(r.prompt_cleanup));
  m_cleanup->setCurrentIndex(cleanup >= 0 ? cleanup : 0);
  show_pair(r.original_size, m_originalWidth, m_originalHeight);
  show_pair(r.crops_coords_top_left, m_cropLeft, m_cropTop);
  show_pair(r.target_size, m_targetWidth, m_targetHeight);
  m_negativeOriginal = r.negative_original_size;
  m_negativeCrop = r.negative_crops_coords_top_left;
  m_negativeTarget = r.negative_target_size;
}
