#include "porthop/app/qr_text.hpp"

#if defined(PORTHOP_HAVE_QRENCODE)
#include <qrencode.h>
#endif

#include <memory>

namespace porthop::app {

std::optional<QrModules> qr_encode(std::string_view text, std::string& why) {
#if defined(PORTHOP_HAVE_QRENCODE)
    const std::string z(text);  // libqrencode reads a C string
    std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
        QRcode_encodeString8bit(z.c_str(), 0, QR_ECLEVEL_L), &QRcode_free);
    if (!code) {
        why = "libqrencode cannot encode " + std::to_string(text.size()) + " bytes";
        return std::nullopt;
    }
    const auto width = static_cast<std::size_t>(code->width);
    QrModules out(width, std::vector<bool>(width));
    // Bit 0 of each byte is the module's colour; the other bits say what the module is for.
    for (std::size_t y = 0; y < width; ++y)
        for (std::size_t x = 0; x < width; ++x) out[y][x] = (code->data[y * width + x] & 1) != 0;
    return out;
#else
    (void)text;
    why = "this build of porthop has no QR code support (built without libqrencode)";
    return std::nullopt;
#endif
}

std::string qr_text(const QrModules& modules, bool colour) {
    constexpr std::size_t kQuiet = 2;
    const std::size_t size = modules.size() + 2 * kQuiet;
    // Outside the symbol is the quiet zone: light.
    const auto dark = [&](std::size_t y, std::size_t x) {
        if (y < kQuiet || x < kQuiet || y >= kQuiet + modules.size() || x >= kQuiet + modules.size()) return false;
        return bool(modules[y - kQuiet][x - kQuiet]);
    };
    std::string out;
    for (std::size_t y = 0; y < size; y += 2) {
        if (colour) out += "\x1b[97;40m";
        for (std::size_t x = 0; x < size; ++x) {
            const bool top = !dark(y, x);
            const bool bottom = y + 1 < size && !dark(y + 1, x);
            out += top && bottom ? "\u2588" : top ? "\u2580" : bottom ? "\u2584" : " ";
        }
        if (colour) out += "\x1b[0m";
        out += '\n';
    }
    return out;
}

}  // namespace porthop::app
