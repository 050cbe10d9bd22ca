#include "photo_model.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QPainter>
#include <QPainterPath>
#include <QSet>
#include <QThreadPool>
#include <QTransform>
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <mutex>

#include "imaging/photo.h"

namespace fs = std::filesystem;
namespace imaging = pawtrait::imaging;

// How the model and its workers meet. A worker posts its result only through post(), under the
// mutex, and the destructor clears `model` under it too: so no worker posts to a model being
// destroyed, and what was posted before is deleted with the model (~QObject removes the events
// still queued for it). `alive` lets queued work skip its decode once nobody wants the result.
struct PhotoModel::Link {
  std::mutex mutex;
  PhotoModel* model = nullptr;
  std::atomic_bool alive{true};

  template <typename F>
  void post(F&& apply) {
    std::lock_guard lock(mutex);
    if (model == nullptr) return;
    PhotoModel* target = model;
    QMetaObject::invokeMethod(
        target, [target, apply = std::forward<F>(apply)] { apply(*target); }, Qt::QueuedConnection);
  }
};

// A check's result, by photo id rather than row: rows may move or go while it runs.
struct PhotoModel::Verdicts {
  struct Entry {
    quint64 id = 0;
    Verdict verdict = Verdict::Checking;
    QString reason;
    qint64 width = 0, height = 0;
    QString warning;
  };
  std::vector<Entry> entries;
};

namespace {

// The check runs before queued thumbnails: it is the long pole (it decodes every photo in one
// task), so starting it first lets the thumbnails use the other threads meanwhile.
constexpr int kCheckPriority = 1;
constexpr int kThumbnailPriority = 0;

// File names are bytes in the locale's encoding on Unix and UTF-16 on Windows; going through
// encodeName/decodeName (or wide strings) keeps names like "Café 🐱.jpg" intact both ways.
fs::path toFsPath(const QString& path) {
#ifdef Q_OS_WIN
  return fs::path(path.toStdWString());
#else
  return fs::path(QFile::encodeName(path).toStdString());
#endif
}

QString fromFsPath(const fs::path& path) {
#ifdef Q_OS_WIN
  return QString::fromStdWString(path.wstring());
#else
  return QFile::decodeName(QByteArray::fromStdString(path.native()));
#endif
}

QString cleanAbsolute(const QString& path) { return QDir::cleanPath(QFileInfo(path).absoluteFilePath()); }

// Runs on a worker thread: the only place in ui/ where photos are decoded.
QImage makeThumbnail(const fs::path& file) {
  const imaging::RgbImage rgb = imaging::load_photo(file);
  const QImage wrapped(rgb.rgb.data(), static_cast<int>(rgb.width), static_cast<int>(rgb.height),
                       static_cast<qsizetype>(rgb.width * 3), QImage::Format_RGB888);
  QImage thumbnail;
  if (std::max(rgb.width, rgb.height) > PhotoModel::kThumbnailSize) {
    // A panorama's short side could round to 0 pixels.
    const QSize size = wrapped.size()
                           .scaled(PhotoModel::kThumbnailSize, PhotoModel::kThumbnailSize, Qt::KeepAspectRatio)
                           .expandedTo(QSize(1, 1));
    thumbnail = wrapped.scaled(size, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
  } else {
    thumbnail = wrapped.copy();  // `wrapped` borrows rgb's pixels
  }
  // RGB32 is what the raster paint engine draws without converting on the GUI thread.
  return thumbnail.convertToFormat(QImage::Format_RGB32);
}

PhotoModel::Verdict toVerdict(imaging::PhotoVerdict verdict) {
  switch (verdict) {
    case imaging::PhotoVerdict::Ok:
      return PhotoModel::Verdict::Ok;
    case imaging::PhotoVerdict::TooSmall:
      return PhotoModel::Verdict::TooSmall;
    case imaging::PhotoVerdict::Unreadable:
      return PhotoModel::Verdict::Unreadable;
    case imaging::PhotoVerdict::Duplicate:
      return PhotoModel::Verdict::Duplicate;
  }
  return PhotoModel::Verdict::Unreadable;
}

// check_photos turns pawtrait::Error into Unreadable, but anything else (a filesystem error on
// an unreadable folder, running out of memory on a huge picture) escapes it and would lose
// every verdict. Then the files that fail on their own are unreadable, and the rest are
// checked together so duplicates are still found.
std::vector<imaging::PhotoCheck> checkAll(const std::vector<fs::path>& files, std::int64_t resolution) {
  try {
    return imaging::check_photos(files, resolution);
  } catch (const std::exception&) {
  }
  std::vector<imaging::PhotoCheck> checks(files.size());
  std::vector<fs::path> rest;
  std::vector<std::size_t> restRows;
  for (std::size_t i = 0; i < files.size(); ++i) {
    checks[i].path = files[i];
    try {
      imaging::check_photos({files[i]}, resolution);
      rest.push_back(files[i]);
      restRows.push_back(i);
    } catch (const std::exception& e) {
      checks[i].verdict = imaging::PhotoVerdict::Unreadable;
      checks[i].reason = e.what();
    }
  }
  try {
    std::vector<imaging::PhotoCheck> restChecks = imaging::check_photos(rest, resolution);
    for (std::size_t j = 0; j < restRows.size(); ++j) checks[restRows[j]] = std::move(restChecks[j]);
  } catch (const std::exception& e) {
    for (std::size_t i : restRows) {
      checks[i].verdict = imaging::PhotoVerdict::Unreadable;
      checks[i].reason = e.what();
    }
  }
  return checks;
}

enum class Tile { Plain, Pending, Broken };

// A grey tile standing in for a thumbnail: three dots while it is made, a crossed frame when the
// file cannot be decoded. Drawn with shapes, not text, so it needs no fonts.
QPixmap makeTile(Tile kind) {
  const int s = PhotoModel::kThumbnailSize;
  QPixmap tile(s, s);
  tile.fill(Qt::transparent);
  QPainter painter(&tile);
  painter.setRenderHint(QPainter::Antialiasing);
  painter.setPen(Qt::NoPen);
  painter.setBrush(QColor(200, 200, 200, 160));
  painter.drawRoundedRect(QRectF(8, 8, s - 16, s - 16), 20, 20);
  const QColor mark(120, 120, 120);
  if (kind == Tile::Broken) {
    painter.setPen(QPen(mark, 10, Qt::SolidLine, Qt::RoundCap));
    painter.setBrush(Qt::NoBrush);
    const QRectF frame(s * 0.3, s * 0.3, s * 0.4, s * 0.4);
    painter.drawRect(frame);
    painter.drawLine(frame.topLeft(), frame.bottomRight());
    painter.drawLine(frame.topRight(), frame.bottomLeft());
  } else if (kind == Tile::Pending) {
    painter.setBrush(mark);
    for (int i = -1; i <= 1; ++i) painter.drawEllipse(QPointF(s / 2.0 + i * s * 0.15, s / 2.0), s * 0.04, s * 0.04);
  }
  return tile;
}

// A round "!" mark in the top right corner: red when the file is unreadable, orange when it is
// a photo that is merely left out (too small, duplicate), yellow when it is used with a
// warning. A left-out picture is faded a little.
QPixmap withBadge(const QPixmap& base, const QColor& colour, bool fade) {
  QPixmap marked = base;
  QPainter painter(&marked);
  painter.setRenderHint(QPainter::Antialiasing);
  const qreal w = marked.width() / marked.devicePixelRatio();
  const qreal h = marked.height() / marked.devicePixelRatio();
  if (fade) painter.fillRect(QRectF(0, 0, w, h), QColor(255, 255, 255, 90));
  const qreal shortSide = std::min(w, h);
  const qreal d = std::clamp(std::max(w, h) * 0.24, std::min<qreal>(16, shortSide), shortSide);
  const qreal margin = std::clamp(d / 8, 0.0, shortSide - d);
  const QRectF circle(w - d - margin, margin, d, d);
  painter.setPen(QPen(Qt::white, std::max<qreal>(1, d / 14)));
  painter.setBrush(colour);
  painter.drawEllipse(circle);
  painter.setPen(QPen(Qt::white, d * 0.14, Qt::SolidLine, Qt::RoundCap));
  const qreal x = circle.center().x();
  painter.drawLine(QPointF(x, circle.top() + d * 0.24), QPointF(x, circle.top() + d * 0.56));
  painter.setPen(Qt::NoPen);
  painter.setBrush(Qt::white);
  painter.drawEllipse(QPointF(x, circle.top() + d * 0.76), d * 0.08, d * 0.08);
  return marked;
}

}  // namespace

PhotoModel::PhotoModel(QObject* parent)
    : QAbstractListModel(parent),
      m_tile(makeTile(Tile::Plain)),
      m_placeholder(makeTile(Tile::Pending)),
      m_broken(makeTile(Tile::Broken)),
      m_link(std::make_shared<Link>()) {
  m_link->model = this;
}

PhotoModel::~PhotoModel() {
  for (Photo& photo : m_photos) *photo.cancelled = true;
  m_link->alive = false;
  std::lock_guard lock(m_link->mutex);
  m_link->model = nullptr;
}

int PhotoModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(m_photos.size());
}

QVariant PhotoModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.model() != this || index.row() >= rowCount()) return {};
  const Photo& photo = m_photos[static_cast<std::size_t>(index.row())];
  switch (role) {
    case Qt::DisplayRole:
      return photo.name;
    case Qt::DecorationRole:
      return photo.decoration;
    case Qt::ToolTipRole:
      return QDir::toNativeSeparators(photo.path) + QLatin1Char('\n') + statusText(photo) +
             (photo.caption.isEmpty() ? QString() : QLatin1Char('\n') + tr("Caption: %1").arg(photo.caption));
    case Qt::AccessibleTextRole:
      return tr("%1: %2").arg(photo.name, statusText(photo));
    case PathRole:
      return photo.path;
    case VerdictRole:
      return QVariant::fromValue(photo.verdict);
    case UsableRole:
      return photo.verdict == Verdict::Ok && !photo.excluded;
    case ReasonRole:
      return photo.reason;
    case ThumbnailRole:
      return photo.thumbnail;
    case WarningRole:
      return photo.warning;
    default:
      return {};
  }
}

Qt::ItemFlags PhotoModel::flags(const QModelIndex& index) const {
  if (!index.isValid()) return Qt::NoItemFlags;
  return Qt::ItemIsSelectable | Qt::ItemIsEnabled | Qt::ItemNeverHasChildren;
}

QHash<int, QByteArray> PhotoModel::roleNames() const {
  QHash<int, QByteArray> names = QAbstractListModel::roleNames();
  names.insert(PathRole, "path");
  names.insert(VerdictRole, "verdict");
  names.insert(UsableRole, "usable");
  names.insert(ReasonRole, "reason");
  names.insert(ThumbnailRole, "thumbnail");
  names.insert(WarningRole, "warning");
  return names;
}

QString PhotoModel::statusText(const Photo& photo) const {
  if (photo.excluded) return tr("Left out of training, as you chose; double-click to use it again");
  switch (photo.verdict) {
    case Verdict::Checking:
      return tr("Checking…");
    case Verdict::Ok:
      return photo.warning.isEmpty() ? tr("Used for training (%1×%2 pixels)").arg(photo.width).arg(photo.height)
                                     : tr("Used for training (%1×%2 pixels), but it %3")
                                           .arg(photo.width)
                                           .arg(photo.height)
                                           .arg(photo.warning);
    case Verdict::TooSmall:
    case Verdict::Unreadable:
    case Verdict::Duplicate:
      break;
  }
  return tr("Not used for training: %1").arg(photo.reason);
}

int PhotoModel::addPaths(const QStringList& filesOrFolders) {
  QSet<QString> present;
  for (const Photo& photo : m_photos) present.insert(photo.path);
  QStringList added;
  for (const QString& item : filesOrFolders) {
    if (item.isEmpty()) continue;
    std::vector<fs::path> found;
    try {
      found = imaging::find_photos({toFsPath(cleanAbsolute(item))});
    } catch (const std::exception& e) {  // a folder we may not list: keep the other items
      qWarning("PhotoModel: cannot list %s: %s", qUtf8Printable(item), e.what());
      continue;
    }
    for (const fs::path& file : found) {
      const QString path = cleanAbsolute(fromFsPath(file));
      if (present.contains(path)) continue;
      present.insert(path);
      added.push_back(path);
    }
  }
  if (added.isEmpty()) return 0;

  const int first = rowCount();
  beginInsertRows({}, first, first + static_cast<int>(added.size()) - 1);
  for (const QString& path : added) {
    Photo photo;
    photo.id = m_nextId++;
    photo.path = path;
    photo.name = QFileInfo(path).fileName();
    photo.cancelled = std::make_shared<std::atomic_bool>(false);
    updateDecoration(photo);
    m_photos.push_back(std::move(photo));
  }
  endInsertRows();
  // The check goes first: see kCheckPriority.
  scheduleCheck();
  for (std::size_t row = static_cast<std::size_t>(first); row < m_photos.size(); ++row) startThumbnail(m_photos[row]);
  return static_cast<int>(added.size());
}

void PhotoModel::removePhotos(const QModelIndexList& indexes) {
  std::vector<int> rows;
  for (const QModelIndex& index : indexes) {
    if (index.isValid() && index.model() == this && index.row() < rowCount()) rows.push_back(index.row());
  }
  if (rows.empty()) return;
  std::sort(rows.begin(), rows.end(), std::greater<>());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  // Contiguous runs from the bottom up, so the row numbers still to remove stay valid.
  for (std::size_t i = 0; i < rows.size();) {
    const int last = rows[i];
    int first = last;
    for (++i; i < rows.size() && rows[i] == first - 1; ++i) first = rows[i];
    beginRemoveRows({}, first, last);
    const auto begin = m_photos.begin() + first;
    const auto end = m_photos.begin() + last + 1;
    for (auto it = begin; it != end; ++it) *it->cancelled = true;
    m_photos.erase(begin, end);
    endRemoveRows();
  }
  scheduleCheck();
  finishIfIdle();
}

void PhotoModel::clear() {
  if (m_photos.empty()) return;
  beginResetModel();
  for (Photo& photo : m_photos) *photo.cancelled = true;
  m_photos.clear();
  endResetModel();
  scheduleCheck();
  finishIfIdle();
}

void PhotoModel::setResolution(int resolution) {
  if (resolution <= 0 || resolution == m_resolution) return;
  m_resolution = resolution;
  if (!m_photos.empty()) scheduleCheck();
}

QStringList PhotoModel::paths() const {
  QStringList out;
  out.reserve(rowCount());
  for (const Photo& photo : m_photos) out.push_back(photo.path);
  return out;
}

QStringList PhotoModel::usablePaths() const {
  QStringList out;
  for (const Photo& photo : m_photos) {
    if (photo.verdict == Verdict::Ok && !photo.excluded) out.push_back(photo.path);
  }
  return out;
}

int PhotoModel::usableCount() const {
  return static_cast<int>(std::count_if(m_photos.begin(), m_photos.end(),
                                        [](const Photo& p) { return p.verdict == Verdict::Ok && !p.excluded; }));
}

int PhotoModel::warningCount() const {
  return static_cast<int>(std::count_if(m_photos.begin(), m_photos.end(), [](const Photo& p) {
    return p.verdict == Verdict::Ok && !p.excluded && !p.warning.isEmpty();
  }));
}

pawtrait::imaging::PhotoEdit PhotoModel::editAt(int row) const {
  return row >= 0 && row < rowCount() ? m_photos[static_cast<std::size_t>(row)].edit : pawtrait::imaging::PhotoEdit{};
}

bool PhotoModel::excludedAt(int row) const {
  return row >= 0 && row < rowCount() && m_photos[static_cast<std::size_t>(row)].excluded;
}

void PhotoModel::setEdit(int row, const pawtrait::imaging::PhotoEdit& edit, bool excluded) {
  if (row < 0 || row >= rowCount()) return;
  Photo& photo = m_photos[static_cast<std::size_t>(row)];
  photo.edit = edit;
  photo.excluded = excluded;
  updateDecoration(photo);
  emit dataChanged(index(row), index(row), {Qt::DecorationRole, Qt::ToolTipRole, Qt::AccessibleTextRole, UsableRole});
}

QString PhotoModel::captionAt(int row) const {
  return row >= 0 && row < rowCount() ? m_photos[static_cast<std::size_t>(row)].caption : QString();
}

void PhotoModel::setCaption(int row, const QString& caption) {
  if (row < 0 || row >= rowCount()) return;
  m_photos[static_cast<std::size_t>(row)].caption = caption.simplified();
  emit dataChanged(index(row), index(row), {Qt::ToolTipRole, Qt::AccessibleTextRole});
}

pawtrait::imaging::PhotoEdits PhotoModel::edits() const {
  pawtrait::imaging::PhotoEdits out;
  for (const Photo& photo : m_photos) {
    if (photo.edit != pawtrait::imaging::PhotoEdit{}) out[toFsPath(photo.path)] = photo.edit;
  }
  return out;
}

int PhotoModel::rowOfPath(const QString& path) const {
  for (std::size_t row = 0; row < m_photos.size(); ++row) {
    if (m_photos[row].path == path) return static_cast<int>(row);
  }
  return -1;
}

bool PhotoModel::checking() const {
  return m_checkRunning || m_checkDirty ||
         std::any_of(m_photos.begin(), m_photos.end(), [](const Photo& p) { return p.thumbnailPending; });
}

int PhotoModel::rowOf(quint64 id) const {
  const auto it = std::find_if(m_photos.begin(), m_photos.end(), [id](const Photo& p) { return p.id == id; });
  return it == m_photos.end() ? -1 : static_cast<int>(it - m_photos.begin());
}

void PhotoModel::startThumbnail(const Photo& photo) {
  QThreadPool::globalInstance()->start(
      [link = m_link, id = photo.id, file = toFsPath(photo.path), cancelled = photo.cancelled] {
        if (*cancelled || !link->alive) return;
        QImage thumbnail;
        try {
          thumbnail = makeThumbnail(file);
        } catch (const std::exception&) {
          // Left null: the check reports why the file cannot be read.
        }
        link->post([id, thumbnail](PhotoModel& model) { model.applyThumbnail(id, thumbnail); });
      },
      kThumbnailPriority);
}

void PhotoModel::applyThumbnail(quint64 id, const QImage& thumbnail) {
  const int row = rowOf(id);
  if (row < 0) return;  // removed meanwhile
  Photo& photo = m_photos[static_cast<std::size_t>(row)];
  photo.thumbnail = thumbnail;
  photo.thumbnailPending = false;
  updateDecoration(photo);
  emit dataChanged(index(row), index(row), {Qt::DecorationRole, ThumbnailRole});
  finishIfIdle();
}

void PhotoModel::scheduleCheck() {
  if (m_checkRunning) {
    m_checkDirty = true;
    return;
  }
  startCheck();
}

void PhotoModel::startCheck() {
  m_checkDirty = false;
  if (m_photos.empty()) return;
  m_checkRunning = true;
  std::vector<quint64> ids;
  std::vector<fs::path> files;
  ids.reserve(m_photos.size());
  files.reserve(m_photos.size());
  for (const Photo& photo : m_photos) {
    ids.push_back(photo.id);
    files.push_back(toFsPath(photo.path));
  }
  QThreadPool::globalInstance()->start(
      [link = m_link, ids = std::move(ids), files = std::move(files), resolution = m_resolution] {
        if (!link->alive) return;
        const std::vector<imaging::PhotoCheck> checks = checkAll(files, resolution);
        Verdicts verdicts;
        verdicts.entries.reserve(checks.size());
        for (std::size_t i = 0; i < checks.size(); ++i) {
          verdicts.entries.push_back({ids[i], toVerdict(checks[i].verdict), QString::fromStdString(checks[i].reason),
                                      checks[i].width, checks[i].height, QString::fromStdString(checks[i].warning)});
        }
        link->post([verdicts = std::move(verdicts)](PhotoModel& model) { model.applyChecks(verdicts); });
      },
      kCheckPriority);
}

void PhotoModel::applyChecks(const Verdicts& verdicts) {
  m_checkRunning = false;
  // Results from before a change are still newer than what the rows show, so they are applied;
  // the re-check that follows corrects what the change affected.
  QHash<quint64, int> rows;
  for (std::size_t row = 0; row < m_photos.size(); ++row) rows.insert(m_photos[row].id, static_cast<int>(row));
  int first = rowCount(), last = -1;
  for (const Verdicts::Entry& entry : verdicts.entries) {
    const int row = rows.value(entry.id, -1);
    if (row < 0) continue;
    Photo& photo = m_photos[static_cast<std::size_t>(row)];
    if (photo.verdict == entry.verdict && photo.reason == entry.reason && photo.width == entry.width &&
        photo.height == entry.height && photo.warning == entry.warning) {
      continue;
    }
    const bool badgeChanged = photo.verdict != entry.verdict || photo.warning.isEmpty() != entry.warning.isEmpty();
    photo.verdict = entry.verdict;
    photo.reason = entry.reason;
    photo.warning = entry.warning;
    photo.width = entry.width;
    photo.height = entry.height;
    if (badgeChanged) updateDecoration(photo);
    first = std::min(first, row);
    last = std::max(last, row);
  }
  if (last >= 0) {
    emit dataChanged(index(first), index(last),
                     {Qt::DecorationRole, Qt::ToolTipRole, Qt::AccessibleTextRole, VerdictRole, UsableRole, ReasonRole,
                      WarningRole});
  }
  if (m_checkDirty && !m_checkRunning) startCheck();
  finishIfIdle();
}

void PhotoModel::finishIfIdle() {
  if (!checking()) emit checksFinished();
}

void PhotoModel::updateDecoration(Photo& photo) const {
  QPixmap base;
  if (photo.thumbnail.isNull()) {
    base = photo.thumbnailPending ? m_placeholder : m_broken;
  } else if (std::max(photo.thumbnail.width(), photo.thumbnail.height()) < kThumbnailSize / 2) {
    // A tiny photo stays tiny (that is the point of "too small"), centred on a tile so that it
    // and its badge remain visible at icon size.
    base = m_tile;
    QPainter painter(&base);
    painter.drawImage((base.width() - photo.thumbnail.width()) / 2, (base.height() - photo.thumbnail.height()) / 2,
                      photo.thumbnail);
  } else {
    base = QPixmap::fromImage(photo.thumbnail);
  }
  if (photo.edit.quarter_turns != 0) base = base.transformed(QTransform().rotate(90.0 * photo.edit.quarter_turns));
  const bool leftOut = photo.verdict != Verdict::Ok && photo.verdict != Verdict::Checking;
  if (photo.excluded) {
    photo.decoration = QIcon(withBadge(base, QColor(120, 120, 120), /*fade=*/!photo.thumbnail.isNull()));
  } else if (leftOut) {
    const QColor colour = photo.verdict == Verdict::Unreadable ? QColor(211, 47, 47) : QColor(245, 124, 0);
    photo.decoration = QIcon(withBadge(base, colour, /*fade=*/!photo.thumbnail.isNull()));
  } else if (photo.verdict == Verdict::Ok && !photo.warning.isEmpty()) {
    photo.decoration = QIcon(withBadge(base, QColor(249, 190, 0), /*fade=*/false));
  } else {
    photo.decoration = QIcon(base);
  }
}
