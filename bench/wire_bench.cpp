// Micro-benchmarks for the pure wire layer (run: build/bench/bench_wire).
#include <benchmark/benchmark.h>

#include <vector>

#include "porthop/wire/framing.hpp"

namespace {

// Splitting a read buffer full of back-to-back frames, as the TCP path does per read.
void BM_SplitFrames(benchmark::State& state) {
    const auto payload = static_cast<std::size_t>(state.range(0));
    std::vector<std::byte> buffer;
    for (int i = 0; i < 64; ++i) {
        buffer.push_back(static_cast<std::byte>(payload >> 8));
        buffer.push_back(static_cast<std::byte>(payload & 0xFF));
        buffer.insert(buffer.end(), payload, std::byte{0x42});
    }
    for (auto _ : state) {
        std::size_t offset = 0, frames = 0;
        for (;;) {
            auto split = porthop::wire::split_frame({buffer.data() + offset, buffer.size() - offset}, 65535);
            if (split.status != porthop::wire::FrameStatus::complete) break;
            offset += split.consumed;
            ++frames;
        }
        benchmark::DoNotOptimize(frames);
    }
    state.SetItemsProcessed(state.iterations() * 64);
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(buffer.size()));
}
BENCHMARK(BM_SplitFrames)->Arg(64)->Arg(1400);

}  // namespace
