#include "porthop/net/steering.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace porthop::net {

namespace {

// Fibonacci hashing: addresses of one subnet differ in their low bits, which the multiply
// spreads over the high half; the shift keeps the well-mixed bits.
constexpr std::uint32_t kMultiplier = 0x9E3779B1u;
constexpr std::uint32_t kShift = 16;

std::uint32_t load_be32(const unsigned char* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// Offsets into the IP header, relative to the network header (SKF_NET_OFF): the BPF program
// runs with the packet's data at the UDP payload (or TCP header), so it reaches back.
constexpr std::uint32_t kV4Source = 12;  // iphdr.saddr
constexpr std::uint32_t kV6Source = 8;   // ipv6hdr.saddr, first 32 bits; +4 the next 32

constexpr sock_filter statement(std::uint16_t code, std::uint32_t k) noexcept { return {code, 0, 0, k}; }

std::uint32_t net_offset(std::uint32_t offset) noexcept {
    return static_cast<std::uint32_t>(SKF_NET_OFF) + offset;
}

}  // namespace

std::uint32_t steering_worker(const Endpoint& client, std::uint32_t workers) noexcept {
    std::uint32_t h = 0;
    if (client.is_v6()) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(client.sockaddr_ptr())->sin6_addr.s6_addr;
        h = load_be32(a) ^ load_be32(a + 4);
    } else if (client.valid()) {
        const auto* a = reinterpret_cast<const unsigned char*>(
            &reinterpret_cast<const sockaddr_in*>(client.sockaddr_ptr())->sin_addr.s_addr);
        h = load_be32(a);
    }
    return ((h * kMultiplier) >> kShift) % workers;
}

SteeringProgram steering_program(bool v6, std::uint32_t workers) noexcept {
    SteeringProgram p;
    unsigned short n = 0;
    if (v6) {
        p.code[n++] = statement(BPF_LD | BPF_W | BPF_ABS, net_offset(kV6Source));
        p.code[n++] = statement(BPF_MISC | BPF_TAX, 0);
        p.code[n++] = statement(BPF_LD | BPF_W | BPF_ABS, net_offset(kV6Source + 4));
        p.code[n++] = statement(BPF_ALU | BPF_XOR | BPF_X, 0);
    } else {
        p.code[n++] = statement(BPF_LD | BPF_W | BPF_ABS, net_offset(kV4Source));
    }
    p.code[n++] = statement(BPF_ALU | BPF_MUL | BPF_K, kMultiplier);
    p.code[n++] = statement(BPF_ALU | BPF_RSH | BPF_K, kShift);
    p.code[n++] = statement(BPF_ALU | BPF_MOD | BPF_K, workers);
    p.code[n++] = statement(BPF_RET | BPF_A, 0);
    p.length = n;
    return p;
}

int attach_steering(int fd, bool v6, std::uint32_t workers) noexcept {
    auto program = steering_program(v6, workers);
    sock_fprog prog{program.length, program.code.data()};
    if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) != 0) return errno;
    return 0;
}

int steering_available() noexcept {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    const int one = 1;
    int err = 0;
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        err = errno;
    else
        err = attach_steering(fd, false, 2);
    ::close(fd);
    return err;
}

}  // namespace porthop::net
