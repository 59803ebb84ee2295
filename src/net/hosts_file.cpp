#include "porthop/net/hosts_file.hpp"

#include <algorithm>
#include <cctype>

namespace porthop::net {

namespace {

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r'; }

bool same_name(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// The next whitespace-separated field of `line` from `pos`, or empty at the end.
std::string_view next_field(std::string_view line, std::size_t& pos) noexcept {
    while (pos < line.size() && is_space(line[pos])) ++pos;
    const auto start = pos;
    while (pos < line.size() && !is_space(line[pos])) ++pos;
    return line.substr(start, pos - start);
}

}  // namespace

std::vector<boost::asio::ip::address> hosts_lookup(std::string_view text, std::string_view name) {
    std::vector<boost::asio::ip::address> found;
    // A trailing dot means the same absolute name; hosts files write names without it.
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.empty()) return found;
    while (!text.empty()) {
        const auto eol = text.find('\n');
        auto line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
        if (const auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        std::size_t pos = 0;
        const auto address_text = next_field(line, pos);
        if (address_text.empty()) continue;
        boost::system::error_code ec;
        // make_address accepts "fe80::1%eth0"; a scope is meaningless for a relay peer but harmless.
        const auto address = boost::asio::ip::make_address(std::string(address_text), ec);
        if (ec) continue;
        for (auto field = next_field(line, pos); !field.empty(); field = next_field(line, pos)) {
            if (!same_name(field, name)) continue;
            if (std::find(found.begin(), found.end(), address) == found.end()) found.push_back(address);
            break;
        }
    }
    return found;
}

}  // namespace porthop::net
