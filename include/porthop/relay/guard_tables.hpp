// The guard layer's tables (include/porthop/guard/: the per-source limiter and native roaming)
// under the names relay code uses for them. They are relay policy, but they touch no socket and
// no event loop, so they live below net and are built once for both event backends.
#pragma once

#include "porthop/guard/native_roaming.hpp"
#include "porthop/guard/source_limiter.hpp"

namespace porthop::relay {

using guard::Move;
using guard::NativeRoaming;
using guard::SourceKey;
using guard::SourceLimiter;

}  // namespace porthop::relay
