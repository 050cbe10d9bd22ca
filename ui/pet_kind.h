#pragma once

#include <QList>
#include <QString>
#include <QStringList>

// The kinds of pet the Animal box offers. `word` is what the training prompt says ("a photo of
// sks cat"): English whatever the interface's language, as the models learned from English
// captions; `label` is how the box shows it.
struct PetKind {
  QString word;
  QString label;
};
QList<PetKind> petKinds();

// The kind of pet a set of photos shows by the names of their files and the two folders above
// them ("Pictures/Cats/IMG_0001.jpg", "kitten-on-sofa.png": "cat"), or empty when the names say
// none, or more than one.
QString guessPetKind(const QStringList& paths);
