#include "porthop/app/secret_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace porthop::app {

std::string write_secret_file(const std::string& path, const std::string& text, Existing existing) {
    const std::string temp = path + ".tmp";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return temp + ": " + std::strerror(errno);
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const std::string why = std::strerror(errno);
            ::close(fd);
            ::unlink(temp.c_str());
            return temp + ": " + why;
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        const std::string why = std::strerror(errno);
        ::unlink(temp.c_str());
        return temp + ": " + why;
    }
    // rename() replaces; link() refuses an existing name, atomically (no check-then-write race).
    const bool placed = existing == Existing::replace ? ::rename(temp.c_str(), path.c_str()) == 0
                                                      : ::link(temp.c_str(), path.c_str()) == 0;
    const int err = errno;
    if (existing == Existing::keep || !placed) ::unlink(temp.c_str());
    if (placed) return {};
    if (err == EEXIST) return path + " exists: not overwritten (remove it, or name another file)";
    return path + ": " + std::strerror(err);
}

}  // namespace porthop::app
