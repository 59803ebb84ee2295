#include "porthop/relay/session_state.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace porthop::relay {

namespace asio = boost::asio;

namespace {

constexpr std::string_view kMagic = "porthop-sessions";
constexpr int kVersion = 2;
constexpr int kOldestVersion = 1;  // the same, without agent lines

void put_endpoint(std::ostream& out, const net::Endpoint& e) {
    const auto u = e.to_udp();
    out << ' ' << u.address().to_string() << ' ' << u.port();
}

bool get_endpoint(std::istream& in, net::Endpoint& out) {
    std::string address;
    unsigned port = 0;
    if (!(in >> address >> port) || port > 65535) return false;
    boost::system::error_code ec;
    const auto a = asio::ip::make_address(address, ec);
    if (ec) return false;
    out = net::Endpoint::from_asio(asio::ip::udp::endpoint(a, static_cast<std::uint16_t>(port)));
    return true;
}

void put_local(std::ostream& out, const net::LocalAddress& l) {
    char text[INET6_ADDRSTRLEN] = "-";
    if (l.family == AF_INET) inet_ntop(AF_INET, &l.v4, text, sizeof text);
    if (l.family == AF_INET6) inet_ntop(AF_INET6, &l.v6, text, sizeof text);
    out << ' ' << text << ' ' << l.ifindex;
}

bool get_local(std::istream& in, net::LocalAddress& out) {
    std::string text;
    if (!(in >> text >> out.ifindex)) return false;
    out.family = AF_UNSPEC;
    if (text == "-") return true;
    if (inet_pton(AF_INET, text.c_str(), &out.v4) == 1) {
        out.family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, text.c_str(), &out.v6) == 1) {
        out.family = AF_INET6;
        return true;
    }
    return false;
}

bool same_local(const net::LocalAddress& a, const net::LocalAddress& b) noexcept {
    return a.family == b.family && a.ifindex == b.ifindex &&
           (a.family != AF_INET || std::memcmp(&a.v4, &b.v4, sizeof a.v4) == 0) &&
           (a.family != AF_INET6 || std::memcmp(&a.v6, &b.v6, sizeof a.v6) == 0);
}

// "agent <16 hex digits> <counter> <issued floor> <keep until>", nothing more.
bool parse_agent(std::istream& in, hop::Forgotten& out) {
    std::string kind, id, rest;
    if (!(in >> kind >> id >> out.counter >> out.issued_floor >> out.keep_until) || (in >> rest)) return false;
    if (id.size() != 16 || id.find_first_not_of("0123456789abcdef") != std::string::npos) return false;
    out.session = std::stoull(id, nullptr, 16);
    return out.session != 0;
}

}  // namespace

bool operator==(const SavedSession& a, const SavedSession& b) noexcept {
    return a.listener == b.listener && a.client == b.client && same_local(a.local, b.local) &&
           a.upstream == b.upstream && a.validated == b.validated && a.amplification == b.amplification &&
           a.opened_by_data == b.opened_by_data && a.roamed == b.roamed;
}

std::string format_state(const SavedState& state) {
    std::ostringstream out;
    out << kMagic << ' ' << kVersion << ' '
        << std::chrono::duration_cast<std::chrono::seconds>(state.written.time_since_epoch()).count();
    put_endpoint(out, state.backend);
    out << '\n';
    for (const auto& s : state.sessions) {
        out << "udp";
        put_endpoint(out, s.listener);
        put_endpoint(out, s.client);
        put_local(out, s.local);
        put_endpoint(out, s.upstream);
        out << ' ' << int{s.validated} << ' ' << int{s.amplification} << ' ' << int{s.opened_by_data} << ' '
            << int{s.roamed} << '\n';
    }
    for (const auto& a : state.agents) {
        char id[17];
        std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(a.session));
        out << "agent " << id << ' ' << a.counter << ' ' << a.issued_floor << ' ' << a.keep_until << '\n';
    }
    return out.str();
}

std::optional<SavedState> parse_state(std::string_view text, std::string& why) {
    std::istringstream in{std::string(text)};
    std::string line;
    SavedState state;
    if (!std::getline(in, line)) {
        why = "empty";
        return std::nullopt;
    }
    {
        std::istringstream head(line);
        std::string magic;
        int version = 0;
        long long seconds = 0;
        if (!(head >> magic >> version >> seconds) || magic != kMagic || !get_endpoint(head, state.backend)) {
            why = "not a porthop session state file";
            return std::nullopt;
        }
        if (version < kOldestVersion || version > kVersion) {
            why = "written by another version (format " + std::to_string(version) + ")";
            return std::nullopt;
        }
        state.written = std::chrono::system_clock::time_point{std::chrono::seconds{seconds}};
    }
    std::size_t number = 1;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty()) continue;
        std::istringstream fields(line);
        std::string kind;
        if (line.starts_with("agent ")) {
            hop::Forgotten a;
            if (!parse_agent(fields, a)) {
                why = "line " + std::to_string(number) + " is malformed";
                return std::nullopt;
            }
            state.agents.push_back(a);
            continue;
        }
        SavedSession s;
        int validated = 0, amplification = 0, by_data = 0, roamed = 0;
        std::string rest;
        if (!(fields >> kind) || kind != "udp" || !get_endpoint(fields, s.listener) ||
            !get_endpoint(fields, s.client) || !get_local(fields, s.local) || !get_endpoint(fields, s.upstream) ||
            !(fields >> validated >> amplification >> by_data >> roamed) || (fields >> rest) || validated > 1 ||
            validated < 0 || amplification < 1 || amplification > 255 || by_data < 0 || by_data > 1 ||
            roamed < 0 || roamed > 1) {
            why = "line " + std::to_string(number) + " is malformed";
            return std::nullopt;
        }
        s.validated = validated == 1;
        s.amplification = static_cast<std::uint8_t>(amplification);
        s.opened_by_data = by_data == 1;
        s.roamed = roamed == 1;
        state.sessions.push_back(s);
    }
    return state;
}

bool write_state_file(const std::string& path, const std::string& text, std::string& why) {
    const std::string temporary = path + ".tmp";
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        why = "cannot write " + temporary + ": " + std::strerror(errno);
        return false;
    }
    std::size_t done = 0;
    while (done < text.size()) {
        const auto n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            why = "cannot write " + temporary + ": " + std::strerror(errno);
            ::close(fd);
            ::unlink(temporary.c_str());
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    // Renamed only once complete: a crash while writing leaves the previous file, never half a one.
    if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(temporary.c_str(), path.c_str()) != 0) {
        why = "cannot replace " + path + ": " + std::strerror(errno);
        ::unlink(temporary.c_str());
        return false;
    }
    // The rename itself is durable only once the directory is synced: after a power loss the
    // previous file (older replay floors) could come back otherwise.
    const auto slash = path.find_last_of('/');
    const std::string directory = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    if (const int dir = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
        ::fsync(dir);  // best effort: the file is in place either way
        ::close(dir);
    }
    return true;
}

bool may_replace_with_state(std::string_view text) noexcept {
    const auto start = text.find_first_not_of(" \t\r\n");
    if (start == std::string_view::npos) return true;
    text.remove_prefix(start);
    return text.starts_with(kMagic) && (text.size() == kMagic.size() || text[kMagic.size()] == ' ');
}

std::optional<std::string> read_state_file(const std::string& path, std::string& why) {
    why.clear();
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (errno != ENOENT) why = "cannot read " + path + ": " + std::strerror(errno);
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace porthop::relay
