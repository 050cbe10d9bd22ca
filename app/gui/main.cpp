// pawtrait: the desktop application.
#include <QApplication>

#include "main_window.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("Pawtrait"));
  QApplication::setOrganizationName(QStringLiteral("Pawtrait"));
  QApplication::setApplicationVersion(QStringLiteral(PAWTRAIT_VERSION));
  QApplication::setDesktopFileName(QStringLiteral("io.github.pawtrait.Pawtrait"));
  MainWindow window;
  window.openLastProject();
  window.show();
  return QApplication::exec();
}
