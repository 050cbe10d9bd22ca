#include "pet_kind.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QRegularExpression>
#include <QSet>

QList<PetKind> petKinds() {
  auto tr = [](const char* text) { return QCoreApplication::translate("PetKind", text); };
  return {{QStringLiteral("dog"), tr("dog")},
          {QStringLiteral("cat"), tr("cat")},
          {QStringLiteral("rabbit"), tr("rabbit")},
          {QStringLiteral("bird"), tr("bird")},
          {QStringLiteral("horse"), tr("horse")},
          {QStringLiteral("hamster"), tr("hamster")},
          {QStringLiteral("guinea pig"), tr("guinea pig")}};
}

namespace {

// Words people name pet photos and folders with, singular and plural.
QString kindOfWord(const QString& word) {
  static const QList<std::pair<QString, QStringList>> words = {
      {QStringLiteral("dog"), {"dog", "dogs", "puppy", "puppies", "pup", "pups", "doggo", "doggy"}},
      {QStringLiteral("cat"), {"cat", "cats", "kitten", "kittens", "kitty", "kitties"}},
      {QStringLiteral("rabbit"), {"rabbit", "rabbits", "bunny", "bunnies"}},
      {QStringLiteral("bird"), {"bird", "birds", "parrot", "parrots", "budgie", "budgies", "parakeet"}},
      {QStringLiteral("horse"), {"horse", "horses", "pony", "ponies", "foal"}},
      {QStringLiteral("hamster"), {"hamster", "hamsters"}},
      {QStringLiteral("guinea pig"), {"guineapig", "guineapigs"}},
  };
  for (const auto& [kind, names] : words) {
    if (names.contains(word)) return kind;
  }
  return {};
}

}  // namespace

QString guessPetKind(const QStringList& paths) {
  QSet<QString> kinds;
  static const QRegularExpression separators(QStringLiteral("[^a-z]+"));
  for (const QString& path : paths) {
    const QFileInfo info(path);
    QStringList names = {info.completeBaseName()};
    QString folder = info.absolutePath();  // by name: the folders need not exist (QDir::cdUp would ask)
    for (int up = 0; up < 2; ++up) {
      const QFileInfo here(folder);
      if (here.fileName().isEmpty()) break;  // the root
      names.append(here.fileName());
      folder = here.path();
    }
    for (const QString& name : names) {
      // "Guinea pigs", "guinea_pig", "GuineaPig": one word.
      QString lower = name.toLower();
      lower.replace(QRegularExpression(QStringLiteral("guinea[^a-z]*pig")), QStringLiteral("guineapig"));
      for (const QString& word : lower.split(separators, Qt::SkipEmptyParts)) {
        const QString kind = kindOfWord(word);
        if (!kind.isEmpty()) kinds.insert(kind);
      }
    }
  }
  return kinds.size() == 1 ? *kinds.begin() : QString();
}
