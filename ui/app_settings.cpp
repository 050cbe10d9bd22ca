#include "app_settings.h"

#include <QSettings>

namespace app_settings {
namespace {

const QString kLastProject = QStringLiteral("lastProject");
const QString kGeometry = QStringLiteral("window/geometry");
const QString kSplitter = QStringLiteral("window/splitter");

}  // namespace

QString lastProject() { return QSettings().value(kLastProject).toString(); }
void setLastProject(const QString& folder) { QSettings().setValue(kLastProject, folder); }
QByteArray windowGeometry() { return QSettings().value(kGeometry).toByteArray(); }
void setWindowGeometry(const QByteArray& geometry) { QSettings().setValue(kGeometry, geometry); }
QByteArray splitterState() { return QSettings().value(kSplitter).toByteArray(); }
void setSplitterState(const QByteArray& state) { QSettings().setValue(kSplitter, state); }

}  // namespace app_settings
