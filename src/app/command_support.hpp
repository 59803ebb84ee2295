// What the commands (app/commands.hpp) share: loading a configuration and reporting its
// problems, the metrics endpoint's address, the process facts /metrics shows. Private to them.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <string>

#include "porthop/app/config.hpp"
#include "porthop/app/metrics_text.hpp"

namespace porthop::app {

// Warnings and errors on stderr, one per line.
void print_report(const ConfigResult& result);
// The file at `path`, or the built-in defaults when it is empty.
ConfigResult load_or_defaults(const std::string& path);
boost::asio::ip::tcp::endpoint metrics_endpoint(const MetricsConfig& m);
// Version and start time, as the process's /metrics reports them.
ProcessInfo process_info();

}  // namespace porthop::app
