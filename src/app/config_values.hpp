// The kinds of value several configuration keys share (ports, addresses, the hop-link key, the
// hop interval, the datagram limit): how each is read and checked, and how it is written back
// as TOML. Private to the config sources; the keys that use them are in config_*_keys.cpp.
#pragma once

#include <type_traits>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config_reader.hpp"
#include "porthop/app/config.hpp"
#include "porthop/app/duration.hpp"

namespace porthop::app {

// Letters, digits, '-', '.', '_': what a DNS name (or a /etc/hosts alias) is written with.
bool is_host_name(std::string_view host);
bool is_ip_literal(std::string_view host);
// "[v6]:port", "v4:port", "name:port"; nullopt with `why` set otherwise.
std::optional<HostPort> parse_host_port(std::string_view text, std::string& why);
// "host:port", with brackets around an IPv6 literal: the form `backend` is written in.
std::string net_string(const HostPort& hp);

enum class Empty { allowed, refused };
void read_ports(Reader& r, const toml::node& node, const std::string& key, std::vector<PortRange>& out,
                Empty empty = Empty::allowed);
// "ip:port" for a socket porthop binds; `hint` ends the "is not an IP address" message.
std::optional<HostPort> read_bind_address(Reader& r, const toml::node& node, const std::string& key,
                                          const std::string& hint);
void read_key(Reader& r, const toml::node& node, const std::string& key, std::optional<crypto::HopKey>& out);
void read_hop_interval(Reader& r, const toml::node& node, const std::string& key, std::chrono::seconds& out);
void read_max_datagram(Reader& r, const toml::node& node, const std::string& key, std::uint32_t& out);

// TOML value text, as to_toml writes it. Strings go between double quotes unescaped: the readers
// refuse quotes, backslashes and newlines in every string a valid configuration holds.
std::string toml_string(std::string_view text);
std::string toml_strings(const std::vector<std::string>& items);
std::string toml_ports(const std::vector<PortRange>& ports);

// Row building blocks (config_keys.hpp) for a key that is one field of its section, named by a
// pointer to the field: &ServerConfig::udp.
template <class>
struct FieldOf;
template <class S, class T>
struct FieldOf<T S::*> {
    using Section = S;
};
template <auto Field>
using SectionOf = typename FieldOf<decltype(Field)>::Section;

template <auto Field, std::int64_t Min, std::int64_t Max>
void read_number(Reader& r, const toml::node& node, const std::string& key, SectionOf<Field>& out) {
    if (auto v = r.integer(node, key, Min, Max)) out.*Field = static_cast<std::remove_cvref_t<decltype(out.*Field)>>(*v);
}
template <auto Field, Empty empty = Empty::allowed>
void read_port_field(Reader& r, const toml::node& node, const std::string& key, SectionOf<Field>& out) {
    read_ports(r, node, key, out.*Field, empty);
}
template <auto Field>
void read_key_field(Reader& r, const toml::node& node, const std::string& key, SectionOf<Field>& out) {
    read_key(r, node, key, out.*Field);
}
template <auto Field>
void read_hop_interval_field(Reader& r, const toml::node& node, const std::string& key,
                             SectionOf<Field>& out) {
    read_hop_interval(r, node, key, out.*Field);
}
template <auto Field>
void read_max_datagram_field(Reader& r, const toml::node& node, const std::string& key,
                             SectionOf<Field>& out) {
    read_max_datagram(r, node, key, out.*Field);
}

template <auto Field>
std::optional<std::string> write_number(const SectionOf<Field>& in) {
    return std::to_string(in.*Field);
}
template <auto Field>
std::optional<std::string> write_ports(const SectionOf<Field>& in) {
    return toml_ports(in.*Field);
}
template <auto Field>
std::optional<std::string> write_duration(const SectionOf<Field>& in) {
    return toml_string(format_duration(in.*Field));
}
// Absent stays absent: there is no text that means "no key".
template <auto Field>
std::optional<std::string> write_hop_key(const SectionOf<Field>& in) {
    if (!(in.*Field)) return std::nullopt;
    return toml_string(crypto::format_hop_key(*(in.*Field)));
}

}  // namespace porthop::app
