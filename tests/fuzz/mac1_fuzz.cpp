// libFuzzer target: crypto::Mac1Verifier on arbitrary datagrams, with the keys of the
// captured wireguard-go exchange (tests/fixtures). Checks: verify never accepts anything but a
// well-formed initiation or response; for any well-formed one, writing the mac1 that compute()
// gives makes it verify, and changing a covered byte makes it fail again; and verify/compute
// never allocate (OpenSSL's allocator is counted, as mac1.hpp promises).
#include <openssl/crypto.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "porthop/crypto/mac1.hpp"
#include "porthop/wire/wireguard.hpp"

namespace crypto = porthop::crypto;
namespace wg = porthop::wire::wg;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

// OpenSSL's allocations, counted. Installed in LLVMFuzzerInitialize, before OpenSSL's first
// allocation (OpenSSL refuses a late switch; then `counting` stays false and nothing is checked).
std::size_t openssl_allocations = 0;
bool counting = false;
void* counted_malloc(std::size_t n, const char*, int) {
    ++openssl_allocations;
    return std::malloc(n);
}
void* counted_realloc(void* p, std::size_t n, const char*, int) {
    ++openssl_allocations;
    return std::realloc(p, n);
}
void counted_free(void* p, const char*, int) { std::free(p); }

crypto::Mac1Verifier make(const char* base64) {
    std::string why;
    auto v = crypto::Mac1Verifier::from_base64(base64, why);
    check(v.has_value());
    return std::move(*v);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    counting = CRYPTO_set_mem_functions(counted_malloc, counted_realloc, counted_free) == 1;
    std::fprintf(stderr, "mac1_fuzz: checking that verify does not allocate: %s\n", counting ? "yes" : "no");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static crypto::Mac1Verifier responder = make("bDvOSj2irNp4BXyqhBigLIMVcVFEQ4x7bHjtLjMyy3A=");
    static crypto::Mac1Verifier initiator = make("XlBRocbwHThhcJPuzNo4bNL4eTP4PhxJm38UqoJfEVM=");

    const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
    const auto layout = wg::mac_layout(wg::classify(in).kind);
    const std::size_t allocations_before = openssl_allocations;
    const bool by_responder = responder.verify(in);
    const bool by_initiator = initiator.verify(in);
    check(!counting || openssl_allocations == allocations_before);
    if (!layout) {
        check(!by_responder && !by_initiator);
        return 0;
    }

    std::vector<std::byte> m(in.begin(), in.end());
    for (auto* v : {&responder, &initiator}) {
        check(v->compute(std::span(m).first(layout->mac1), std::span<std::byte, crypto::kMac1Size>(
                                                               m.data() + layout->mac1, crypto::kMac1Size)));
        check(v->verify(m));
        check(!counting || openssl_allocations == allocations_before);
        // A covered byte after the 4-byte header (changing those would change the type).
        const std::size_t at = 4 + (size > 4 ? data[size - 1] : 0) % (layout->mac1 - 4);
        m[at] ^= std::byte{0x01};
        check(!v->verify(m));
        m[at] ^= std::byte{0x01};
    }
    return 0;
}
