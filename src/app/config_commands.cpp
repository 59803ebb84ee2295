// `porthop check-config` and `porthop genkey`.
#include <iostream>
#include <string>

#include "command_support.hpp"
#include "porthop/app/commands.hpp"
#include "porthop/app/config.hpp"
#include "porthop/crypto/hop_key.hpp"

namespace porthop::app {

int commands::check_config(const std::string& path) {
    const auto loaded = load_config_file(path);
    print_report(loaded);
    if (!loaded.ok()) return 1;
    std::cout << to_toml(loaded.config);
    return 0;
}

// The key goes to stdout only, nothing else does: `porthop genkey > key` leaves exactly the
// key in the file, and no log line ever holds it.
int commands::genkey() {
    if (!crypto::init_sodium()) {
        std::cerr << "porthop: libsodium cannot initialise (no randomness source?)\n";
        return 1;
    }
    std::cout << crypto::format_hop_key(crypto::generate_hop_key()) << "\n";
    return std::cout.flush() ? 0 : 1;
}

}  // namespace porthop::app
