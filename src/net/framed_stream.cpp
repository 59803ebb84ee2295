#include "porthop/net/framed_stream.hpp"

namespace porthop::net {

const char* to_string(StreamEnd why) noexcept {
    switch (why) {
        case StreamEnd::closed_by_peer:
            return "closed by the peer";
        case StreamEnd::read_error:
            return "read error";
        case StreamEnd::write_error:
            return "write error";
        case StreamEnd::frame_too_large:
            return "frame longer than the limit";
        case StreamEnd::frame_too_short:
            return "masked record shorter than a frame";
        case StreamEnd::frame_timeout:
            return "no complete frame in time";
    }
    return "unknown";
}

}  // namespace porthop::net
