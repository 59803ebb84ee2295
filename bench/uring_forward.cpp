// uring_forward: a minimal UDP forwarder written directly against liburing, so that
// bench/throughput.sh can measure porthop's io_uring build next to a hand-written io_uring relay
// on the same path. Standalone (no porthop code, no Asio). One client, one backend.
//
//   uring_forward --listen IP:PORT --backend IP:PORT [--no-gso] [--buffers N] [--buffer-size B]
//   uring_forward --probe      exit 0 if this kernel runs everything used below, else 1 and why
//
// Two UDP sockets: `client`, bound to --listen and connected to the first client that sends
// (after its first datagram, which is forwarded with plain send()), and `backend`, connected to
// --backend. Each has one multishot recv (IORING_RECV_MULTISHOT) that draws its buffers from a
// provided-buffer ring (IORING_REGISTER_PBUF_RING, N buffers of B bytes). The datagrams received
// in one turn of the loop go out on the other socket from the same buffers (no copy): runs of
// equal-size datagrams (the last may be shorter, up to 64 and 64 KiB) as one IORING_OP_SENDMSG
// with UDP GSO (UDP_SEGMENT, as porthop sends: one trip through the stack for the whole run),
// the rest, or everything with --no-gso, one IORING_OP_SEND each. A buffer goes back to the
// ring when its send completes. One io_uring_submit_and_wait() per turn submits the sends
// prepared from the last turn's completions and collects the next ones. The ring is set up
// SINGLE_ISSUER | DEFER_TASKRUN (completion work runs in this thread, when it waits), with a
// plain setup as the fallback on older kernels. GSO is used only for datagrams that fit the
// path MTU (IP_MTU), and turned off for good if the kernel refuses it (EIO, EINVAL, ...).
//
// When every buffer is waiting for its send, the multishot recv ends with ENOBUFS; it is armed
// again as soon as a buffer is back, and meanwhile datagrams wait (or are dropped) at the socket
// as they would for any relay that cannot keep up. A datagram longer than B bytes is truncated
// (the benchmark sends at most 1400).
//
// Stops on SIGINT/SIGTERM and prints one line, "uring_forward stopped key=value ...", with the
// packets and bytes forwarded each way and the error counts (bench/throughput.sh keeps it).
// Exit status: 0 stopped, 1 runtime error, 2 usage error.
#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

[[noreturn]] void usage(const char* message) {
    std::fprintf(
        stderr,
        "uring_forward: %s\n"
        "usage: uring_forward --listen IP:PORT --backend IP:PORT [--no-gso] [--buffers N] [--buffer-size B]\n"
        "       uring_forward --probe\n",
        message);
    std::exit(2);
}

[[noreturn]] void die(const char* what, int error) {
    std::fprintf(stderr, "uring_forward: %s: %s\n", what, std::strerror(error));
    std::exit(1);
}

sockaddr_in parse_endpoint(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) usage("expected IP:PORT");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    const std::string host(text.substr(0, colon));
    if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) usage("expected an IPv4 address");
    const long port = std::strtol(std::string(text.substr(colon + 1)).c_str(), nullptr, 10);
    if (port <= 0 || port > 65535) usage("bad port");
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    return a;
}

// user_data: what the operation is, and for a send the buffer it carries (a GSO send: its slot).
enum Op : std::uint64_t {
    recv_client = 1,
    recv_backend = 2,
    send_backend = 3,
    send_client = 4,
    send_gso = 5
};
constexpr std::uint64_t user_data(Op op, unsigned index = 0) { return op | (std::uint64_t{index} << 8); }
constexpr unsigned kGroup = 0;  // the provided-buffer group id
constexpr unsigned kGsoMaxSegments = 64;
constexpr unsigned kGsoMaxBytes = 65535 - 20 - 8;

struct Stats {
    std::uint64_t to_backend_packets = 0, to_backend_bytes = 0;
    std::uint64_t to_client_packets = 0, to_client_bytes = 0;
    std::uint64_t recv_errors = 0, send_errors = 0, out_of_buffers = 0, turns = 0;
    std::uint64_t gso_messages = 0, gso_datagrams = 0;
};

class Forwarder {
public:
    Forwarder(unsigned buffers, unsigned buffer_size, bool gso)
        : count_(buffers), size_(buffer_size), gso_(gso), slots_(buffers) {
        for (auto& pending : pending_) pending.reserve(buffers);
        free_slots_.reserve(buffers);
        for (unsigned i = 0; i < buffers; ++i) free_slots_.push_back(buffers - 1 - i);
    }

    // 0 or a negative errno, with `what` naming the step that failed.
    int setup(const char*& what) {
        io_uring_params p{};
        p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
        p.cq_entries = 4 * count_;
        int r = io_uring_queue_init_params(count_, &ring_, &p);
        if (r == -EINVAL) {  // before Linux 6.1: no DEFER_TASKRUN
            p = io_uring_params{};
            p.flags = IORING_SETUP_CQSIZE;
            p.cq_entries = 4 * count_;
            r = io_uring_queue_init_params(count_, &ring_, &p);
        }
        if (r < 0) return what = "io_uring_queue_init", r;
        ring_up_ = true;
        // The buffer ring: page-aligned, `count_` entries (a power of two), then the buffers.
        ring_bytes_ = count_ * sizeof(io_uring_buf);
        void* mem = mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
        if (mem == MAP_FAILED) return what = "mmap", -errno;
        br_ = static_cast<io_uring_buf_ring*>(mem);
        io_uring_buf_ring_init(br_);
        io_uring_buf_reg reg{};
        reg.ring_addr = reinterpret_cast<std::uint64_t>(br_);
        reg.ring_entries = count_;
        reg.bgid = kGroup;
        r = io_uring_register_buf_ring(&ring_, &reg, 0);
        if (r < 0) return what = "io_uring_register_buf_ring", r;
        data_ = static_cast<std::byte*>(std::aligned_alloc(4096, std::size_t{count_} * size_));
        if (!data_) return what = "aligned_alloc", -ENOMEM;
        for (unsigned i = 0; i < count_; ++i) give_back(i);
        io_uring_buf_ring_advance(br_, returned_);
        free_ = count_;
        returned_ = 0;
        return 0;
    }

    ~Forwarder() {
        if (ring_up_) io_uring_queue_exit(&ring_);
        if (br_) munmap(br_, ring_bytes_);
        std::free(data_);
    }

    // The loop: until a signal, or a fatal error (returned as a negative errno).
    int run(int client, int backend) {
        client_ = client;
        backend_ = backend;
        // GSO segments must each fit the path: only datagrams up to the MTU are coalesced.
        for (int d = 0; d < 2; ++d) {
            int mtu = 0;
            socklen_t len = sizeof mtu;
            gso_limit_[d] =
                getsockopt(d == 0 ? backend_ : client_, IPPROTO_IP, IP_MTU, &mtu, &len) == 0 && mtu > 28
                    ? static_cast<unsigned>(mtu - 28)
                    : 0;
        }
        arm(client_, recv_client);
        arm(backend_, recv_backend);
        while (!g_stop) {
            const int r = io_uring_submit_and_wait(&ring_, 1);
            if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY && r != -ETIME) return r;
            ++stats.turns;
            unsigned head, seen = 0;
            io_uring_cqe* cqe;
            io_uring_for_each_cqe(&ring_, head, cqe) {
                complete(*cqe);
                ++seen;
            }
            io_uring_cq_advance(&ring_, seen);
            flush(0);
            flush(1);
            if (returned_) {
                io_uring_buf_ring_advance(br_, returned_);
                free_ += returned_;
                returned_ = 0;
            }
            // A recv that ran out of buffers waits for one to come back.
            if (!client_armed_ && free_ > 0) arm(client_, recv_client);
            if (!backend_armed_ && free_ > 0) arm(backend_, recv_backend);
            if (stop_after && stats.to_backend_packets + stats.to_client_packets >= stop_after) break;
        }
        return 0;
    }

    Stats stats;
    std::uint64_t stop_after = 0;  // packets forwarded; 0: until a signal
    bool gso_refused = false;      // the kernel refused a GSO send: turned off

private:
    std::byte* buffer(unsigned id) const { return data_ + std::size_t{id} * size_; }

    io_uring_sqe* sqe() {
        io_uring_sqe* s = io_uring_get_sqe(&ring_);
        if (!s) {  // the submission queue is full: hand it to the kernel, then there is room
            io_uring_submit(&ring_);
            s = io_uring_get_sqe(&ring_);
        }
        return s;
    }

    void arm(int fd, Op op) {
        io_uring_sqe* s = sqe();
        io_uring_prep_recv_multishot(s, fd, nullptr, 0, 0);
        s->flags |= IOSQE_BUFFER_SELECT;
        s->buf_group = kGroup;
        io_uring_sqe_set_data64(s, user_data(op));
        (op == recv_client ? client_armed_ : backend_armed_) = true;
    }

    void give_back(unsigned id) {
        io_uring_buf_ring_add(br_, buffer(id), size_, static_cast<unsigned short>(id),
                              io_uring_buf_ring_mask(count_), static_cast<int>(returned_++));
    }

    void complete(const io_uring_cqe& cqe) {
        const auto op = static_cast<Op>(cqe.user_data & 0xff);
        if (op == recv_client || op == recv_backend) {
            const bool from_client = op == recv_client;
            if (!(cqe.flags & IORING_CQE_F_MORE)) (from_client ? client_armed_ : backend_armed_) = false;
            if (cqe.flags & IORING_CQE_F_BUFFER) {
                const unsigned id = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
                --free_;
                if (cqe.res <= 0) {  // an empty datagram: nothing to send
                    give_back(id);
                    return;
                }
                pending_[from_client ? 0 : 1].push_back({id, static_cast<unsigned>(cqe.res)});
                return;
            }
            if (cqe.res == -ENOBUFS)
                ++stats.out_of_buffers;
            else if (cqe.res < 0)
                ++stats.recv_errors;  // ECONNREFUSED from an ICMP unreachable, typically
            return;
        }
        if (op == send_gso) {
            GsoSlot& slot = slots_[cqe.user_data >> 8];
            for (unsigned i = 0; i < slot.count; ++i) give_back(slot.ids[i]);
            free_slots_.push_back(static_cast<unsigned>(cqe.user_data >> 8));
            if (cqe.res < 0) {
                stats.send_errors += slot.count;
                const int e = -cqe.res;
                if (e == EIO || e == EINVAL || e == ENOPROTOOPT || e == EOPNOTSUPP)
                    gso_ = false, gso_refused = true;
                return;
            }
            ++stats.gso_messages;
            stats.gso_datagrams += slot.count;
            (slot.to_backend ? stats.to_backend_packets : stats.to_client_packets) += slot.count;
            (slot.to_backend ? stats.to_backend_bytes : stats.to_client_bytes) +=
                static_cast<std::uint64_t>(cqe.res);
            return;
        }
        const unsigned id = static_cast<unsigned>(cqe.user_data >> 8);
        give_back(id);
        if (cqe.res < 0) {
            ++stats.send_errors;
        } else if (op == send_backend) {
            ++stats.to_backend_packets;
            stats.to_backend_bytes += static_cast<std::uint64_t>(cqe.res);
        } else {
            ++stats.to_client_packets;
            stats.to_client_bytes += static_cast<std::uint64_t>(cqe.res);
        }
    }

    // The datagrams received this turn for direction `d` (0: to the backend, 1: to the client)
    // go out: GSO runs as one sendmsg each, the rest one send each.
    void flush(int d) {
        auto& pending = pending_[d];
        const int fd = d == 0 ? backend_ : client_;
        for (std::size_t i = 0; i < pending.size();) {
            const unsigned size = pending[i].length;
            std::size_t n = 1;
            if (gso_ && size <= gso_limit_[d] && !free_slots_.empty()) {
                unsigned total = size;
                while (i + n < pending.size() && n < kGsoMaxSegments) {
                    const unsigned next = pending[i + n].length;
                    if (next > size || total + next > kGsoMaxBytes) break;
                    total += next;
                    ++n;
                    if (next < size) break;  // a shorter segment can only be the last
                }
            }
            if (n == 1) {
                io_uring_sqe* s = sqe();
                io_uring_prep_send(s, fd, buffer(pending[i].id), pending[i].length, 0);
                io_uring_sqe_set_data64(s, user_data(d == 0 ? send_backend : send_client, pending[i].id));
            } else {
                const unsigned index = free_slots_.back();
                free_slots_.pop_back();
                GsoSlot& slot = slots_[index];
                slot.to_backend = d == 0;
                slot.count = static_cast<unsigned>(n);
                for (std::size_t k = 0; k < n; ++k) {
                    slot.ids[k] = static_cast<unsigned short>(pending[i + k].id);
                    slot.iov[k] = {buffer(pending[i + k].id), pending[i + k].length};
                }
                slot.msg = msghdr{};
                slot.msg.msg_iov = slot.iov;
                slot.msg.msg_iovlen = n;
                slot.msg.msg_control = slot.control;
                slot.msg.msg_controllen = sizeof slot.control;
                cmsghdr* c = CMSG_FIRSTHDR(&slot.msg);
                c->cmsg_level = SOL_UDP;
                c->cmsg_type = UDP_SEGMENT;
                c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
                const auto segment = static_cast<std::uint16_t>(size);
                std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
                io_uring_sqe* s = sqe();
                io_uring_prep_sendmsg(s, fd, &slot.msg, 0);
                io_uring_sqe_set_data64(s, user_data(send_gso, index));
            }
            i += n;
        }
        pending.clear();
    }

    struct Pending {
        unsigned id, length;
    };
    // A GSO sendmsg in flight: its header, iovecs and control message must live until it completes.
    struct GsoSlot {
        msghdr msg;
        iovec iov[kGsoMaxSegments];
        alignas(cmsghdr) unsigned char control[CMSG_SPACE(sizeof(std::uint16_t))];
        unsigned short ids[kGsoMaxSegments];
        unsigned count;
        bool to_backend;
    };

    unsigned count_, size_;
    bool gso_;
    std::vector<GsoSlot> slots_;
    std::vector<unsigned> free_slots_;
    std::vector<Pending> pending_[2];
    unsigned gso_limit_[2] = {0, 0};  // largest datagram to coalesce, per direction (MTU - 28)
    io_uring ring_{};
    bool ring_up_ = false;
    io_uring_buf_ring* br_ = nullptr;
    std::size_t ring_bytes_ = 0;
    std::byte* data_ = nullptr;
    unsigned returned_ = 0;  // buffers added to the ring since the last advance
    unsigned free_ = 0;      // buffers in the ring
    int client_ = -1, backend_ = -1;
    bool client_armed_ = false, backend_armed_ = false;
};

int udp_socket() {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket", errno);
    return fd;
}

// Everything the forwarder uses, on a pair of loopback sockets: ring setup, the buffer ring,
// a multishot recv that delivers a datagram and stays armed, a send.
int probe() {
    Forwarder f(8, 2048, true);
    const char* what = "";
    if (const int r = f.setup(what); r < 0) {
        std::printf("io_uring unavailable: %s: %s\n", what, std::strerror(-r));
        return 1;
    }
    const int a = udp_socket(), b = udp_socket();
    sockaddr_in lo{};
    lo.sin_family = AF_INET;
    lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof lo;
    sockaddr_in a_addr = lo, b_addr = lo;
    if (bind(a, reinterpret_cast<sockaddr*>(&a_addr), len) ||
        bind(b, reinterpret_cast<sockaddr*>(&b_addr), len) ||
        getsockname(a, reinterpret_cast<sockaddr*>(&a_addr), &len) ||
        getsockname(b, reinterpret_cast<sockaddr*>(&b_addr), &len) ||
        connect(a, reinterpret_cast<sockaddr*>(&b_addr), sizeof b_addr) ||
        connect(b, reinterpret_cast<sockaddr*>(&a_addr), sizeof a_addr))
        die("probe sockets", errno);
    // a -> forwarder's "client" socket b -> "backend" socket b: the datagram comes back to a.
    // (The same socket on both sides is enough to see each operation complete.)
    const char ping[] = "probe";
    if (send(a, ping, sizeof ping, 0) != sizeof ping) die("probe send", errno);
    struct sigaction sa {};
    sa.sa_handler = on_signal;  // no SA_RESTART: the wait returns EINTR
    sigaction(SIGALRM, &sa, nullptr);
    alarm(2);  // in case nothing completes
    f.stop_after = 1;
    f.run(b, b);
    alarm(0);
    char back[16];
    const auto n = recv(a, back, sizeof back, MSG_DONTWAIT);
    if (f.stats.to_backend_packets + f.stats.to_client_packets == 0 || n != sizeof ping) {
        std::printf("io_uring unavailable: multishot recv or send did not complete (recv errors %llu)\n",
                    static_cast<unsigned long long>(f.stats.recv_errors));
        return 1;
    }
    std::printf("ok\n");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::string_view listen, backend;
    unsigned buffers = 1024, buffer_size = 2048;
    bool do_probe = false, gso = true;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const auto value = [&]() -> std::string_view {
            if (i + 1 >= argc) usage("missing value");
            return argv[++i];
        };
        if (arg == "--listen")
            listen = value();
        else if (arg == "--backend")
            backend = value();
        else if (arg == "--buffers")
            buffers = static_cast<unsigned>(std::strtoul(std::string(value()).c_str(), nullptr, 10));
        else if (arg == "--buffer-size")
            buffer_size = static_cast<unsigned>(std::strtoul(std::string(value()).c_str(), nullptr, 10));
        else if (arg == "--probe")
            do_probe = true;
        else if (arg == "--no-gso")
            gso = false;
        else
            usage("unknown option");
    }
    if (do_probe) return probe();
    if (listen.empty() || backend.empty()) usage("--listen and --backend are required");
    if (buffers < 2 || buffers > 32768 || (buffers & (buffers - 1)))
        usage("--buffers: a power of two, 2..32768");
    if (buffer_size < 64 || buffer_size > 65536) usage("--buffer-size: 64..65536");

    struct sigaction sa {};
    sa.sa_handler = on_signal;  // no SA_RESTART: a blocked call returns EINTR and we stop
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    const sockaddr_in listen_addr = parse_endpoint(listen), backend_addr = parse_endpoint(backend);
    const int client = udp_socket(), up = udp_socket();
    const int one = 1;
    setsockopt(client, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(client, reinterpret_cast<const sockaddr*>(&listen_addr), sizeof listen_addr)) die("bind", errno);
    if (connect(up, reinterpret_cast<const sockaddr*>(&backend_addr), sizeof backend_addr))
        die("connect backend", errno);

    Forwarder f(buffers, buffer_size, gso);
    const char* what = "";
    if (const int r = f.setup(what); r < 0) die(what, -r);

    // The first datagram names the client: forward it, then connect to that client.
    std::string first(buffer_size, '\0');
    sockaddr_in peer{};
    socklen_t peer_len = sizeof peer;
    const auto n =
        recvfrom(client, first.data(), first.size(), 0, reinterpret_cast<sockaddr*>(&peer), &peer_len);
    int r = 0;
    if (n >= 0) {
        if (connect(client, reinterpret_cast<sockaddr*>(&peer), peer_len)) die("connect client", errno);
        if (send(up, first.data(), static_cast<std::size_t>(n), 0) == n) {
            ++f.stats.to_backend_packets;
            f.stats.to_backend_bytes += static_cast<std::uint64_t>(n);
        } else {
            ++f.stats.send_errors;
        }
        r = f.run(client, up);
    } else if (errno != EINTR) {
        die("recvfrom", errno);
    }
    const Stats& s = f.stats;
    std::printf(
        "uring_forward stopped to_backend_packets=%llu to_backend_bytes=%llu to_client_packets=%llu "
        "to_client_bytes=%llu recv_errors=%llu send_errors=%llu out_of_buffers=%llu loop_turns=%llu "
        "gso_messages=%llu gso_datagrams=%llu%s\n",
        static_cast<unsigned long long>(s.to_backend_packets),
        static_cast<unsigned long long>(s.to_backend_bytes),
        static_cast<unsigned long long>(s.to_client_packets),
        static_cast<unsigned long long>(s.to_client_bytes), static_cast<unsigned long long>(s.recv_errors),
        static_cast<unsigned long long>(s.send_errors), static_cast<unsigned long long>(s.out_of_buffers),
        static_cast<unsigned long long>(s.turns), static_cast<unsigned long long>(s.gso_messages),
        static_cast<unsigned long long>(s.gso_datagrams), f.gso_refused ? " gso=refused" : "");
    if (r < 0) die("io_uring_submit_and_wait", -r);
    return 0;
}
