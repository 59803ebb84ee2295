#include "porthop/app/status_fetch.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace porthop::app {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::optional<std::string> http_get(const std::string& host, std::uint16_t port, const std::string& target,
                                    std::chrono::milliseconds deadline, std::string& why) {
    asio::io_context io;
    beast::tcp_stream stream(io);
    beast::flat_buffer buffer;
    http::request<http::empty_body> request{http::verb::get, target, 11};
    request.set(http::field::host, host);
    request.set(http::field::user_agent, "porthop-status");
    http::response<http::string_body> response;
    boost::system::error_code result = asio::error::would_block;
    boost::system::error_code address_error;
    const auto address = asio::ip::make_address(host, address_error);
    if (address_error) {
        why = host + " is not an IP address";
        return std::nullopt;
    }
    // The whole exchange under one deadline: connect, write, read.
    stream.expires_after(deadline);
    stream.async_connect(asio::ip::tcp::endpoint(address, port), [&](const boost::system::error_code& ec) {
        if (ec) {
            result = ec;
            return;
        }
        http::async_write(stream, request, [&](const boost::system::error_code& wec, std::size_t) {
            if (wec) {
                result = wec;
                return;
            }
            http::async_read(stream, buffer, response,
                             [&](const boost::system::error_code& rec, std::size_t) { result = rec; });
        });
    });
    io.run();
    if (result == beast::error::timeout) {
        why = "no answer within " + std::to_string(deadline.count()) + " ms";
        return std::nullopt;
    }
    if (result) {
        why = result.message();
        return std::nullopt;
    }
    if (response.result() != http::status::ok) {
        why = "HTTP " + std::to_string(response.result_int());
        return std::nullopt;
    }
    return std::move(response.body());
}

}  // namespace porthop::app
