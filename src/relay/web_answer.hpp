// PLACEHOLDER: replaced by the web-answer branch (helper). Interface only.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "porthop/net/endpoint.hpp"
#include "porthop/wire/http_response.hpp"

namespace porthop::relay {

class WebConnection {
public:
    virtual ~WebConnection() = default;
    virtual void close() = 0;
};

struct WebOptions {
    std::optional<net::Endpoint> decoy;
    wire::SitePage page;
    std::chrono::milliseconds header_timeout{std::chrono::seconds{60}};
    std::chrono::milliseconds keepalive_timeout{std::chrono::seconds{65}};
    std::chrono::system_clock::time_point (*wall_clock)() = &std::chrono::system_clock::now;
    std::function<void(const std::string&)> warn;
};

enum class WebMode { site, plain_http_on_tls_port };

template <class Stream>
std::shared_ptr<WebConnection> serve_site(Stream stream, std::span<const std::byte> preread, const WebOptions& options,
                                          WebMode mode, std::chrono::steady_clock::time_point deadline,
                                          std::function<void()> on_closed);
template <class Stream>
std::shared_ptr<WebConnection> splice_to_decoy(Stream stream, std::span<const std::byte> preread,
                                               const WebOptions& options, std::function<void()> on_closed);

}  // namespace porthop::relay
