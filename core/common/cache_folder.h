#pragma once

#include <filesystem>

namespace pawtrait {

// Where Pawtrait keeps what it can make again (class images, short hashes):
// $XDG_CACHE_HOME/pawtrait, else ~/.cache/pawtrait, else a folder in the temporary directory.
std::filesystem::path cache_folder();

}  // namespace pawtrait
