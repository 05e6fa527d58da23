// Entry point of the headless dashboard test executable (header-only Boost.Test).
#define BOOST_TEST_MODULE hodgecover_ui
#include <boost/test/included/unit_test.hpp>
