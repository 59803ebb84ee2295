// A QR code drawn with text, for `porthop invite`: a phone's camera reads it off the terminal.
// The symbol comes from libqrencode (Debian's libqrencode-dev) where the build has it; the
// static router builds do not, and say so instead of drawing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace porthop::app {

// Square, row by row; true = a dark module.
using QrModules = std::vector<std::vector<bool>>;

// The symbol for `text` (byte mode, error correction level L: a screen is a clean medium, and
// the lowest level keeps a long link's code small), or nullopt with the reason in `why`.
std::optional<QrModules> qr_encode(std::string_view text, std::string& why);

// Two module rows per text line with the half-block characters (U+2580, U+2584, U+2588) and a
// quiet zone of two modules around the symbol. Light modules are drawn, dark ones left blank,
// so the code reads on the usual light-on-dark terminal; `colour` also sets the colours (white
// on black, ANSI), so it reads on a light terminal too. Pure.
std::string qr_text(const QrModules& modules, bool colour);

}  // namespace porthop::app
