/*
 * A plugin function that is noexcept and holds a std::vector and a
 * std::string while it calls back into the host, which yields. clang
 * implements noexcept with a catch (...) landing pad that destroys the
 * locals and calls std::terminate (through __clang_call_terminate): an
 * unwind must never enter it. Built by clang++ and stripped
 * (tests/test_poison.cpp loads it), so no symbol names the helper.
 */
#include <string>
#include <vector>

extern "C" int plugin_noexcept(void (*host)()) noexcept
{
    std::vector<int> v(100);
    std::string s(100, 'a');
    host(); /* may throw, as far as the compiler knows: hence the landing pad */
    v.push_back(1);
    s += "x";
    return (int)(v.size() + s.size());
}
