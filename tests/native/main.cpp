// Entry point of the native test executable (header-only Boost.Test).
#define BOOST_TEST_MODULE hodgecover_native
#include <boost/test/included/unit_test.hpp>
