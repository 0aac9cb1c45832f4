// The engine's timed events (sim/engine/event_queue.hpp): in time order, first in first out at one instant (events
// set for now while the queue runs included), cancelled ones never run.
#include "event_queue.hpp"
#include "support.hpp"
#include <doctest/doctest.h>
#include <simgrid/s4u.hpp>

using namespace fs;
namespace s4u = simgrid::s4u;

TEST_CASE("event queue: time order, first in first out at one instant, cancel")
{
  const Json got = test::in_child([] {
    int argc = 1;
    char arg0[] = "test";
    char* argv[] = {arg0, nullptr};
    s4u::Engine e(&argc, argv);
    auto* zone = s4u::create_full_zone("z");
    zone->create_host("h", 1e9);
    zone->seal();
    Json order = Json::array();
    bool empty_before = true, empty_after = false;
    {
      EventQueue q;
      auto note = [&](const char* name) { order.push_back({name, s4u::Engine::get_clock()}); };
      q.at(2.0, [&] { note("A"); });
      q.at(1.0, [&] {
        note("B");
        q.at(s4u::Engine::get_clock(), [&] { note("E"); }); // now: after C, set before it
        q.at(1.5, [&] { note("G"); });
      });
      q.at(1.0, [&] { note("C"); });
      const EventQueue::Handle d = q.at(1.0, [&] { note("D"); });
      q.cancel(d);
      q.cancel(d); // twice: a no-op
      const EventQueue::Handle h = q.at(0.5, [&] { note("H"); });
      q.cancel(h); // the earliest, cancelled: the queue arms for what is left
      empty_before = q.empty();
      e.run();
      empty_after = q.empty();
    }
    return Json{{"order", order}, {"empty_before", empty_before}, {"empty_after", empty_after}};
  });
  const Json want = Json::array({Json::array({"B", 1.0}), Json::array({"C", 1.0}), Json::array({"E", 1.0}),
                                 Json::array({"G", 1.5}), Json::array({"A", 2.0})});
  CHECK(got["order"] == want);
  CHECK_FALSE(got["empty_before"].get<bool>());
  CHECK(got["empty_after"].get<bool>());
}
