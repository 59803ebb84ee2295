#include "porthop/app/secret_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace porthop::app {

namespace {

std::string failed(const std::string& name, int err) { return name + ": " + std::strerror(err); }

// The whole text, or the reason it could not be written.
std::string write_all(int fd, const std::string& text, const std::string& name) {
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return failed(name, n < 0 ? errno : EIO);
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) return failed(name, errno);
    return {};
}

}  // namespace

std::string write_secret_file(const std::string& path, const std::string& text, Existing existing) {
    // A fresh name, created exclusively: a leftover or planted file (or symlink) of a fixed
    // name would keep its own mode and owner, or lead elsewhere.
    std::string temp = path + ".XXXXXX";
    std::vector<char> name(temp.begin(), temp.end());
    name.push_back('\0');
    const int fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0) return failed(path, errno);
    temp = name.data();
    const auto give_up = [&](std::string why) {
        ::close(fd);
        ::unlink(temp.c_str());
        return why;
    };
    if (::fchmod(fd, 0600) != 0) return give_up(failed(temp, errno));
    struct stat old {};
    if (existing == Existing::take_over && ::stat(path.c_str(), &old) == 0) {
        if (!S_ISREG(old.st_mode)) return give_up(path + " is not a regular file: not replaced");
        if (::fchown(fd, old.st_uid, old.st_gid) != 0 ||
            ::fchmod(fd, static_cast<mode_t>((old.st_mode & 0660) | 0600)) != 0)
            return give_up(failed(temp, errno));
    }
    if (auto problem = write_all(fd, text, temp); !problem.empty()) return give_up(problem);
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(temp.c_str());
        return failed(temp, err);
    }
    if (existing != Existing::keep) {
        if (::rename(temp.c_str(), path.c_str()) == 0) return {};
        const int err = errno;
        ::unlink(temp.c_str());
        return failed(path, err);
    }
    // link() refuses an existing name atomically (no check-then-write race). Where the file
    // system has no hard links (FAT, some FUSE), a check, then rename().
    int err = ::link(temp.c_str(), path.c_str()) == 0 ? 0 : errno;
    if (err == EPERM || err == ENOTSUP || err == EOPNOTSUPP) {
        struct stat there {};
        err = ::lstat(path.c_str(), &there) == 0 ? EEXIST : ::rename(temp.c_str(), path.c_str()) == 0 ? 0 : errno;
    }
    ::unlink(temp.c_str());  // after link(): the name only; after rename(): already gone
    if (err == 0) return {};
    if (err == EEXIST) return path + " exists: not overwritten (remove it, name another file, or give --force)";
    return failed(path, err);
}

}  // namespace porthop::app
