// The QR code as text: two module rows per line, light modules drawn, a quiet zone around.
#include "porthop/app/qr_text.hpp"

#include <catch2/catch.hpp>

using namespace porthop;

TEST_CASE("qr text: half blocks, quiet zone, colour only when asked", "[app][qr]") {
    // A 2x2 symbol: dark, light / light, dark.
    const app::QrModules m{{true, false}, {false, true}};
    const auto text = app::qr_text(m, false);
    // 2 + 2 + 2 = 6 modules square: 3 lines of 6 characters.
    const std::string full = "\u2588", top = "\u2580", bottom = "\u2584";
    std::string expected;
    expected += full + full + full + full + full + full + "\n";         // quiet rows 0-1
    expected += full + full + bottom + top + full + full + "\n";        // rows 2-3: (dark over light), (light over dark)
    expected += full + full + full + full + full + full + "\n";         // quiet rows 4-5
    CHECK(text == expected);
    const auto coloured = app::qr_text(m, true);
    CHECK(coloured.rfind("\x1b[97;40m", 0) == 0);
    CHECK(coloured.find("\x1b[0m\n") != std::string::npos);
}

TEST_CASE("qr text: a link's symbol", "[app][qr]") {
    std::string why;
    const auto m = app::qr_encode("porthop://vpn.example.org/1?key=x", why);
#if defined(PORTHOP_TEST_HAVE_QRENCODE)
    REQUIRE(m);
    CHECK(m->size() % 4 == 1);  // 21, 25, ...: 17 + 4 * version
    CHECK(m->size() >= 21);
    for (const auto& line : *m) CHECK(line.size() == m->size());
    // The finder pattern's corner: dark.
    CHECK((*m)[0][0]);
    CHECK((*m)[6][6]);
    CHECK_FALSE((*m)[7][7]);  // its separator: light
#else
    CHECK_FALSE(m);
    CHECK_THAT(why, Catch::Contains("without libqrencode"));
#endif
}
