// porthop bench's pure parts: the generator's window and the two output formats. The
// benchmark itself runs in tests/cli/bench_test.sh (ctest cli.bench).
#include "porthop/app/bench.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "porthop/app/bench_load.hpp"

using namespace porthop::app;

TEST_CASE("bench: the generator's window holds ~160 KiB, 32 to 256 datagrams", "[app][bench]") {
    CHECK(window_for(64) == 232);
    CHECK(window_for(1400) == 80);
    CHECK(window_for(0) == 256);      // capped: never more than 256 in flight
    CHECK(window_for(65507) == 32);  // at least one batch
}

namespace {
BenchResult result(const char* path, std::size_t size) {
    BenchResult r;
    r.path = path;
    r.size = size;
    r.sent = 1000;
    r.delivered = 990;
    r.seconds = 2;
    r.pps = 495;
    r.mbps = 495.0 * static_cast<double>(size) * 8 / 1e6;
    r.cpu_us_per_packet = 1.25;
    r.process_cpu_us_per_packet = 3.5;
    return r;
}
}  // namespace

TEST_CASE("bench: JSON is an array of objects with the documented keys", "[app][bench]") {
    const auto json = bench_json({result("native-udp", 64), result("native-tcp", 1400)});
    CHECK(json.front() == '[');
    CHECK(json.find("]\n") == json.size() - 2);
    CHECK(json.find(R"({"path": "native-udp", "size": 64, "pps": 495.0, "mbps": 0.253, )"
                    R"("cpu_us_per_packet": 1.2500, "process_cpu_us_per_packet": 3.5000, "sent": 1000, )"
                    R"("delivered": 990, "seconds": 2.000},)") != std::string::npos);
    CHECK(json.find(R"({"path": "native-tcp", "size": 1400, "pps": 495.0, "mbps": 5.544, )") != std::string::npos);
    CHECK(bench_json({}) == "[\n]\n");  // no cases: still valid JSON
}

TEST_CASE("bench: the table has a row per case with the loss", "[app][bench]") {
    const auto table = bench_table({result("hoplink-udp", 1400)});
    CHECK(table.find("datagrams/s") != std::string::npos);
    CHECK(table.find("hoplink-udp  1400           495       5.5     1.25     3.50   1.0%") != std::string::npos);
}
