// `porthop bench`: the loopback benchmark (app/bench.hpp) with progress on stderr and the
// results on stdout.
#include <iostream>
#include <string>
#include <vector>

#include "porthop/app/bench.hpp"
#include "porthop/app/commands.hpp"
#include "porthop/base/log.hpp"

namespace porthop::app {

// `porthop bench`: progress on stderr, the results on stdout (a table, or JSON only).
int commands::bench(const CommandLine& cl) {
    // The relay's session lines would bury the table; warnings still show.
    base::set_log_level(base::LogLevel::warn);
    BenchOptions options;
    options.per_case = std::chrono::seconds{cl.bench_seconds};
    std::cerr << "porthop bench: 6 cases of " << cl.bench_seconds
                  << " s on loopback (generator -> relay -> sink, one worker, built-in defaults, "
              << commands::event_backend() << ")\n";
    std::vector<BenchResult> results;
    const auto problem = run_bench(options, results, [&](const std::string& step) {
        std::cerr << "  " << step << "\n";
    });
    if (problem) {
        std::cerr << "porthop bench: " << *problem << "\n";
        return 1;
    }
    std::cout << (cl.bench_json ? bench_json(results) : bench_table(results));
    return std::cout.flush() ? 0 : 1;
}

}  // namespace porthop::app
