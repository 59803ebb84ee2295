// The server's checks on native clients (DESIGN.md, "Security rules"), as one component that
// owns its state: which protocol a listener carries, the mac1 firewall, the per-source
// handshake rate and session cap (SourceLimiter), native roaming (NativeRoaming), and the
// anti-amplification rule for each native UDP session (its NativeState).
//
// It decides and counts; it never touches sockets or the session table. The server asks it
// about each datagram and carries out the answer (relay/server_impl.hpp: admit_native_udp,
// roam, the backend -> client loop). Runs on one event loop, per datagram, without allocating:
// its tables are sized when it is made.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "porthop/crypto/mac1.hpp"
#include "porthop/net/endpoint.hpp"
#include "porthop/relay/counters.hpp"
#include "porthop/relay/guard_tables.hpp"
#include "porthop/wire/protocol.hpp"

namespace porthop::relay {

// What the guard keeps per native UDP session (TCP and agent sessions keep the default: a TCP
// handshake or an authenticated attach already proved the address).
struct NativeState {
    // Anti-amplification: until the client shows that it receives what is sent to its address
    // (`validated`), at most `amplification` times the bytes it sent go back to it.
    bool validated = true;
    std::uint8_t amplification = 1;
    // Opened by a datagram that is not a handshake (a WireGuard transport message after a relay
    // restart, or a forgery).
    bool opened_by_data = false;
    // Moved to another address since it opened: its socket's history no longer says anything
    // about the client's current address.
    bool roamed = false;
    // The backend sent a data packet (WireGuard transport, OpenVPN P_DATA) on this session.
    bool backend_sent_data = false;
    std::uint64_t ovpn_backend_sid = 0;  // OpenVPN: the backend's session id (0: none seen)
    std::uint64_t ovpn_client_sid = 0;   // OpenVPN: the client's session id (0: none seen)
    // OpenVPN: the backend's answer to the client's hard reset did not echo the client's session
    // id in clear, i.e. its control channel is encrypted (tls-crypt, tls-crypt-v2).
    bool ovpn_control_encrypted = false;
    // OpenVPN, several workers: the peer-id last written to the directory (relay/directory.hpp).
    std::uint32_t directory_peer_id = 0xFFFFFFFFu;
    // The session's byte counts when it last roamed: the cap counts from there.
    std::uint64_t from_client_bytes_at_move = 0, to_client_bytes_at_move = 0;
};

class NativeGuard {
public:
    using Clock = std::chrono::steady_clock;

    // How much an unvalidated native session may receive, as a multiple of what it sent
    // (native_guard.cpp says why these numbers).
    static constexpr std::uint8_t kAmplificationWireGuard = 1;
    static constexpr std::uint8_t kAmplificationOpenVpn = 3;
    // Sessions the roaming table tracks at most (allocated when the guard is made).
    static constexpr std::size_t kMaxRoamingSessions = 65536;

    struct Config {
        wire::Protocol protocol = wire::Protocol::any;
        SourceLimiter::Limits source_limits;
        std::size_t max_sessions = 0;
        Clock::duration idle_timeout{};
        std::optional<crypto::WgKey> wg_public_key;  // mac1 is checked with it when set
    };

    // What a session's traffic tells the directory (several workers): an id the client's later
    // datagrams will carry, that leads to this session.
    struct DirectoryNote {
        enum class Kind : std::uint8_t { none, wireguard_index, openvpn_peer_id } kind = Kind::none;
        std::uint64_t id = 0;
    };

    // Sizes the tables for `config`; mac1 is not checked until configure() succeeds.
    NativeGuard(const Config& config, Counters& counters);
    // Applies `config` (at start and on reload): the protocol, the mac1 key and the source
    // limits; the table sizes stay as made. Fails, changing nothing, only if mac1 is asked for
    // and OpenSSL lacks BLAKE2s.
    std::optional<std::string> configure(const Config& config);

    // ---- client -> backend ----
    // The listener's protocol and the mac1 firewall; false: dropped (counted).
    bool passes_filters(const wire::Native& native, std::span<const std::byte> datagram) noexcept;
    // A handshake token of the peer's source; false: over its rate (counted).
    bool allow_handshake(const net::Endpoint& peer, Clock::time_point now) noexcept;
    // A session slot of the peer's source; nullopt: refused (counted; `at_cap` says whether the
    // source holds its share, else the table is full or the address has no source).
    std::optional<SourceKey> acquire_source(const net::Endpoint& peer, Clock::time_point now, bool& at_cap) noexcept;
    // The same for a session restored after a restart: best effort and not counted (it was
    // admitted before).
    std::optional<SourceKey> restore_source(const net::Endpoint& peer, Clock::time_point now) noexcept {
        return limiter_.acquire_session(peer, now);
    }
    // The state a new native UDP session starts with, opened by `first`.
    static NativeState open_state(const wire::Native& first) noexcept;
    // A client datagram through session `id`: learns its ids and may validate it.
    void observe(std::uint64_t id, NativeState& state, const wire::Native& native,
                 std::span<const std::byte> datagram, Clock::time_point now) noexcept;

    // ---- roaming ----
    // The session a datagram from an unknown address names (by WireGuard index or OpenVPN
    // session id / peer-id), if any.
    std::optional<std::uint64_t> find_roaming(const wire::Native& native, Clock::time_point now) noexcept;
    // May session `id` move to the datagram's address? Counted by verdict.
    Move accept_move(std::uint64_t id, const wire::Native& native, std::span<const std::byte> datagram,
                     Clock::time_point now) noexcept;
    // The session moved: a new address has proved nothing yet, so the reply cap applies again.
    static void moved(NativeState& state, std::uint64_t from_client_bytes, std::uint64_t to_client_bytes) noexcept;

    // ---- backend -> client ----
    // The backend's datagram to session `id`: learns its indices and ids and may validate it;
    // `note` receives what the directory should learn. False when the anti-amplification cap
    // holds it back (counted). `pending`: what this batch already queued for the client.
    bool admit_to_client(std::uint64_t id, NativeState& state, std::span<const std::byte> datagram,
                         std::uint64_t from_client_bytes, std::uint64_t to_client_bytes, std::uint64_t& pending,
                         Clock::time_point now, DirectoryNote& note) noexcept;

    // The session ended: its source slot and its roaming entries are given back.
    void release(std::uint64_t id, std::optional<SourceKey>& source, Clock::time_point now) noexcept;
    // A source slot taken for a session that did not open.
    void release_source(const SourceKey& source, Clock::time_point now) noexcept {
        limiter_.release_session(source, now);
    }

    const Config& config() const noexcept { return config_; }
    static SourceLimiter::Limits limiter_limits(const Config& config) noexcept;
    static NativeRoaming::Limits roaming_limits(const Config& config) noexcept;

private:
    void validate(NativeState& state) noexcept;
    void validate_encrypted_ovpn(NativeState& state, const wire::ovpn::Packet& from_backend,
                                 std::span<const std::byte> datagram) noexcept;

    Config config_;
    Counters* counters_;
    std::optional<crypto::Mac1Verifier> mac1_;
    SourceLimiter limiter_;
    NativeRoaming roaming_;
};

}  // namespace porthop::relay
