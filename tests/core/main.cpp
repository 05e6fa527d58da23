// Entry point of the core test executable (header-only Boost.Test; also built to WASM).
#define BOOST_TEST_MODULE hodgecover_core
#include <boost/test/included/unit_test.hpp>
