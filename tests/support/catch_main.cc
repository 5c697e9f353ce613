// The one Catch2 main of the unit and conformance tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
