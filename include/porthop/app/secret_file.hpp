// Files that hold secrets (a TLS key, a hop-link key in a client configuration): written whole
// or not at all, never readable by others.
#pragma once

#include <string>

namespace porthop::app {

enum class Existing {
    replace,    // an existing file is replaced (the new one is 0600, owned by the writer)
    keep,       // an existing file is left alone and reported
    take_over,  // an existing file is replaced, its owner and group kept, its mode without any
                // bit for others (a packaged /etc/porthop/client.toml stays root:porthop 0640,
                // readable by the service)
};

// Writes `text` to `path` through a new temporary file beside it (created exclusively, 0600),
// so a reader never sees half a file. Returns "" on success, else the reason, naming the file.
std::string write_secret_file(const std::string& path, const std::string& text, Existing existing);

}  // namespace porthop::app
