// net::resolve_host against a fake DNS server on loopback (an ephemeral port, named by a
// resolv.conf the test writes), so nothing leaves the machine. Also what must need no lookup.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "porthop/net/resolve.hpp"

using porthop::net::resolve_host;
using porthop::net::ResolverConfig;
using boost::asio::ip::make_address;

namespace {

// Answers A and AAAA questions from a table; NXDOMAIN for names it does not know; or, with
// `silent`, never answers at all. Runs on its own thread until destroyed.
class FakeDns {
public:
    std::map<std::string, std::vector<std::string>> records;  // name -> addresses (v4 and v6)
    bool silent = false;

    FakeDns() {
        fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
        socklen_t len = sizeof sa;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
        port_ = ntohs(sa.sin_port);
    }
    ~FakeDns() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
        ::close(fd_);
    }
    void start() { thread_ = std::thread([this] { run(); }); }
    std::uint16_t port() const { return port_; }
    int queries() const { return queries_.load(); }

private:
    void run() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            unsigned char q[512];
            sockaddr_in from{};
            socklen_t len = sizeof from;
            const auto n = ::recvfrom(fd_, q, sizeof q, 0, reinterpret_cast<sockaddr*>(&from), &len);
            if (n < 12) continue;
            ++queries_;
            if (silent) continue;
            const auto reply = answer(q, static_cast<std::size_t>(n));
            if (!reply.empty()) ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
        }
    }

    std::vector<unsigned char> answer(const unsigned char* q, std::size_t n) const {
        // Question: labels from offset 12, then type and class.
        std::string name;
        std::size_t at = 12;
        while (at < n && q[at] != 0) {
            const std::size_t label = q[at++];
            if (at + label > n) return {};
            if (!name.empty()) name += '.';
            name.append(reinterpret_cast<const char*>(q + at), label);
            at += label;
        }
        if (at + 5 > n) return {};
        const std::size_t question_end = at + 5;
        const int type = (q[at + 1] << 8) | q[at + 2];
        std::vector<unsigned char> out(q, q + question_end);
        out[2] = 0x81;  // response, recursion desired
        out[3] = 0x80;  // recursion available, NOERROR
        out[6] = out[7] = out[8] = out[9] = out[10] = out[11] = 0;  // counts; QDCOUNT kept
        const auto it = records.find(name);
        if (it == records.end()) {
            out[3] = 0x83;  // NXDOMAIN
            return out;
        }
        int answers = 0;
        for (const auto& text : it->second) {
            const auto address = make_address(text);
            if ((type == 1) != address.is_v4()) continue;  // A wants v4, AAAA v6
            const unsigned char header[] = {0xC0, 0x0C, 0, static_cast<unsigned char>(type), 0, 1, 0, 0, 0, 60};
            out.insert(out.end(), header, header + sizeof header);
            if (address.is_v4()) {
                const auto b = address.to_v4().to_bytes();
                out.push_back(0);
                out.push_back(4);
                out.insert(out.end(), b.begin(), b.end());
            } else {
                const auto b = address.to_v6().to_bytes();
                out.push_back(0);
                out.push_back(16);
                out.insert(out.end(), b.begin(), b.end());
            }
            ++answers;
        }
        out[7] = static_cast<unsigned char>(answers);
        return out;
    }

    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> queries_{0};
    std::thread thread_;
};

// A file in a fresh temporary directory, removed with it.
class TempFile {
public:
    explicit TempFile(const std::string& text) {
        char dir[] = "/tmp/porthop-resolve.XXXXXX";
        REQUIRE(::mkdtemp(dir) != nullptr);
        dir_ = dir;
        path_ = dir_ + "/file";
        std::ofstream(path_) << text;
    }
    ~TempFile() {
        std::remove(path_.c_str());
        ::rmdir(dir_.c_str());
    }
    const std::string& path() const { return path_; }

private:
    std::string dir_, path_;
};

ResolverConfig config_for(const FakeDns& dns, const TempFile& resolv_conf, const std::string& hosts) {
    ResolverConfig config;
    config.hosts_path = hosts;
    config.resolv_conf_path = resolv_conf.path();
    config.dns_port = dns.port();
    config.timeout = std::chrono::milliseconds(300);
    config.tries = 1;
    return config;
}

}  // namespace

TEST_CASE("resolve: numeric addresses need no hosts file and no DNS") {
    FakeDns dns;
    dns.start();
    TempFile resolv_conf("nameserver 127.0.0.1\n");
    const auto config = config_for(dns, resolv_conf, "/nonexistent/hosts");
    auto r = resolve_host("192.0.2.1", config);
    REQUIRE(r.ok());
    CHECK(r.addresses == std::vector{make_address("192.0.2.1")});
    r = resolve_host("2001:db8::1", config);
    REQUIRE(r.ok());
    CHECK(r.addresses == std::vector{make_address("2001:db8::1")});
    CHECK(dns.queries() == 0);
}

TEST_CASE("resolve: a name from DNS, IPv4 first") {
    FakeDns dns;
    dns.records["vpn.example.test"] = {"2001:db8::7", "192.0.2.7"};
    dns.start();
    TempFile resolv_conf("# written by the test\nnameserver 127.0.0.1\n");
    const auto r = resolve_host("vpn.example.test", config_for(dns, resolv_conf, "/nonexistent/hosts"));
    INFO(r.error);
    REQUIRE(r.ok());
    REQUIRE(r.addresses.size() == 2);
    CHECK(r.addresses[0] == make_address("192.0.2.7"));
    CHECK(r.addresses[1] == make_address("2001:db8::7"));
    CHECK(dns.queries() >= 1);
}

TEST_CASE("resolve: the hosts file comes before DNS") {
    FakeDns dns;
    dns.records["backend.example.test"] = {"192.0.2.99"};
    dns.start();
    TempFile resolv_conf("nameserver 127.0.0.1\n");
    TempFile hosts("127.0.0.1 localhost\n192.0.2.50 backend.example.test backend\n");
    const auto config = config_for(dns, resolv_conf, hosts.path());
    auto r = resolve_host("backend", config);
    REQUIRE(r.ok());
    CHECK(r.addresses == std::vector{make_address("192.0.2.50")});
    r = resolve_host("backend.example.test", config);
    REQUIRE(r.ok());
    CHECK(r.addresses == std::vector{make_address("192.0.2.50")});
    CHECK(dns.queries() == 0);
}

TEST_CASE("resolve: an unknown name is an error naming the files and the server") {
    FakeDns dns;
    dns.start();
    TempFile resolv_conf("nameserver 127.0.0.1\n");
    const auto config = config_for(dns, resolv_conf, "/nonexistent/hosts");
    const auto r = resolve_host("nowhere.example.test", config);
    CHECK_FALSE(r.ok());
    CHECK(r.addresses.empty());
    INFO(r.error);
    CHECK(r.error.find("no address in /nonexistent/hosts or DNS") != std::string::npos);
    CHECK(r.error.find(resolv_conf.path() + ": 127.0.0.1:" + std::to_string(dns.port())) != std::string::npos);
    CHECK(dns.queries() >= 1);
}

TEST_CASE("resolve: a server that never answers is a timeout, bounded by the configuration") {
    FakeDns dns;
    dns.silent = true;
    dns.start();
    TempFile resolv_conf("nameserver 127.0.0.1\n");
    const auto started = std::chrono::steady_clock::now();
    const auto r = resolve_host("vpn.example.test", config_for(dns, resolv_conf, "/nonexistent/hosts"));
    const auto took = std::chrono::steady_clock::now() - started;
    CHECK_FALSE(r.ok());
    INFO(r.error);
    CHECK(r.error.find("no answer from DNS") != std::string::npos);
    CHECK(took < std::chrono::seconds(5));
}

TEST_CASE("resolve: concurrent calls from several threads each get their answer") {
    FakeDns dns;
    for (int i = 0; i < 4; ++i) dns.records["host" + std::to_string(i) + ".example.test"] = {"192.0.2." + std::to_string(i + 1)};
    dns.start();
    TempFile resolv_conf("nameserver 127.0.0.1\n");
    const auto config = config_for(dns, resolv_conf, "/nonexistent/hosts");
    std::vector<std::thread> threads;
    std::atomic<int> right{0};
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&, i] {
            for (int k = 0; k < 5; ++k) {
                const auto r = resolve_host("host" + std::to_string(i) + ".example.test", config);
                if (r.ok() && r.addresses.front() == make_address("192.0.2." + std::to_string(i + 1))) ++right;
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(right == 20);
}

TEST_CASE("resolve: an empty name is refused without a lookup") {
    const auto r = resolve_host("");
    CHECK_FALSE(r.ok());
    CHECK(r.error == "empty name");
}
