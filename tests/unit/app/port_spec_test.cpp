// parse_port_range / expand_ports / to_string: port entries as written in the configuration.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "porthop/app/port_spec.hpp"

using porthop::app::expand_ports;
using porthop::app::parse_port_range;
using porthop::app::PortRange;

TEST_CASE("parse_port_range: accepted forms", "[app][port_spec]") {
    struct Row {
        const char* text;
        std::uint16_t first, last;
    };
    const Row rows[] = {
        {"1", 1, 1},           {"443", 443, 443},     {"65535", 65535, 65535},
        {"40000-40099", 40000, 40099}, {"5-5", 5, 5}, {"1-65535", 1, 65535},
        {"00443", 443, 443},  // leading zeros are still plain decimal digits
    };
    for (const auto& row : rows) {
        INFO(row.text);
        std::string why = "untouched";
        const auto range = parse_port_range(row.text, why);
        REQUIRE(range.has_value());
        CHECK(range->first == row.first);
        CHECK(range->last == row.last);
        CHECK(why == "untouched");
    }
}

TEST_CASE("parse_port_range: rejected forms say why", "[app][port_spec]") {
    struct Row {
        const char* text;
        const char* why;  // the exact reason
    };
    const Row rows[] = {
        {"", "'' is not a port number"},
        {"0", "port 0 is out of range (1-65535)"},
        {"65536", "port 65536 is out of range (1-65535)"},
        {"99999999999999999999", "port 99999999999999999999 is out of range (1-65535)"},
        {"-1", "'-1' is not a port number"},
        {"abc", "'abc' is not a port number"},
        {" 443", "' 443' is not a port number"},
        {"443 ", "'443 ' is not a port number"},
        {"0x1bb", "'0x1bb' is not a port number"},
        {"+443", "'+443' is not a port number"},
        {"500-400", "range '500-400' runs backwards"},
        {"1-", "'' is not a port number"},
        {"-5", "'-5' is not a port number"},
        {"1-2-3", "'2-3' is not a port number"},
        {"0-10", "port 0 is out of range (1-65535)"},
        {"10-65536", "port 65536 is out of range (1-65535)"},
        {"1 - 2", "'1 ' is not a port number"},
    };
    for (const auto& row : rows) {
        INFO("'" << row.text << "'");
        std::string why;
        CHECK_FALSE(parse_port_range(row.text, why).has_value());
        CHECK(why == row.why);
    }
}

TEST_CASE("expand_ports: ascending, each port once", "[app][port_spec]") {
    CHECK(expand_ports({}).empty());
    CHECK(expand_ports({{443, 443}}) == std::vector<std::uint16_t>{443});
    // Overlapping, duplicated and out-of-order entries.
    CHECK(expand_ports({{10, 12}, {443, 443}, {11, 14}, {1, 1}, {443, 443}, {12, 12}}) ==
          std::vector<std::uint16_t>{1, 10, 11, 12, 13, 14, 443});
    // The top of the range does not wrap the loop counter.
    CHECK(expand_ports({{65534, 65535}}) == std::vector<std::uint16_t>{65534, 65535});
    const auto all = expand_ports({{1, 65535}, {100, 200}});
    REQUIRE(all.size() == 65535);
    CHECK(all.front() == 1);
    CHECK(all.back() == 65535);
}

TEST_CASE("to_string(PortRange) is what parse_port_range reads back", "[app][port_spec]") {
    struct Row {
        PortRange range;
        const char* text;
    };
    const Row rows[] = {{{443, 443}, "443"}, {{1, 1}, "1"}, {{40000, 40099}, "40000-40099"},
                        {{65535, 65535}, "65535"}, {{1, 65535}, "1-65535"}};
    for (const auto& row : rows) {
        CHECK(porthop::app::to_string(row.range) == row.text);
        std::string why;
        const auto back = parse_port_range(row.text, why);
        REQUIRE(back.has_value());
        CHECK(*back == row.range);
    }
}
