#pragma once

#include <QAbstractListModel>
#include <QIcon>
#include <QImage>
#include <QPixmap>
#include <QString>
#include <QStringList>
#include <atomic>
#include <memory>
#include <vector>

#include "imaging/photo_edit.h"

// The pet's photos for the photo grid: file, thumbnail and the engine's verdict (ok, too small,
// unreadable, duplicate of another). Thumbnails and verdicts are computed off the GUI thread;
// rows appear at once with a placeholder and fill in when ready.
//
// Verdicts depend on the whole set (a duplicate is "the same picture as an earlier one") and on
// the training resolution, so every add, remove and resolution change re-checks all photos with
// the engine's check_photos. At most one check runs at a time; changes made meanwhile are
// coalesced into one more run. Until a re-check lands, photos keep their previous verdict (new
// ones show Checking) and checking() is true.
class PhotoModel : public QAbstractListModel {
  Q_OBJECT

 public:
  // ThumbnailRole: the plain thumbnail (QImage, at most 256 px on its long side; null while it
  // is being made or when the file cannot be read).
  // WarningRole: for a usable photo, what may make it teach less well and what to do (a
  // blurred photo); empty when nothing does.
  enum Role { PathRole = Qt::UserRole + 1, VerdictRole, UsableRole, ReasonRole, ThumbnailRole, WarningRole };
  enum class Verdict { Checking, Ok, TooSmall, Unreadable, Duplicate };
  Q_ENUM(Verdict)

  static constexpr int kThumbnailSize = 256;  // long side, in pixels

  explicit PhotoModel(QObject* parent = nullptr);
  // Does not wait for work in flight: its results are dropped, pending decodes are skipped.
  ~PhotoModel() override;

  int rowCount(const QModelIndex& parent = {}) const override;
  // DisplayRole: file name; DecorationRole: the thumbnail (QIcon), with a badge when not usable
  // (a yellow one when used with a warning); ToolTipRole: the path and why it is not used, or its
  // warning; AccessibleTextRole: name and verdict in words;
  // the roles above (VerdictRole holds a Verdict, UsableRole a bool, ReasonRole the engine's
  // reason or an empty string).
  QVariant data(const QModelIndex& index, int role) const override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;
  QHash<int, QByteArray> roleNames() const override;

  // Adds photo files and the photos inside folders (those already present are ignored);
  // returns how many were added. Starts their thumbnails and the verdicts of all photos.
  int addPaths(const QStringList& filesOrFolders);
  // Indexes of other models and repeated rows are ignored. Re-checks the photos that remain.
  void removePhotos(const QModelIndexList& indexes);
  void clear();

  // The training resolution decides "too small" (shorter side under half of it); 512 until set.
  // A change re-checks every photo.
  void setResolution(int resolution);
  int resolution() const { return m_resolution; }
  QStringList paths() const;        // absolute, in row order
  QStringList usablePaths() const;  // those whose verdict is Ok and not left out by the person
  int usableCount() const;
  int warningCount() const;  // usable photos with a warning

  // The crop editor's choices: turns and box, and "left out of training" (the photo stays in the
  // project). The thumbnail shows the turns; a left-out photo is faded with a grey badge.
  pawtrait::imaging::PhotoEdit editAt(int row) const;
  bool excludedAt(int row) const;
  void setEdit(int row, const pawtrait::imaging::PhotoEdit& edit, bool excluded);
  // The photo's caption ("lying on the grass"), appended to the instance prompt in training.
  QString captionAt(int row) const;
  void setCaption(int row, const QString& caption);
  // By path, the photos with a turn or a box (what the trainer and project.json keep).
  pawtrait::imaging::PhotoEdits edits() const;
  int rowOfPath(const QString& path) const;  // -1 when absent
  bool checking() const;                     // thumbnails or verdicts still being computed

 signals:
  void checksFinished();  // every thumbnail and verdict is known

 private:
  struct Photo {
    quint64 id = 0;  // stable across row moves; results from workers find their row by it
    QString path;
    QString name;
    QImage thumbnail;
    QIcon decoration;  // thumbnail or placeholder, with the verdict's badge; built once per change
    Verdict verdict = Verdict::Checking;
    QString reason;
    QString warning;
    qint64 width = 0, height = 0;
    pawtrait::imaging::PhotoEdit edit;
    bool excluded = false;
    QString caption;
    bool thumbnailPending = true;
    std::shared_ptr<std::atomic_bool> cancelled;  // set on removal: skip the decode if not started
  };
  struct Verdicts;
  struct Link;  // shared with workers; outlives the model

  int rowOf(quint64 id) const;
  void startThumbnail(const Photo& photo);
  void applyThumbnail(quint64 id, const QImage& thumbnail);
  void scheduleCheck();
  void startCheck();
  void applyChecks(const Verdicts& verdicts);
  void finishIfIdle();
  void updateDecoration(Photo& photo) const;
  QString statusText(const Photo& photo) const;

  std::vector<Photo> m_photos;
  quint64 m_nextId = 1;
  int m_resolution = 512;
  bool m_checkRunning = false;
  bool m_checkDirty = false;  // the set or resolution changed while a check was running
  QPixmap m_tile;             // behind photos much smaller than a thumbnail
  QPixmap m_placeholder;      // while the thumbnail is being made
  QPixmap m_broken;           // when the file cannot be decoded
  std::shared_ptr<Link> m_link;
};
