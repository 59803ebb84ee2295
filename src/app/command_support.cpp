#include "command_support.hpp"

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <iostream>

#include "porthop/app/commands.hpp"

namespace porthop::app {

void print_report(const ConfigResult& result) {
    for (const auto& w : result.warnings) std::cerr << "warning: " << w.to_string() << "\n";
    for (const auto& e : result.errors) std::cerr << "error: " << e.to_string() << "\n";
}

ConfigResult load_or_defaults(const std::string& path) {
    if (path.empty()) return parse_config("", "(built-in defaults)");
    return load_config_file(path);
}

boost::asio::ip::tcp::endpoint metrics_endpoint(const MetricsConfig& m) {
    return {boost::asio::ip::make_address(m.listen.host), m.listen.port};
}

ProcessInfo process_info() {
    ProcessInfo info;
    info.version = PORTHOP_VERSION;
    info.start_time_seconds =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    return info;
}

// PORTHOP_IO_URING is defined for the io_uring build of the I/O layers (cmake/Layers.cmake):
// this file is compiled once per backend, like Asio's choice of it.
const char* commands::event_backend() {
#if defined(PORTHOP_IO_URING)
    return "io_uring";
#else
    return "epoll";
#endif
}

}  // namespace porthop::app
