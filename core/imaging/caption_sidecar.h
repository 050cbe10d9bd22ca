#pragma once

#include <filesystem>
#include <string>

namespace pawtrait::imaging {

// A photo's caption in the sidecar convention kohya's and most trainers read: a text file of the
// photo's name with .txt (dog1.jpg → dog1.txt) beside it. The caption says what is particular to
// this photo ("lying on the grass"); training appends it to the instance prompt.

// The sidecar's path for a photo.
std::filesystem::path caption_sidecar_path(const std::filesystem::path& photo);

// The sidecar's text, whitespace and line breaks folded to single spaces; empty when there is
// none. Throws pawtrait::Error naming the file when it exists but cannot be read, or is longer
// than a caption can be (4 KiB).
std::string read_caption_sidecar(const std::filesystem::path& photo);

// Writes the caption beside the photo (atomically); an empty caption removes the sidecar.
void write_caption_sidecar(const std::filesystem::path& photo, const std::string& caption);

}  // namespace pawtrait::imaging
