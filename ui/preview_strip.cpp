#include "preview_strip.h"

#include <QApplication>
#include <QDialog>
#include <QDialogButtonBox>
#include <QKeyEvent>
#include <QLabel>
#include <QListWidget>
#include <QPainter>
#include <QScreen>
#include <QScrollBar>
#include <QStyledItemDelegate>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <functional>

namespace {

constexpr int kPadding = 6;     // around an entry's pictures, inside its highlight
constexpr int kCaptionGap = 4;  // between the pictures and "step N"

QString captionFor(int step) { return PreviewStrip::tr("step %1").arg(QLocale().toString(step)); }

// Side by side at the height of the tallest, with a thin transparent gap that shows the view's
// background between pictures.
QImage composeSideBySide(const QList<QImage>& images) {
  int height = 0;
  for (const QImage& image : images)
    if (!image.isNull()) height = std::max(height, image.height());
  if (height == 0) return {};

  QList<QImage> scaled;
  int width = 0;
  const int gap = std::max(2, height / 32);
  for (const QImage& image : images) {
    if (image.isNull()) continue;
    // Pixel-art previews are enlarged without smoothing; anything larger is never enlarged.
    scaled.append(image.height() == height ? image : image.scaledToHeight(height, Qt::FastTransformation));
    width += scaled.last().width() + (scaled.size() > 1 ? gap : 0);
  }
  QImage composed(width, height, QImage::Format_ARGB32_Premultiplied);
  composed.fill(Qt::transparent);
  QPainter painter(&composed);
  int x = 0;
  for (const QImage& image : scaled) {
    painter.drawImage(x, 0, image);
    x += image.width() + gap;
  }
  return composed;
}

// The row itself: says what will appear while it is empty, opens an entry on Enter, and is
// exactly one entry high.
class PreviewList : public QListWidget {
 public:
  using QListWidget::QListWidget;

  std::function<void(int)> onActivate;

  int rowHeight() const {
    const int entry = kPadding + PreviewStrip::kThumbnailHeight + kCaptionGap + fontMetrics().height() + kPadding;
    return entry + 2 * spacing() + 2 * frameWidth() + horizontalScrollBar()->sizeHint().height();
  }
  QSize sizeHint() const override { return {QListWidget::sizeHint().width(), rowHeight()}; }
  QSize minimumSizeHint() const override { return {QListWidget::minimumSizeHint().width(), rowHeight()}; }

 protected:
  void keyPressEvent(QKeyEvent* event) override {
    if ((event->key() == Qt::Key_Return || event->key() == Qt::Key_Enter) && currentRow() >= 0 && onActivate) {
      onActivate(currentRow());
      return;
    }
    QListWidget::keyPressEvent(event);
  }

  void paintEvent(QPaintEvent* event) override {
    QListWidget::paintEvent(event);
    if (count() > 0) return;
    QPainter painter(viewport());
    const QRect area = viewport()->rect().adjusted(8, 8, -8, -8);
    QPen pen(palette().color(QPalette::Mid));
    pen.setStyle(Qt::DashLine);
    pen.setWidth(2);
    painter.setPen(pen);
    painter.drawRoundedRect(area, 10, 10);
    painter.setPen(palette().color(QPalette::PlaceholderText));
    painter.drawText(area, Qt::AlignCenter | Qt::TextWordWrap,
                     PreviewStrip::tr("Preview pictures appear here as training goes"));
  }
};

}  // namespace

// Paints an entry from the strip's cached thumbnail (rescaled only when the device pixel ratio
// changes, e.g. the window moved to another screen) with its caption underneath.
class PreviewStrip::Delegate : public QStyledItemDelegate {
 public:
  explicit Delegate(PreviewStrip* strip) : QStyledItemDelegate(strip), m_strip(strip) {}

  QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override {
    const QSize thumb = m_strip->thumbnailSize(index.row());
    const QFontMetrics metrics(option.font);
    const int width = std::max(thumb.width(), metrics.horizontalAdvance(captionFor(m_strip->stepAt(index.row()))));
    return {kPadding + width + kPadding, kPadding + thumb.height() + kCaptionGap + metrics.height() + kPadding};
  }

  void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override {
    QStyleOptionViewItem opt = option;
    initStyleOption(&opt, index);
    opt.text.clear();
    opt.icon = QIcon();
    const QWidget* widget = opt.widget;
    QStyle* style = widget != nullptr ? widget->style() : QApplication::style();
    style->drawPrimitive(QStyle::PE_PanelItemViewItem, &opt, painter, widget);

    const int row = index.row();
    const QRect inner = opt.rect.adjusted(kPadding, kPadding, -kPadding, -kPadding);
    const QSize thumbSize = m_strip->thumbnailSize(row);
    const QRect thumbRect(QPoint(inner.x() + (inner.width() - thumbSize.width()) / 2, inner.y()), thumbSize);
    const qreal dpr = widget != nullptr ? widget->devicePixelRatioF() : painter->device()->devicePixelRatioF();
    const QPixmap pixmap = m_strip->thumbnail(row, dpr);
    if (pixmap.isNull()) {
      painter->save();
      painter->setPen(QPen(opt.palette.color(QPalette::Mid), 1, Qt::DashLine));
      painter->drawRect(thumbRect.adjusted(0, 0, -1, -1));
      painter->restore();
    } else {
      painter->drawPixmap(thumbRect, pixmap);
    }

    const QRect captionRect(inner.x(), thumbRect.bottom() + 1 + kCaptionGap, inner.width(),
                            inner.bottom() - thumbRect.bottom() - kCaptionGap);
    const bool selected = opt.state.testFlag(QStyle::State_Selected);
    painter->save();
    painter->setPen(opt.palette.color(selected ? QPalette::HighlightedText : QPalette::Text));
    painter->setFont(opt.font);
    painter->drawText(
        captionRect, Qt::AlignHCenter | Qt::AlignTop,
        opt.fontMetrics.elidedText(captionFor(m_strip->stepAt(row)), Qt::ElideRight, captionRect.width()));
    painter->restore();

    if (opt.state.testFlag(QStyle::State_HasFocus)) {
      QStyleOptionFocusRect focus;
      focus.QStyleOption::operator=(opt);
      focus.rect = opt.rect.adjusted(1, 1, -1, -1);
      style->drawPrimitive(QStyle::PE_FrameFocusRect, &focus, painter, widget);
    }
  }

 private:
  PreviewStrip* m_strip;
};

PreviewStrip::PreviewStrip(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("previewStrip"));
  auto* list = new PreviewList(this);
  m_list = list;
  m_list->setObjectName(QStringLiteral("previewList"));
  m_list->setAccessibleName(tr("Preview pictures"));
  m_list->setAccessibleDescription(tr("The sample pictures of each preview step, oldest first"));
  m_list->setFlow(QListView::LeftToRight);
  m_list->setWrapping(false);
  m_list->setMovement(QListView::Static);
  m_list->setResizeMode(QListView::Fixed);
  m_list->setSpacing(4);
  m_list->setSelectionMode(QAbstractItemView::SingleSelection);
  m_list->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_list->setHorizontalScrollMode(QAbstractItemView::ScrollPerPixel);
  m_list->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  m_list->setItemDelegate(new Delegate(this));
  list->onActivate = [this](int row) { activate(row); };
  connect(m_list, &QListWidget::clicked, this, [this](const QModelIndex& index) { activate(index.row()); });
  // The list lays its items out lazily, so the scroll range grows after addPreview returns:
  // a row that was at its end follows the range; one the user scrolled back stays put.
  QScrollBar* bar = m_list->horizontalScrollBar();
  connect(bar, &QScrollBar::valueChanged, this,
          [this, bar](int value) { m_followNewest = value >= bar->maximum() - kPadding; });
  connect(bar, &QScrollBar::rangeChanged, this, [this, bar](int, int maximum) {
    if (m_followNewest) bar->setValue(maximum);
  });

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_list);
  setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
}

void PreviewStrip::addPreview(int step, const QList<QImage>& images) {
  const bool followNewest = m_followNewest;

  Entry entry;
  entry.step = step;
  entry.image = composeSideBySide(images);
  m_entries.append(entry);
  const int row = static_cast<int>(m_entries.size()) - 1;
  thumbnail(row, m_list->devicePixelRatioF());  // scale once now, not while painting

  int pictures = 0;
  for (const QImage& image : images) pictures += image.isNull() ? 0 : 1;
  auto* item = new QListWidgetItem;
  item->setText(captionFor(step));  // for keyboard search and accessibility; the delegate paints it
  item->setToolTip(tr("Step %1: %n picture(s). Click to enlarge.", nullptr, pictures).arg(QLocale().toString(step)));
  item->setData(Qt::AccessibleTextRole, tr("Preview at step %1", nullptr).arg(QLocale().toString(step)));
  item->setData(Qt::AccessibleDescriptionRole, tr("%n picture(s)", nullptr, pictures));
  m_list->addItem(item);
  if (followNewest) {
    m_list->scrollToItem(item);  // lays the items out, so the scroll bar's range is current
    m_list->horizontalScrollBar()->setValue(m_list->horizontalScrollBar()->maximum());
  }
}

void PreviewStrip::clear() {
  m_list->clear();
  m_entries.clear();
  if (m_dialog != nullptr) m_dialog->hide();
}

int PreviewStrip::count() const { return static_cast<int>(m_entries.size()); }

QImage PreviewStrip::imageAt(int index) const {
  return index >= 0 && index < count() ? m_entries[index].image : QImage();
}

int PreviewStrip::stepAt(int index) const { return index >= 0 && index < count() ? m_entries[index].step : -1; }

QSize PreviewStrip::thumbnailSize(int index) const {
  const QImage& image = m_entries[index].image;
  if (image.isNull()) return {kThumbnailHeight, kThumbnailHeight};
  return {static_cast<int>(std::lround(double(image.width()) * kThumbnailHeight / image.height())), kThumbnailHeight};
}

QPixmap PreviewStrip::thumbnail(int index, qreal devicePixelRatio) {
  Entry& entry = m_entries[index];
  if (entry.image.isNull()) return {};
  if (entry.thumbnail.isNull() || entry.thumbnail.devicePixelRatio() != devicePixelRatio) {
    const QSize device = thumbnailSize(index) * devicePixelRatio;
    const Qt::TransformationMode mode =
        entry.image.height() < device.height() ? Qt::FastTransformation : Qt::SmoothTransformation;
    entry.thumbnail = QPixmap::fromImage(entry.image.scaled(device, Qt::IgnoreAspectRatio, mode));
    entry.thumbnail.setDevicePixelRatio(devicePixelRatio);
  }
  return entry.thumbnail;
}

void PreviewStrip::activate(int index) {
  if (index < 0 || index >= count()) return;
  emit previewActivated(index);
  showEnlarged(index);
}

void PreviewStrip::showEnlarged(int index) {
  if (m_dialog == nullptr) {
    m_dialog = new QDialog(this);
    m_dialog->setObjectName(QStringLiteral("previewDialog"));
    m_dialogImage = new QLabel(m_dialog);
    m_dialogImage->setObjectName(QStringLiteral("previewDialogImage"));
    m_dialogImage->setAlignment(Qt::AlignCenter);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, m_dialog);
    connect(buttons, &QDialogButtonBox::rejected, m_dialog, &QDialog::reject);
    auto* layout = new QVBoxLayout(m_dialog);
    layout->addWidget(m_dialogImage, 1);
    layout->addWidget(buttons);
  }
  const Entry& entry = m_entries[index];
  const QString title = tr("Preview at step %1").arg(QLocale().toString(entry.step));
  m_dialog->setWindowTitle(title);
  m_dialogImage->setAccessibleName(title);

  const QImage& image = entry.image;
  if (image.isNull()) {
    m_dialogImage->setText(tr("No picture at this step"));
  } else {
    const qreal dpr = devicePixelRatioF();
    const QScreen* where = screen();
    const QSize room = where != nullptr ? where->availableGeometry().size() * 0.8 : QSize(1024, 768);
    const double fit = std::min(double(room.width()) / image.width(), double(room.height()) / image.height());
    QSize logical;
    Qt::TransformationMode mode = Qt::SmoothTransformation;
    if (fit >= 2.0) {
      // Small previews: a whole factor in device pixels, so every source pixel stays a sharp square.
      const int factor = std::clamp(static_cast<int>(std::floor(fit * dpr)), 1, static_cast<int>(8 * dpr));
      logical = image.size() * factor / dpr;
      mode = Qt::FastTransformation;
    } else {
      logical = image.size() * std::min(fit, 1.0);
    }
    QPixmap pixmap = QPixmap::fromImage(image.scaled(logical * dpr, Qt::KeepAspectRatio, mode));
    pixmap.setDevicePixelRatio(dpr);
    m_dialogImage->setPixmap(pixmap);
  }
  m_dialog->adjustSize();
  m_dialog->show();
  m_dialog->raise();
  m_dialog->activateWindow();
}
