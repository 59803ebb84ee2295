// Looks a name up in the text of an /etc/hosts-style file ("address name alias... # comment").
// Pure (no file access) so its parsing is unit-tested; net/resolve reads the file and calls it.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <string_view>
#include <vector>

namespace porthop::net {

// Every address whose line names `name` (case-insensitively, as the resolver library does), in
// file order, without duplicates. Lines whose first field is not an IP address are skipped,
// as glibc and musl skip them.
std::vector<boost::asio::ip::address> hosts_lookup(std::string_view hosts_text, std::string_view name);

}  // namespace porthop::net
