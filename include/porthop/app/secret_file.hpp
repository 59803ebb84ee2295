// Files that hold secrets (a TLS key, a hop-link key in a client configuration): written whole
// or not at all, readable by their owner only.
#pragma once

#include <string>

namespace porthop::app {

enum class Existing { replace, keep };

// Writes `text` to `path` (mode 0600) through a temporary file beside it, so a reader never
// sees half a file. With Existing::keep an existing `path` is left alone and reported, not
// replaced. Returns "" on success, else the reason, naming the file.
std::string write_secret_file(const std::string& path, const std::string& text, Existing existing);

}  // namespace porthop::app
