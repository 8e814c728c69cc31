// cxx_shapes.cpp - a C++ program: containers, strings, and one leaked object.
//
//   heapprof --leak-check ./cxx_shapes   # fails: 1 leak, one Circle (new)
//
// Scene::add() grows a std::vector of std::unique_ptr<Shape> (freed with
// the scene); make_label() builds std::strings longer than the small-string
// buffer (heap allocations, freed); leak_circle() gets a Circle from
// make_orphan() (a `new`) and drops the pointer: the leak report names
// make_orphan at cxx_shapes.cpp's LEAK line, called from leak_circle.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

struct Shape {
    virtual ~Shape() = default;
    virtual double area() const = 0;
};

struct Circle : Shape {
    explicit Circle(double r) : r_(r) {}
    double area() const override { return 3.14159265 * r_ * r_; }
    double r_;
    double pad_[5] = {};
};

struct Square : Shape {
    explicit Square(double s) : s_(s) {}
    double area() const override { return s_ * s_; }
    double s_;
};

class Scene {
  public:
    void add(std::unique_ptr<Shape> s) { shapes_.push_back(std::move(s)); }
    double total() const
    {
        double t = 0;
        for (const auto &s : shapes_)
            t += s->area();
        return t;
    }

  private:
    std::vector<std::unique_ptr<Shape>> shapes_;
};

__attribute__((noinline)) static std::string make_label(int i)
{
    return "shape number " + std::to_string(i) + " of the demo scene";
}

__attribute__((noinline)) static Shape *make_orphan(double r)
{
    return new Circle(r); // LEAK
}

__attribute__((noinline)) static double leak_circle()
{
    Shape *s = make_orphan(2.0);
    return s->area(); // the pointer dies here
}

int main()
{
    Scene scene;
    size_t chars = 0;
    for (int i = 0; i < 100; i++) {
        if (i % 2)
            scene.add(std::make_unique<Circle>(i));
        else
            scene.add(std::make_unique<Square>(i));
        chars += make_label(i).size();
    }
    double a = scene.total() + leak_circle();
    std::printf("cxx_shapes: area %.0f, %zu label chars\n", a, chars);
    return 0;
}
