// The built-in site's page (issue 15): a neutral "coming soon" page, what a prober that reaches
// the relay's TCP port over TLS without a decoy gets for "/". tests/vectors/http/site/index.html
// holds the same bytes (nginx served that file when the reference answers were captured), and
// http_response_test checks they are equal.
#pragma once

#include <string_view>

namespace porthop::wire {

inline constexpr std::string_view kDefaultSitePage = R"PAGE(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Coming soon</title>
<style>
body { max-width: 36em; margin: 4em auto; padding: 0 1em;
font-family: Georgia, serif; color: #333; }
</style>
</head>
<body>
<h1>Coming soon</h1>
<p>This site is being set up. Please check back later.</p>
</body>
</html>
)PAGE";

}  // namespace porthop::wire
