#pragma once

#include <QByteArray>
#include <QString>

// What the app remembers between runs (QSettings), one typed accessor per value so that keys
// and types live in one place.
namespace app_settings {

QString lastProject();
void setLastProject(const QString& folder);
QByteArray windowGeometry();
void setWindowGeometry(const QByteArray& geometry);
QByteArray splitterState();
void setSplitterState(const QByteArray& state);

}  // namespace app_settings
