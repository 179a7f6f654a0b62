#pragma once
// Reading maps users write by hand (qbsub --package, job files) as JSON values.
// JSON is accepted too: it is YAML's flow style.
#include <string>

#include "qube/json.hpp"

namespace qube {

// Parses YAML or JSON text. Plain scalars become integers, floats, booleans or
// null where they read as such, strings otherwise. Throws FormatError with the
// parser's line and column.
Json parse_yaml(const std::string& text);

}  // namespace qube
