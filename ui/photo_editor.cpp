#include "photo_editor.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFile>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QPushButton>
#include <QTransform>
#include <QVBoxLayout>
#include <algorithm>
#include <exception>

#include "imaging/aspect_buckets.h"
#include "imaging/photo.h"
#include "imaging/subject_box.h"

namespace {

constexpr int kMinimumBox = 16;   // photo pixels: smaller boxes are not worth training on
constexpr int kCornerReach = 12;  // screen pixels around a corner that grab it

pawtrait::imaging::RgbImage rgb_of(const QImage& image) {
  const QImage rgb = image.convertToFormat(QImage::Format_RGB888);
  pawtrait::imaging::RgbImage out{rgb.width(), rgb.height(), {}};
  out.rgb.reserve(static_cast<std::size_t>(rgb.width()) * rgb.height() * 3);
  for (int y = 0; y < rgb.height(); ++y) {
    const auto* line = rgb.constScanLine(y);
    out.rgb.insert(out.rgb.end(), line, line + rgb.width() * 3);
  }
  return out;
}

}  // namespace

// The photo and its box, drawn to fit; the mouse moves, resizes or redraws the box.
class PhotoCanvas : public QWidget {
 public:
  explicit PhotoCanvas(PhotoEditor* editor) : QWidget(editor), m_editor(editor) {
    setMinimumSize(480, 360);
    setMouseTracking(true);
    setObjectName(QStringLiteral("photoEditorCanvas"));
  }

  double scale() const {
    const QImage& photo = m_editor->m_photo;
    if (photo.isNull()) return 1.0;
    return std::min(static_cast<double>(width()) / photo.width(), static_cast<double>(height()) / photo.height());
  }
  QPointF offset() const {
    const QImage& photo = m_editor->m_photo;
    const double s = scale();
    return {(width() - photo.width() * s) / 2.0, (height() - photo.height() * s) / 2.0};
  }
  QRectF toScreen(const QRect& r) const {
    const double s = scale();
    return {offset().x() + r.x() * s, offset().y() + r.y() * s, r.width() * s, r.height() * s};
  }
  QPoint toPhoto(const QPointF& p) const {
    const double s = scale();
    return {static_cast<int>(std::lround((p.x() - offset().x()) / s)),
            static_cast<int>(std::lround((p.y() - offset().y()) / s))};
  }

 protected:
  void paintEvent(QPaintEvent*) override {
    QPainter painter(this);
    painter.fillRect(rect(), palette().window());
    const QImage& photo = m_editor->m_photo;
    if (photo.isNull()) return;
    const QRectF shown = toScreen(photo.rect());
    painter.drawImage(shown, photo);
    const QRectF box = toScreen(m_editor->m_box);
    QPainterPath outside;
    outside.addRect(shown);
    outside.addRect(box);
    painter.fillPath(outside, QColor(0, 0, 0, 140));  // what is not trained on, dimmed
    const QRectF trained = toScreen(m_editor->trainedRegion());
    painter.setPen(QPen(Qt::white, 1, Qt::DashLine));
    painter.drawRect(trained);
    painter.setPen(QPen(QColor(255, 200, 0), 2));
    painter.drawRect(box);
    painter.setBrush(QColor(255, 200, 0));
    for (const QPointF& corner : {box.topLeft(), box.topRight(), box.bottomLeft(), box.bottomRight()}) {
      painter.drawEllipse(corner, 5, 5);
    }
  }

  void mousePressEvent(QMouseEvent* event) override {
    if (m_editor->m_photo.isNull() || event->button() != Qt::LeftButton) return;
    const QPointF at = event->position();
    const QRectF box = toScreen(m_editor->m_box);
    const QPointF corners[] = {box.topLeft(), box.topRight(), box.bottomLeft(), box.bottomRight()};
    const QPointF opposite[] = {box.bottomRight(), box.bottomLeft(), box.topRight(), box.topLeft()};
    for (int i = 0; i < 4; ++i) {
      if (QLineF(at, corners[i]).length() <= kCornerReach) {
        m_mode = Mode::Resize;
        m_anchor = toPhoto(opposite[i]);
        return;
      }
    }
    if (box.contains(at)) {
      m_mode = Mode::Move;
      m_grab = toPhoto(at) - m_editor->m_box.topLeft();
    } else {
      m_mode = Mode::Resize;  // a new box from here
      m_anchor = toPhoto(at);
    }
  }

  void mouseMoveEvent(QMouseEvent* event) override {
    if (m_mode == Mode::None) return;
    const QRect bounds = m_editor->m_photo.rect();
    const QPoint at = toPhoto(event->position());
    QRect box = m_editor->m_box;
    if (m_mode == Mode::Move) {
      box.moveTopLeft(at - m_grab);
      box.moveLeft(std::clamp(box.left(), 0, bounds.width() - box.width()));
      box.moveTop(std::clamp(box.top(), 0, bounds.height() - box.height()));
    } else {
      const QPoint corner(std::clamp(at.x(), 0, bounds.width()), std::clamp(at.y(), 0, bounds.height()));
      box = QRect(QPoint(std::min(corner.x(), m_anchor.x()), std::min(corner.y(), m_anchor.y())),
                  QSize(std::abs(corner.x() - m_anchor.x()), std::abs(corner.y() - m_anchor.y())));
      if (box.width() < kMinimumBox || box.height() < kMinimumBox) return;
    }
    m_editor->m_box = box & bounds;
    m_editor->m_suggested = false;
    m_editor->updateCaption();
    update();
  }

  void mouseReleaseEvent(QMouseEvent*) override { m_mode = Mode::None; }

 private:
  enum class Mode { None, Move, Resize };
  PhotoEditor* m_editor;
  Mode m_mode = Mode::None;
  QPoint m_anchor, m_grab;
};

PhotoEditor::PhotoEditor(const QString& path, const pawtrait::imaging::PhotoEdit& edit, bool excluded, int resolution,
                         int bucketStep, QWidget* parent)
    : QDialog(parent), m_turns(edit.quarter_turns), m_resolution(resolution), m_step(bucketStep) {
  setWindowTitle(tr("What training sees: %1").arg(QFileInfo(path).fileName()));
  m_canvas = new PhotoCanvas(this);
  m_caption = new QLabel;
  m_caption->setWordWrap(true);
  m_caption->setObjectName(QStringLiteral("photoEditorCaption"));
  auto* left = new QPushButton(tr("Turn left"));
  auto* right = new QPushButton(tr("Turn right"));
  auto* whole = new QPushButton(tr("Whole photo"));
  auto* suggest = new QPushButton(tr("Find my pet"));
  left->setObjectName(QStringLiteral("turnLeft"));
  right->setObjectName(QStringLiteral("turnRight"));
  whole->setObjectName(QStringLiteral("wholePhoto"));
  suggest->setObjectName(QStringLiteral("findPet"));
  suggest->setToolTip(tr("Put the box where the photo's colours stand out from its edges: a guess, check it"));
  m_use = new QCheckBox(tr("Use this photo for training"));
  m_use->setObjectName(QStringLiteral("usePhoto"));
  m_use->setChecked(!excluded);
  auto* tools = new QHBoxLayout;
  for (QWidget* w : std::initializer_list<QWidget*>{left, right, whole, suggest}) tools->addWidget(w);
  tools->addStretch();
  tools->addWidget(m_use);
  m_caption_edit = new QLineEdit;
  m_caption_edit->setObjectName(QStringLiteral("photoCaption"));
  m_caption_edit->setPlaceholderText(tr("Optional: what is particular to this photo, e.g. lying on the grass"));
  m_caption_edit->setToolTip(
      tr("Added to the prompt this photo trains under (“a photo of sks dog, lying on the "
         "grass”), so that the model learns the pet, not the grass; the previews use the "
         "plain prompt"));
  auto* captionRow = new QHBoxLayout;
  auto* captionLabel = new QLabel(tr("&Caption:"));
  captionLabel->setBuddy(m_caption_edit);
  captionRow->addWidget(captionLabel);
  captionRow->addWidget(m_caption_edit, 1);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(m_canvas, 1);
  layout->addWidget(m_caption);
  layout->addLayout(tools);
  layout->addLayout(captionRow);
  layout->addWidget(buttons);
  connect(left, &QPushButton::clicked, this, [this] { turn(-1); });
  connect(right, &QPushButton::clicked, this, [this] { turn(1); });
  connect(whole, &QPushButton::clicked, this, &PhotoEditor::useWholePhoto);
  connect(suggest, &QPushButton::clicked, this, &PhotoEditor::useSuggestion);
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  resize(760, 640);

  try {
    const auto photo = pawtrait::imaging::load_photo(QFile::encodeName(path).toStdString());
    m_original = QImage(photo.rgb.data(), static_cast<int>(photo.width), static_cast<int>(photo.height),
                        static_cast<int>(photo.width * 3), QImage::Format_RGB888)
                     .copy();
  } catch (const std::exception& e) {
    m_caption->setText(tr("This photo cannot be shown: %1").arg(QString::fromStdString(e.what())));
    for (QWidget* w : std::initializer_list<QWidget*>{left, right, whole, suggest}) w->setEnabled(false);
    return;
  }
  showTurned();
  if (edit.box) {
    m_box = QRect(static_cast<int>(edit.box->x), static_cast<int>(edit.box->y), static_cast<int>(edit.box->width),
                  static_cast<int>(edit.box->height)) &
            m_photo.rect();
    if (m_box.width() < kMinimumBox || m_box.height() < kMinimumBox) m_box = m_photo.rect();
  } else {
    useSuggestion();
  }
  updateCaption();
}

void PhotoEditor::showTurned() {
  m_photo = m_original.transformed(QTransform().rotate(90.0 * m_turns));
  m_box = m_photo.rect();
}

void PhotoEditor::turn(int quarters) {
  if (m_original.isNull()) return;
  m_turns = ((m_turns + quarters) % 4 + 4) % 4;
  showTurned();
  useSuggestion();
}

void PhotoEditor::useWholePhoto() {
  if (m_photo.isNull()) return;
  m_box = m_photo.rect();
  m_suggested = false;
  updateCaption();
  m_canvas->update();
}

void PhotoEditor::useSuggestion() {
  if (m_photo.isNull()) return;
  const auto b = pawtrait::imaging::suggest_subject_box(rgb_of(m_photo));
  m_box = QRect(static_cast<int>(b.x), static_cast<int>(b.y), static_cast<int>(b.width), static_cast<int>(b.height));
  m_suggested = m_box != m_photo.rect();
  updateCaption();
  m_canvas->update();
}

QSize PhotoEditor::bucket() const {
  if (m_box.isEmpty()) return {};
  const auto b = pawtrait::imaging::nearest_bucket(m_box.width(), m_box.height(),
                                                   pawtrait::imaging::aspect_buckets(m_resolution, m_step));
  return {static_cast<int>(b.width), static_cast<int>(b.height)};
}

QRect PhotoEditor::trainedRegion() const {
  const QSize size = bucket();
  if (size.isEmpty()) return {};
  const auto crop = pawtrait::imaging::bucket_crop(m_box.width(), m_box.height(), {size.width(), size.height()});
  const double s = static_cast<double>(m_box.width()) / static_cast<double>(crop.resized_width);
  return QRect(m_box.x() + static_cast<int>(std::lround(crop.left * s)),
               m_box.y() + static_cast<int>(std::lround(crop.top * s)), static_cast<int>(std::lround(size.width() * s)),
               static_cast<int>(std::lround(size.height() * s)));
}

QRect PhotoEditor::canvasRectOf(const QRect& photoRect) const {
  return static_cast<PhotoCanvas*>(m_canvas)->toScreen(photoRect).toRect();
}

void PhotoEditor::updateCaption() {
  const QSize size = bucket();
  const QString trains = tr("Trains at %1×%2: the dashed part of the box.").arg(size.width()).arg(size.height());
  m_caption->setText(m_suggested ? tr("The box is where Pawtrait thinks your pet is; drag it or its corners if it is "
                                      "wrong. %1")
                                       .arg(trains)
                                 : tr("Drag the box or its corners, or drag a new one. %1").arg(trains));
}

pawtrait::imaging::PhotoEdit PhotoEditor::edit() const {
  pawtrait::imaging::PhotoEdit e;
  e.quarter_turns = m_turns;
  if (!m_photo.isNull() && m_box != m_photo.rect())
    e.box = pawtrait::imaging::CropBox{m_box.x(), m_box.y(), m_box.width(), m_box.height()};
  return e;
}

bool PhotoEditor::excluded() const { return !m_use->isChecked(); }

void PhotoEditor::setCaption(const QString& caption) { m_caption_edit->setText(caption); }

QString PhotoEditor::caption() const { return m_caption_edit->text().simplified(); }
