// Boost.Asio's, its SSL layer's and Boost.Beast's compiled parts, built once here rather than
// inline in every file that includes them: the targets that use Asio or Beast compile with
// BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION (set PUBLIC on
// shiplog_adapters, which they all link), so they see declarations only. The files built on
// Beast took about a quarter less compiler time each.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
