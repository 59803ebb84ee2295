// `porthop invite` and `porthop import`: a share link out of a server's configuration, and a
// client's configuration out of a link (app/share_link.hpp, app/invite.hpp).
#include <unistd.h>

#include <iostream>
#include <string>

#include "command_support.hpp"
#include "porthop/app/commands.hpp"
#include "porthop/app/config.hpp"
#include "porthop/app/invite.hpp"
#include "porthop/app/qr_text.hpp"
#include "porthop/app/secret_file.hpp"
#include "porthop/app/share_link.hpp"

namespace porthop::app {

// `porthop invite`: the link on stdout (the first line, so `porthop invite | head -1` is the
// link alone), then its QR code; what the operator should know on stderr.
int commands::invite(const CommandLine& cl) {
    auto loaded = load_or_defaults(cl.config_path);
    if (loaded.ok() && !cl.config_path.empty()) loaded.errors = check_server_ready(loaded.config);
    print_report(loaded);
    if (!loaded.ok()) return 1;
    auto made = make_invite(loaded.config, cl.name);
    if (!made.link) {
        std::cerr << "porthop invite: " << made.error << "\n";
        return 1;
    }
    made.link->label = cl.label;  // checked by the command line's parser (label_problem)
    for (const auto& note : made.notes) std::cerr << "porthop invite: " << note << "\n";
    if (!cl.output_path.empty()) {
        if (auto problem = write_secret_file(cl.output_path, client_file(*made.link, Config{}),
                                                  cl.force ? Existing::take_over : Existing::keep);
            !problem.empty()) {
            std::cerr << "porthop invite: " << problem << "\n";
            return 1;
        }
        std::cerr << "porthop invite: wrote the client configuration to " << cl.output_path << "\n";
    }
    const auto text = encode(*made.link);
    std::cout << text << "\n";
    if (cl.qr) {
        std::string why;
        if (const auto modules = qr_encode(text, why))
            std::cout << "\n" << qr_text(*modules, ::isatty(STDOUT_FILENO) == 1);
        else
            std::cerr << "porthop invite: no QR code: " << why << "\n";
    }
    std::cerr << "porthop invite: the link holds the hop-link key: share it only with your own devices\n";
    return std::cout.flush() ? 0 : 1;
}

// `porthop import LINK`: the client configuration, on stdout or into --output.
int commands::import_link(const CommandLine& cl) {
    ShareLinkError why;
    const auto link = decode_share_link(cl.link, why);
    if (!link) {
        std::cerr << "porthop import: " << why.to_string() << "\n";
        return 1;
    }
    const auto text = client_file(*link, Config{});
    if (cl.output_path.empty()) {
        std::cout << text;
        return std::cout.flush() ? 0 : 1;
    }
    if (auto problem = write_secret_file(cl.output_path, text,
                                              cl.force ? Existing::take_over : Existing::keep);
        !problem.empty()) {
        std::cerr << "porthop import: " << problem << "\n";
        return 1;
    }
    std::cerr << "porthop import: wrote " << cl.output_path << "; run: porthop client --config "
              << cl.output_path << "\n";
    return 0;
}

}  // namespace porthop::app
