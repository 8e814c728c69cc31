// sym_cxx.cpp - C++ allocations for the symbolizer's end-to-end test
// (sym_cxx.sh): operator new called from a member function of a class in a
// namespace, from a function template, and from an always-inlined helper.
// Every block is leaked on purpose, so each call site is a leak site with a
// known function and line (the lines are found by the SITE: markers).
#include <cstddef>
#include <cstring>

namespace ns {

struct Widget {
    int v[64];
    static Widget *make(int n);
};

__attribute__((noinline)) Widget *Widget::make(int n)
{
    Widget *w = new Widget; // SITE:make
    w->v[0] = n;
    return w;
}

template <typename T> __attribute__((noinline)) T *build(std::size_t n)
{
    T *p = new T[n]; // SITE:build
    p[0] = T();
    return p;
}

static inline __attribute__((always_inline)) char *fill_buffer(std::size_t n)
{
    char *p = new char[n]; // SITE:fill
    std::memset(p, 1, n);
    return p;
}

struct Holder {
    __attribute__((noinline)) static char *grow(std::size_t n);
};

__attribute__((noinline)) char *Holder::grow(std::size_t n)
{
    char *p = fill_buffer(n); // SITE:grow
    p[n - 1] = 0;
    return p;
}

} // namespace ns

void *volatile keep[3];

int main()
{
    keep[0] = ns::Widget::make(7);
    keep[1] = ns::build<double>(1000);
    keep[2] = ns::Holder::grow(3000);
    return 0;
}
