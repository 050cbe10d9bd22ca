// pawtrait: the desktop application.
#include <QApplication>
#include <QCommandLineParser>

#include "main_window.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("Pawtrait"));
  QApplication::setOrganizationName(QStringLiteral("Pawtrait"));
  QApplication::setApplicationVersion(QStringLiteral(PAWTRAIT_VERSION));
  QApplication::setDesktopFileName(QStringLiteral("io.github.pawtrait.Pawtrait"));
  QCommandLineParser parser;
  parser.setApplicationDescription(
      QApplication::translate("main", "Teach a picture model your pet from a few photos."));
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument(QStringLiteral("photos"),
                               QApplication::translate("main", "Photos or folders of them to add to the project"),
                               QStringLiteral("[photos...]"));
  parser.process(app);
  MainWindow window;
  window.openLastProject();
  window.show();
  window.openFromCommandLine(parser.positionalArguments());  // the desktop file's %F
  return QApplication::exec();
}
