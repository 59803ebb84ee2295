// crypto/frame_mask: the keystream that masks one hop-link v2 frame (not yet on the wire).
//
// The known answers come from tests/vectors/make_mask_vectors.py, which writes ChaCha20 from
// RFC 8439's description (checked there against the RFC's own vectors) and derives the mask
// subkey with hashlib's BLAKE2b: no libsodium, no porthop code. The rest checks the contract
// the codec will rely on: a frame masked in pieces (head, then payload) equals one mask over the
// whole, at every split point and across block boundaries; masking twice unmasks; skip().
#include "porthop/crypto/frame_mask.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "../../support/bytes.hpp"
#include "../../support/hop_vectors.hpp"

// A namespace of its own: with unity builds the files of a test target share a translation
// unit, so the local names here must not meet another file's.
namespace frame_mask_test {

using namespace porthop;
using crypto::MaskSalt;
using crypto::MaskStream;
using test::Bytes;
using test::hex;
using test::pattern;

struct Vector {
    const char* salt;
    const char* masked;  // pattern(1500) masked with that salt and the counting key's mask subkey
};

// python3 tests/vectors/make_mask_vectors.py --cpp
// (salt, then pattern(1500) masked; every length in kLengths is a prefix)
const Vector kVectors[] = {
    {"0000000000000000",
     "fb85c543529bcd334998455a7d87a62362d438cfb7bbb934dad8a264c3caaa6c"
     "c3d8dca660d247180364bc2859670c2a01208924c2fff70d0195321f23ee75aa"
     "e49aef5325473eea61cdce62a249112506ab8f8d2a84b4766a18653bf600a6c3"
     "4cc027cc95b2247638cdbf47a47a22b1a3d2ded7fcc8305cb7379d0ced9b2d41"
     "0ca5fab5c93d2b02c615747843d3dea1b2ea5bfee1dd98b64178a9384762c0e4"
     "51f2ad315b2d639fac4ab4698957921451d2f88d86cafd7f41942453105996a4"
     "a5882a3b592cdd07d83c9b1a3ec8f22298bb8dcf8af084aaba45e19daf33d19b"
     "9540a48ea76d40a6d97930588d37d6f06e3555eaf6de72314bc575c7c80a3e7a"
     "02d38201c825eafdb0a3fbdc80b5b31f6ca97a9f974e6e6eedaf2b55e87fba74"
     "f84de026028ac0541be5e0a7c9f00befb47082fd0a4fa642b5e0b073c2d248ca"
     "014736d928374301a918eee02ba05090f9f21f21768de36dc39f58155265ea4b"
     "f136d5ff517e2a118fd757ec2edd564427a9411cc0e23cf59532f9053fd24b88"
     "1f9d2e52d39b575bef418abeb1c83b0ceee5b0acc26d77568f9b6c76b0552b42"
     "0e7ad66c5adf5d572b1855ee7a7e56bed8adc06a5afd6ea49972e8b284d61b30"
     "d43916dd27fa0091c750cb11d3545310969c876aab3da4b32a3f6da5787f6be5"
     "35e1b18792a28222b2f702ee2209651c50aa6e4a01c8056335cfc6c8c56071ec"
     "6730063284db716bfa9722f2b0d36d8f089ecf92a8de1191d4ec972aa6f3cc19"
     "b449adf7e7d1918e7e105e3a1e6039c6d38f5bb2cc95b5dafedf177e88c37b5a"
     "153ecf5defb165ced9a50fc9794052181540f432f4d9f25c32906db248487078"
     "a2bf5c8418c6a385f60cef048e68142d5ff2f77fe53121dd1e87e795d25eab08"
     "0c1f432e39fa768f1630d121ec305f7f3341ee63cdfe79c0a32d6eb65fdec2ea"
     "e0d3280ef7b05c1fe2b9e3a5151b03caaffc6faff860a9fd3009c5cd12dc3fa6"
     "9dd009285ee9ba0dbacfeca3104c7b8eff43410d6f0e6e4af1f6b9a1afecd408"
     "d7a31492ed39d178a5ff6462a5096c50869a46ecda6c65ba75fe2e05460dbf87"
     "4fb7fdc50eb7e18fed00b4a8e60f0fd2ee0c98a9b3e48a900e4db60a77b5dbe3"
     "dd123233ba55747902afb137723662d595988ff55a5082114b18a360f03e5f1c"
     "1b8a1838f1df467d6e78ad0b8dd80c5e45f4fe69bf718f76221fc1a02c16d1a8"
     "064cc9cc65184b7b6767ecd785d2661ace7ee6d6b9c0a0f24e9512e99eab70ac"
     "9b19f0c524d9e9e5ce7d65f8ca444a461feec982381a6a40075140f51a3734d5"
     "68cc754f9905885b6e10183844572922d43e90fb8a9da963331f592a58ae8336"
     "78bd943ed4a33374a528809a5ea00b280e37d777f42b545de61b490fe7384c1e"
     "08c0a243219ec5d1b87ae1ea2ade5e9263d2f69c2fd5a0f28e77e21f5137d74b"
     "3e97a39e74e81b88b7ed97561d1a2d888d8f97f37dc2f7829718980585dba808"
     "c1625efa3da4eaa7e137297da1afd282827882edab2d700fd74a3d5cf4f9c551"
     "31ca40f094ded3a5ae71266da3580784fc0f22f9a387f025ad420af15aba22e1"
     "54c0578b2d35b20b97b0c9b48db8c874392b4087f2809d34d966b95340e0f872"
     "924191592a1135f7599491623957bdb607ab0734073697f551ad8e6591d51e2a"
     "36255bf4d46ce3d50e25aff18f8946bff4a1dcc9bc7884b6bf3b9f5069fd96e0"
     "b6f4e1e06b9851a0dfdc080e93c201ec8e9b6d7a103b78074db89ecff9b13f4d"
     "ebe28c257838b305fa78b4092405134384ac8e8bd6f5df477ec8d649d1f6e2f6"
     "e6d5200cc436233e0bc89e044ae3d34c7b638a036829a5a320d0c5ff7eb7b3b7"
     "49163ed0e0d1c56ca5c29bc6c424692164e3b0acc4a1bcf12b52296b3c890223"
     "770a37a208d8f544e01a6f0e2b79aaa9a5b61301c795de7b6a6c5735ca7d97ec"
     "1ddeed225d266e11cbd216f8ef1494bdb981955e8f73b7a44ba5095950f98021"
     "8ca0f21b1d104d68140137bcb96f2359c683f7ab8d2d8066f03358f60aeee625"
     "8bf210c6f0c4de05fa668d6778e7868abafbfc9861133ee27217cf0f75c33093"
     "a27222580636ebb2ee27c365d40955e4c0f1a4865c88ccd5f3d113a3"},
    {"0001020304050607",
     "9a678fcc3fa98be1313b3c9649fbffdc6573187e2750616c3acc192f4f33d062"
     "996d4dc742c9174dce3a677da5c972f232ca946b43d1c055f779b8213f269339"
     "b6bceaaac025a4e07558174cb0fc95fbc2aaa463ebd462854520e307a70e55c9"
     "40983d71710dbeb61e50c5de1be23af32433293f0ec03107bf12ef5133945d17"
     "0f9ae0cb3caec952a34a31a6e100a10075a46d80eb795668121c0b65103f21a8"
     "271bee38757caebf468a8323e5c53e52255efc157f4c6673e6b3ba06ea6ab08a"
     "d15b6ea45e4c4b560d571ce783fc98e230080dbb7b56963b43769a229c5ca888"
     "233d009b5bc12bf3351526686775258d2a4f7c1ef21cb70132ba2ed61871587a"
     "fcefe572cc0eea95f8e84e2abc2adb0371368af1cacbc2fee943db0333d397c9"
     "d407884e67ba867bb58b1ff13b60ae291a045367fc0f948b1691fe6b161e47dd"
     "7f09c05a195b582b669e5e532a289703a79025ba5d61432004bb1026251cc5ec"
     "46bd084a5646977d3a55b0d63010e82f35bb249a0a21a6c4564544df6d53d838"
     "d0c62060fbd5bb34c523e81627fe24d6af7d4910b21962d1babaad8377de4376"
     "a9e4b52b8b3675984154a1f52bca13545baac90059170082c77b16d85a0435d8"
     "1206061e25250f7a9ce7df8677c095261a8dce35c61a98c8711fe47fbf61a1c2"
     "ad1f333d6fbe789db87283c4ac88e826477aaa58bc6d18cb2c80c6536055e4f3"
     "0fe421e7878ffdf78a71589c3e83ae92702f56c86c5ffb5291ba99dc3ea2e588"
     "fee0ccd0ff359d5a6d003f68144fae40ad53181cfd2856359f8cf44c7e3007df"
     "af2ade9075836459272366c0831944f784ac7f6c10c9d23c585e3bfc55b344e9"
     "3e4f45a0a9a19c1db92ee5c23ed4650350067b9c2648af0ac103ef9c8ea5afe3"
     "5e1ec0bad5e547946eaef7bc10fe382c7e072a061e05e78cd7bb6c436aa9922f"
     "476a1d1914a929e9933cff1ee3c0e7ba61fdb2b15430281d181606fd2821ef3c"
     "694d90d66acb54ccf71d72f0714837438c8fcd65e7c2fc107280d196cb06a08d"
     "cfab7323816cb9f71cda927eeab12a4e58a29cc6ac447f924f0c41ade7ad4597"
     "f48eae23e7c224b7c752659924e4b2e8a97ec57a3dff1400979cc8f2f7314aab"
     "07d3d706c24c4116c474ec5d6f35da79d2d399753c69f899b4f93e988fec18c6"
     "095cad3baad172484679f36bb133eac79709508bff68c7b7e473ad2303ddfcbd"
     "632c3c31b41dfdcbb122a4fe10dbfd1eeb427f1accf0ab4417fef2f9fda1fdcc"
     "e2365ad39720ca3fb71251cac3ec8918996a3c0ef37c8f0f2a5b3d796cd26fed"
     "e99ac4049e456b26b9e2bbeca893f12a512e2821548423e46a7d49991fff6d1f"
     "c1d337641f81bd236b90a8ccf1c1bb3176307e0d0f2e63e4d9746c813e1a5951"
     "8fc6e27f9d668479a0a860c4865306acc79a3aab6c519845e98798ff36582d04"
     "1ff3272bb7bdab3b3292385431f6dd6aee2368899d33a42e86b1719187bac09b"
     "b6325cc10f10063d8b92867fef1a89cf17a3b004b7ef8307a4d29878fe0ed651"
     "1c09eb96afcbfdfbe39dd12d54e32d258cf2cba07d5dc541c816733dcac4d2dc"
     "b2719c2b4a1572a32ddfe3a6b4e0cb0871c4138c21c68b4c1244fdddbb2e2003"
     "10e42aa9e100341366f9f5b230810fa38a86f668524c0f3a2227279e06464d2b"
     "de977f595749ab3ca0a14b4807c6e2bebeb480927ca1229c6449f42876974be2"
     "67e6122946fed03b39c25d22d7f33043ff2bd9404c0dad7291f903e54222c3b9"
     "1d6a5ebacb83cde432e79d724d22279057b72c688efe72483f27571695d1e482"
     "7c3b996233bc1050755c0f4e261cfa69ace56f9cd9786fdf04c3c2e57feca407"
     "86272afe6620e7432eb42e8954d2383455126dc28cffa62a726b13d10822837f"
     "8ffc3edb65e26fe7d643329bb5bdb69fda3ad6251673e181525efe6f42cf2089"
     "759cedfc56e082b1f40ded38a309766d0e909cd19c23bb3c0f00dc53f942d0de"
     "8db2d1647bafe62bdd5f11fe6c9f71a2b04806353a9f3d0cad5b9210b1469c14"
     "1ecf3ee2a7b2ddf52495fd0c0ba3092017b0b0d072718957fa1f4fc2f8d95cb6"
     "197e1441c3cc79a96ebf0c915213ac3676b53476933a7d13b3649618"},
    {"f0e1d2c3b4a59687",
     "4529e8208c19989d8ecd98d2878af4704606b2d3caf80c539ddb1b2fc3eef4aa"
     "10fb63d2ec7a8e53ea7dd6cc8f17332d52b77ca9d18778e44e8ed1569979d152"
     "1d746cdbf9504fb76364826488ad78eb9d742af4f4847c3d40ee34618adb5ea0"
     "b8c9f4eb99dc7aab78a6b2e366fd2cd3f88021699796862700b9b4095634fb88"
     "b8161f2a0a7a7d3063f9cada41670f5763cdad5ada6ee6a32d05631ecbf9665b"
     "32405e54e8c774c13efe27b29c1c5954994fd84fdc8593a38b7ddee93580f37c"
     "e4e6a1c17f3d0168a464ca15891cde9a7c859a0ec5130e2d8dead7ec461730e6"
     "86c375c83c26fd34b1eb16ad7dfac2fc1fc8de4b67bb9875d0cce2ba5042e7d8"
     "82900c54e2981d36fc4b42031fdd897fc9a7dd31938dbf4c220e62acb68656fe"
     "08ab945c91ff029932d6d82afc1c768dd1d4bd3cd2e4b3702d6e10fa7d7f5a95"
     "fa2b9edbf8f463e522b20ba6e84765e29a1915d812d41fb026ac860cf515a6ca"
     "844f58837cde98db0af6a59a1df79dc7aab0f2a10f521a533f7f9e4f326379b8"
     "36399621c1087c8e77b8bb31805797aa9e9df3e5020edc2e0629b35571fb5bb9"
     "10a2b6b28989af092e76f11c2be475850fc46f25f20ba3ba97025e1be6c6a693"
     "f94f8fbc8be081aa2895b16eb37ae5bf227e89d0d550f9bb89dc30aaa8eda4a5"
     "d8df5eb5986a83616f4ba49691cf4045d06f9cc479153e259217cfeb225e3cb2"
     "05fa72fc9596dcf2d2faa8ab3d55af21a8950b624225789ea1087a39218b4891"
     "ad40e8f6bf0cc6173bac411244f9315e799514f8921f475fc87a2c68e127a30d"
     "bdc09f5e520267a698d4c390d98577b644fd8d8e83d6fb7d891148873e3f0bd5"
     "c032fd95e4b42e976a2a9ba325f727f47f2d4df55d2e6ed09fd23914662c70eb"
     "623d1d70e8c60eee7682231cc870ddc2729843dc9bfa7f5abac8c7dffe29ac1f"
     "b0ec1e6f64eea22e1b2df0526fdfb8deadd20868ae58ddfbd6f483bf66732ac9"
     "e101b711c305d3db3cc1ed04da4b34b4eceb49371cca35c3bd0956c33101836f"
     "0ae6eea226aec86436df55b2036bb6c5599088b0fd0948437a56605207506674"
     "0acdaa8a5f15190bfc751824018c6aca725a7dc81c1b2135398b84fa5ed9a30c"
     "3e97a81099c81ba060215c335f63282998ea08cb6be4712c9753d8c7eef6ceb6"
     "a2ea10b578bc0d16ae0ea233abdf7a518042dc443c78a18a03c404d0af326b35"
     "c77c7475533df4b080ff5c1c2e48203a685efc7640201fed294f7bf134121cd1"
     "5cd9487574bc778288851cb47c793427323ce5e0298657e0b949648a4865f26b"
     "e5c2fc7b72c89af35a57495acff16773120755ae0e3f25bbbb2b12b5534a85b5"
     "40fb3f8cee421363f5a0bc3596ce5c4a136daa3e395e1e2425eeeacc43e8dc83"
     "b23640b9f2d1b336a4e67f6bbe8b133435c256fe0580ecec8a35de67e737bd0e"
     "f25c5fe0ebc077d1f27d7fade1dc8326ddcbb15f12adfdd74125bc9aabf0d413"
     "5d61d5ac84ea5c9bfdd6ecc44de665c7e37adeda80e91b67d697be67333bcd14"
     "65a0fdf173d105bfcde072eff9b668f006eb00f440d049a88615347329f6271b"
     "ef623160b992b556d70423833d4a06a57c4054f1d5d29fa265fdcdb5e74d5952"
     "77792ddf7bcc34e3568a6366ee73aec8808d08c11e3586280c86721374dc85fb"
     "69d787fe4c74ece78497e1d6fda0c8f93e832812e911ecb567162056fbeca704"
     "16a64b4a88cdd022f7702fb435101e2e245b36a56f1ac968c845a3c3d1935d5f"
     "99570065e9b67c320ef879bf7784a907387ab5d181b719af6cb2d687a4c80165"
     "b3148eedad07adf61ca6faa871d7ec0e10fb599e9badb194395597069ff8d6fd"
     "b38f16f60d5f302d41c833bfecf3ab4af3e223a3ee612a3894695b29ce18f7c2"
     "291013af2988735451a1de7716223eed4c2e67d62ca99e32ed7047077abb2773"
     "6d172d1a42485074334f0cf3ae67a83b8e5fca288a9e2ce8b7f08ddc7f162b6c"
     "2b9900c1362dd05b099739798f4b2e405c45a268a6db0d01a206c0052ba29381"
     "e691919a74d742cec96176dd1094a4eaa00200f7ffa518ac27364ac2ebc0a009"
     "96c998b8fa4d3a968f205a757656e6c057c72c5ee69d9e59b087cbdd"},
};

constexpr std::size_t kLengths[] = {0, 1, 50, 64, 65, 200, 1500};

// The vectors above are for direction byte 0 (nonce = salt || 00 00 00 00), a value no frame
// uses; the two real directions are checked by tests/unit/hop/frame_codec_v2_test.cpp against
// tests/vectors/make_v2_vectors.py, and below against each other.
constexpr crypto::MaskDirection kDirection{0};

crypto::HopKey mask_key() { return crypto::derive_hop_keys(test::counting_key()).mask; }

MaskSalt salt_of(const std::string& digits) { return test::hex_array<crypto::kMaskSaltSize>(digits); }

MaskSalt salt_from(std::uint64_t value) {
    MaskSalt salt{};
    for (std::size_t i = 0; i < salt.size(); ++i) salt[i] = static_cast<std::byte>(value >> (8 * i));
    return salt;
}

// `data` masked by one apply() over all of it.
Bytes masked_whole(const crypto::HopKey& key, const MaskSalt& salt, Bytes data) {
    MaskStream stream(key, salt, kDirection);
    stream.apply(data);
    CHECK(stream.position() == data.size());
    return data;
}

// `data` masked by one apply() per piece, the pieces ending at `cuts` (ascending).
Bytes masked_in_pieces(const crypto::HopKey& key, const MaskSalt& salt, Bytes data,
                       const std::vector<std::size_t>& cuts) {
    MaskStream stream(key, salt, kDirection);
    std::size_t from = 0;
    for (std::size_t to : cuts) {
        stream.apply(std::span<std::byte>(data).subspan(from, to - from));
        from = to;
    }
    stream.apply(std::span<std::byte>(data).subspan(from));
    CHECK(stream.position() == data.size());
    return data;
}

TEST_CASE("frame mask: pattern(n) masked matches the RFC 8439 vectors at every length",
          "[crypto][framemask]") {
    const auto key = mask_key();
    for (const Vector& v : kVectors) {
        const Bytes expected = hex(v.masked);
        REQUIRE(expected.size() == 1500);
        for (std::size_t n : kLengths) {
            INFO("salt " << v.salt << ", length " << n);
            const Bytes got = masked_whole(key, salt_of(v.salt), pattern(n));
            CHECK(got == Bytes(expected.begin(), expected.begin() + static_cast<std::ptrdiff_t>(n)));
        }
        // The keystream itself: zeros masked are the vector XOR the pattern.
        Bytes keystream = masked_whole(key, salt_of(v.salt), Bytes(1500));
        const Bytes plain = pattern(1500);
        for (std::size_t i = 0; i < keystream.size(); ++i) keystream[i] ^= plain[i];
        CHECK(keystream == expected);
    }
}

TEST_CASE("frame mask: two pieces equal one apply, at every split point of 200 bytes",
          "[crypto][framemask]") {
    const auto key = mask_key();
    const auto salt = salt_of(kVectors[1].salt);
    const Bytes whole = masked_whole(key, salt, pattern(200));
    for (std::size_t cut = 0; cut <= 200; ++cut) {
        INFO("cut at " << cut);
        CHECK(masked_in_pieces(key, salt, pattern(200), {cut}) == whole);
    }
}

TEST_CASE("frame mask: three pieces equal one apply, for every pair of cuts in 200 bytes",
          "[crypto][framemask]") {
    // The second cut lands after a first piece that ran past block 0 (whole blocks and a tail
    // in one libsodium call), so the third piece reloads the tail block: every such case.
    const auto key = mask_key();
    const auto salt = salt_of(kVectors[2].salt);
    const Bytes whole = masked_whole(key, salt, pattern(200));
    std::size_t differing = 0;
    for (std::size_t first = 0; first <= 200; ++first) {
        for (std::size_t second = first; second <= 200; ++second) {
            if (masked_in_pieces(key, salt, pattern(200), {first, second}) != whole) {
                ++differing;
                UNSCOPED_INFO("cuts at " << first << " and " << second);
            }
        }
    }
    CHECK(differing == 0);
}

TEST_CASE("frame mask: pieces of many sizes across 64-byte blocks equal the vector", "[crypto][framemask]") {
    const auto key = mask_key();
    const Vector& v = kVectors[0];
    const Bytes expected = hex(v.masked);
    // Piece sizes around block multiples; each list is repeated until 1500 bytes are masked.
    const std::vector<std::vector<std::size_t>> sizes = {
        {1},   {7},         {63},       {64}, {65}, {127, 1}, {128}, {129, 63}, {1, 64, 2, 128, 3},
        {500}, {1400, 100}, {32, 1468},
    };
    for (const auto& list : sizes) {
        std::vector<std::size_t> cuts;
        std::size_t at = 0;
        for (std::size_t i = 0; at < 1500; ++i) {
            at = std::min<std::size_t>(1500, at + list[i % list.size()]);
            cuts.push_back(at);
        }
        INFO("pieces starting " << list.front() << ", " << cuts.size() << " pieces");
        CHECK(masked_in_pieces(key, salt_of(v.salt), pattern(1500), cuts) == expected);
    }
}

TEST_CASE("frame mask: masking twice restores the input", "[crypto][framemask]") {
    const auto key = mask_key();
    for (std::size_t n : kLengths) {
        for (std::uint64_t s : {0ull, 1ull, 0x0123456789abcdefull}) {
            const Bytes plain = pattern(n, static_cast<unsigned>(s & 0xFF) + 5);
            Bytes data = plain;
            MaskStream(key, salt_from(s), kDirection).apply(data);
            if (n > 8) CHECK(data != plain);
            // Unmasked in other pieces than it was masked in: the keystream, not the calls, matters.
            MaskStream unmask(key, salt_from(s), kDirection);
            const std::size_t head = std::min<std::size_t>(n, 3);
            unmask.apply(std::span<std::byte>(data).first(head));
            unmask.apply(std::span<std::byte>(data).subspan(head));
            INFO("length " << n << ", salt " << s);
            CHECK(data == plain);
        }
    }
}

TEST_CASE("frame mask: a copy taken before apply undoes it", "[crypto][framemask]") {
    // How a codec can look under the mask of a frame and hand it back unchanged if it refuses
    // it: keep a copy of the stream, apply it over the same bytes.
    static_assert(sizeof(MaskStream) <= 128);  // a cheap copy, on the stack
    const auto key = mask_key();
    const Bytes expected = hex(kVectors[1].masked);  // starts with pattern(200) masked
    for (std::size_t already : {0, 1, 63, 64, 65, 130}) {
        MaskStream stream(key, salt_of(kVectors[1].salt), kDirection);
        Bytes head(already);  // a header masked first, so the copy carries a used block
        stream.apply(head);
        const MaskStream saved = stream;
        Bytes data = pattern(200);
        stream.apply(data);
        CHECK(stream.position() == already + 200);
        if (already == 0) CHECK(data == Bytes(expected.begin(), expected.begin() + 200));
        const Bytes plain = pattern(200);
        INFO("after " << already << " bytes");
        CHECK(data != plain);
        MaskStream undo = saved;
        undo.apply(data);
        CHECK(data == plain);
        CHECK(saved.position() == already);
    }
}

TEST_CASE("frame mask: different salts and keys give different keystreams", "[crypto][framemask]") {
    const auto key = mask_key();
    // Salts one bit apart (each of the 64 bits), and the base salt: 65 different first blocks.
    const std::uint64_t base = 0x0123456789abcdef;
    std::set<Bytes> blocks{masked_whole(key, salt_from(base), Bytes(64))};
    for (int bit = 0; bit < 64; ++bit)
        blocks.insert(masked_whole(key, salt_from(base ^ (std::uint64_t{1} << bit)), Bytes(64)));
    CHECK(blocks.size() == 65);

    // A longer stream too: no 64-byte block of one salt's 1500 bytes appears in another's.
    const Bytes a = masked_whole(key, salt_from(1), Bytes(1536));
    const Bytes b = masked_whole(key, salt_from(2), Bytes(1536));
    std::set<Bytes> a_blocks;
    for (std::size_t i = 0; i < a.size(); i += 64) a_blocks.insert(Bytes(a.begin() + i, a.begin() + i + 64));
    CHECK(a_blocks.size() == 24);  // nor does a block repeat within one stream
    for (std::size_t i = 0; i < b.size(); i += 64)
        CHECK(a_blocks.count(Bytes(b.begin() + i, b.begin() + i + 64)) == 0);

    // Another key (the auth subkey, or the master key), the same salt: another keystream.
    const auto keys = crypto::derive_hop_keys(test::counting_key());
    CHECK(masked_whole(keys.auth, salt_from(base), Bytes(64)) !=
          masked_whole(key, salt_from(base), Bytes(64)));
    CHECK(masked_whole(test::counting_key(), salt_from(base), Bytes(64)) !=
          masked_whole(key, salt_from(base), Bytes(64)));
}

TEST_CASE("frame mask: skip moves along the keystream and touches no byte", "[crypto][framemask]") {
    const auto key = mask_key();
    const Vector& v = kVectors[1];
    const Bytes expected = hex(v.masked);
    const Bytes plain = pattern(1500);
    for (std::size_t skipped : {0, 1, 2, 50, 63, 64, 65, 100, 127, 128, 129, 700, 1499, 1500}) {
        for (std::size_t length : {0, 1, 13, 64, 65, 200}) {
            const std::size_t n = std::min(length, 1500 - skipped);
            MaskStream stream(key, salt_of(v.salt), kDirection);
            stream.skip(skipped);
            CHECK(stream.position() == skipped);
            Bytes data(plain.begin() + static_cast<std::ptrdiff_t>(skipped),
                       plain.begin() + static_cast<std::ptrdiff_t>(skipped + n));
            stream.apply(data);
            INFO("skip " << skipped << ", then " << n << " bytes");
            CHECK(data == Bytes(expected.begin() + static_cast<std::ptrdiff_t>(skipped),
                                expected.begin() + static_cast<std::ptrdiff_t>(skipped + n)));
            CHECK(stream.position() == skipped + n);
        }
    }
    // Between applies, and in several steps: apply 10, skip 60, apply 10, skip 0, skip 200, apply 300.
    Bytes data = plain;
    MaskStream stream(key, salt_of(v.salt), kDirection);
    stream.apply(std::span<std::byte>(data).subspan(0, 10));
    stream.skip(60);
    stream.apply(std::span<std::byte>(data).subspan(70, 10));
    stream.skip(0);
    stream.skip(200);
    stream.apply(std::span<std::byte>(data).subspan(280, 300));
    CHECK(stream.position() == 580);
    for (std::size_t i = 0; i < data.size(); ++i) {
        const bool masked = i < 10 || (i >= 70 && i < 80) || (i >= 280 && i < 580);
        INFO("byte " << i);
        CHECK(data[i] == (masked ? expected[i] : plain[i]));
    }
}

TEST_CASE("frame mask: the direction byte gives each direction its own keystream", "[crypto][framemask]") {
    const auto key = mask_key();
    const auto salt = salt_of(kVectors[1].salt);
    Bytes none(200), up(200), down(200);
    MaskStream(key, salt, kDirection).apply(none);
    MaskStream(key, salt, crypto::MaskDirection::agent_to_server).apply(up);
    MaskStream(key, salt, crypto::MaskDirection::server_to_agent).apply(down);
    Bytes vector_stream = hex(kVectors[1].masked);  // direction 0: pattern(1500) masked
    const Bytes plain = pattern(200);
    vector_stream.resize(200);
    for (std::size_t i = 0; i < plain.size(); ++i) vector_stream[i] ^= plain[i];
    CHECK(none == vector_stream);
    CHECK(up != none);
    CHECK(down != none);
    CHECK(up != down);
    std::size_t equal = 0;
    for (std::size_t i = 0; i < up.size(); ++i) equal += up[i] == down[i];
    CHECK(equal < 10);  // about 200 / 256 expected by chance
}

TEST_CASE("frame mask: zero-length spans change nothing", "[crypto][framemask]") {
    const auto key = mask_key();
    const Vector& v = kVectors[2];
    const Bytes expected = hex(v.masked);
    // Empty spans at the start, inside a block, at a block boundary and after the first block
    // (a default span has no storage at all): the result is one apply over the 200 bytes.
    Bytes data = pattern(200);
    MaskStream stream(key, salt_of(v.salt), kDirection);
    stream.apply({});
    stream.apply(std::span<std::byte>(data).first(0));
    CHECK(stream.position() == 0);
    stream.apply(std::span<std::byte>(data).first(30));
    stream.apply(std::span<std::byte>(data).subspan(30, 0));
    stream.apply(std::span<std::byte>(data).subspan(30, 34));
    stream.apply({});
    CHECK(stream.position() == 64);
    stream.apply(std::span<std::byte>(data).subspan(64, 100));
    stream.apply({});
    stream.skip(0);
    stream.apply(std::span<std::byte>(data).subspan(164));
    stream.apply({});
    CHECK(stream.position() == 200);
    CHECK(data == Bytes(expected.begin(), expected.begin() + 200));
}

}  // namespace frame_mask_test
